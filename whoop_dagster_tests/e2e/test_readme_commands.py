"""Every shell command in the README's code blocks works as printed.

The commands are read from the README when the tests are collected, so a command added there
is tested from then on: it runs (from the repository root, in demo mode, with a bare
``DAGSTER_HOME`` and a DuckDB file under a temp dir) and must exit 0, or it serves until
stopped and is listed in ``SERVERS`` with the URL that answers once it is up, or it is listed
in ``EXCLUDED`` with the reason it cannot run here. They run top to bottom in one such
environment, as a reader types them: ``whoop-dagster doctor`` finds what ``make run`` left.
Running them is end-to-end (``make run`` itself, servers, a 90-day backfill): ``make e2e``
runs them; ``make test`` checks how they are read.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from whoop_dagster_tests.support.processes import REPO_ROOT, user_env

README = REPO_ROOT / "README.md"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}

#: Commands that cannot run here, by the start of the command, with the reason.
EXCLUDED: dict[str, str] = {
    "make test": "runs this very test suite (CI runs it: .ci/run)",
    "export WHOOP_CLIENT_ID=": "needs a real WHOOP account: the id and secret of an OAuth app registered at WHOOP",
    ".venv/bin/whoop-dagster auth": "needs a real WHOOP account: the member grants access at WHOOP's login page",
}


@dataclass(frozen=True)
class Server:
    """A command that serves until stopped: up once ``url`` answers (any HTTP status below 500)."""

    url: str
    startup_seconds: float = 300


#: Commands that serve until stopped, by the start of the command.
SERVERS: dict[str, Server] = {"make dashboard": Server("http://127.0.0.1:8501/_stcore/health")}

#: How long a command may take (``make run`` installs nothing here, but runs the whole graph).
TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class ReadmeCommand:
    """A shell command of a README code block: its text without comments, and the line it starts on."""

    command: str
    line: int

    def matches(self, prefix: str) -> bool:
        return self.command == prefix or self.command.startswith(prefix if prefix.endswith("=") else f"{prefix} ")


def shell_commands(markdown: str) -> list[ReadmeCommand]:
    """The commands of the fenced shell code blocks: continuation lines joined, comments and prompts dropped."""
    commands: list[ReadmeCommand] = []
    language: str | None = None
    pending, start = "", 0
    for number, raw in enumerate(markdown.splitlines(), start=1):
        fence = re.match(r"^\s*```\s*(\w*)", raw)
        if fence:
            language = None if language is not None else fence[1].lower()
            continue
        if language not in SHELL_LANGUAGES:
            continue
        line = raw.strip().removeprefix("$ ")
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        # As the shell reads it (comment dropped, quotes resolved), quoted again to run.
        words = shlex.split(pending + line, comments=True)
        pending = ""
        if words:
            commands.append(ReadmeCommand(shlex.join(words), start))
    return commands


def _exclusion(command: ReadmeCommand) -> str | None:
    return next((reason for prefix, reason in EXCLUDED.items() if command.matches(prefix)), None)


def _server(command: ReadmeCommand) -> Server | None:
    return next((server for prefix, server in SERVERS.items() if command.matches(prefix)), None)


COMMANDS = shell_commands(README.read_text())


def readme_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell in demo mode: bare ``DAGSTER_HOME`` and warehouse under ``tmp_path``, no make state."""
    env = user_env(tmp_path)
    env["PATH"] = os.environ.get("PATH", "")  # as the user's shell has it: the commands name .venv/bin themselves
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def _check_make_run(output: str) -> None:
    """``make run``'s terminal is for a person: a line per step, then the summary; no DEBUG events."""
    assert re.search(r"^  raw/cycle +\d+ partitions, [\d,]+ rows .* s$", output, re.MULTILINE), output[-3000:]
    assert re.search(r"^  ml/recovery_forecast .* s$", output, re.MULTILINE), output[-3000:]
    assert "Asset checks:" in output
    assert "DEBUG" not in output
    assert "BetaWarning" not in output


#: Further checks of a command's output, by the start of the command.
OUTPUT_CHECKS: dict[str, Callable[[str], None]] = {"make run": _check_make_run}


def test_the_readme_has_shell_commands_to_test():
    assert len(COMMANDS) >= 3
    assert any(command.matches("make run") for command in COMMANDS)


def test_every_exclusion_and_server_names_a_command_still_in_the_readme():
    for prefix in (*EXCLUDED, *SERVERS, *OUTPUT_CHECKS):
        assert any(command.matches(prefix) for command in COMMANDS), f"{prefix!r} is no longer in the README"


def test_commands_are_read_with_continuations_joined_and_comments_dropped():
    markdown = (
        "text\n```bash\nmake run    # the pipeline\n.venv/bin/dagster asset materialize \\\n"
        "  --select 'a b' --partition-range 2026-01-01...2026-01-02\n```\n"
        "```python\nprint('not shell')\n```\n```console\n$ whoop-dagster demo --days 3\n```\n"
    )
    assert shell_commands(markdown) == [
        ReadmeCommand("make run", 3),
        ReadmeCommand(
            ".venv/bin/dagster asset materialize --select 'a b' --partition-range 2026-01-01...2026-01-02", 4
        ),
        ReadmeCommand("whoop-dagster demo --days 3", 11),
    ]


@pytest.fixture(scope="module")
def readme_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reader's environment, shared by the commands in README order (one file: one xdist worker)."""
    return tmp_path_factory.mktemp("readme")


@pytest.mark.e2e
@pytest.mark.parametrize("readme_command", COMMANDS, ids=[command.command[:80] for command in COMMANDS])
def test_a_readme_command_works_as_printed(readme_command: ReadmeCommand, readme_home: Path):
    reason = _exclusion(readme_command)
    if reason is not None:
        pytest.skip(f"README line {readme_command.line}: {reason}")
    env = readme_env(readme_home)
    server = _server(readme_command)
    if server is not None:
        _serve_until_up(readme_command, server, env)
        return
    try:
        done = subprocess.run(
            ["bash", "-c", readme_command.command],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"README line {readme_command.line}: `{readme_command.command}` still ran after {TIMEOUT_SECONDS} s. "
            "A command that serves until stopped belongs in SERVERS (with the URL that answers once it is up)."
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"README line {readme_command.line}: `{readme_command.command}`\n{output[-6000:]}"
    for prefix, check in OUTPUT_CHECKS.items():
        if readme_command.matches(prefix):
            check(output)


def _serve_until_up(readme_command: ReadmeCommand, server: Server, env: dict[str, str]) -> None:
    """Start the server command, wait until its URL answers, then stop it (its whole process group)."""
    process = subprocess.Popen(
        ["bash", "-c", readme_command.command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopping it stops what it started
    )
    try:
        deadline = time.monotonic() + server.startup_seconds
        while not _answers(server.url):
            if process.poll() is not None:
                pytest.fail(f"`{readme_command.command}` exited with {process.returncode} before serving")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`{readme_command.command}` did not answer at {server.url} within {server.startup_seconds} s"
                )
            time.sleep(1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group of the server this test started
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback URL of ours
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False

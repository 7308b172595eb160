"""``dagster dev`` as a user starts it (``make dev``), in its own process group, and stopped with all it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoop_dagster_tests.e2e.graphql import GraphQLClient, GraphQLError

DAGSTER = Path(sys.executable).parent / "dagster"
CODE_LOCATION_MODULE = "whoop_dagster.definitions"

LOCATION_STATUS = """
query LocationStatus {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterDevError(RuntimeError):
    """``dagster dev`` exited, or its code location did not load, in time."""


@dataclass(frozen=True)
class DagsterDev:
    """A running ``dagster dev``: its webserver URL, GraphQL client and log file, and the backfills
    the tests launched on it (teardown cancels any still in progress)."""

    process: subprocess.Popen
    url: str
    log_path: Path
    launched_backfills: list[str] = field(default_factory=list)

    @property
    def graphql(self) -> GraphQLClient:
        return GraphQLClient(f"{self.url}/graphql")

    def log_tail(self, lines: int = 40) -> str:
        """The end of ``dagster dev``'s output, for failure messages."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_loopback_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_interrupts() -> None:
    """In the child: SIGINT/SIGTERM back to their defaults.

    A process started in the background of a non-interactive shell inherits SIGINT as
    *ignored*; ``dagster dev`` maps SIGTERM to its SIGINT handler, so it would then
    ignore both and never shut down cleanly.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """While inside: the first SIGTERM to this (pytest) process raises KeyboardInterrupt, so a CI
    job's timeout or ``kill`` unwinds the fixtures and stops what they started; a second one kills."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def running_dagster_dev(
    *,
    dagster_home: Path,
    duckdb_path: Path,
    log_path: Path,
    cwd: Path,
    load_timeout: float = 240.0,
    module: str | None = CODE_LOCATION_MODULE,
    base_env: Mapping[str, str] | None = None,
) -> Iterator[DagsterDev]:
    """Start ``dagster dev`` on loopback against ``dagster_home``; yield once its code location has loaded.

    ``module=None`` starts it as a bare ``dagster dev`` (it finds ``workspace.yaml`` in ``cwd``);
    ``base_env`` replaces this process's environment. Always stops the whole process group
    afterwards (webserver, daemon, code servers, runs), also when this process is interrupted or
    sent SIGTERM.
    """
    env = {
        **(os.environ if base_env is None else base_env),
        "DAGSTER_HOME": str(dagster_home),
        "WHOOP_DUCKDB_PATH": str(duckdb_path),
    }
    target = [] if module is None else ["-m", module]
    with sigterm_as_keyboard_interrupt():
        yield from _run_dagster_dev(target, env, log_path, cwd, load_timeout)


def _run_dagster_dev(
    target: list[str], env: dict[str, str], log_path: Path, cwd: Path, load_timeout: float
) -> Iterator[DagsterDev]:
    port = free_loopback_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(DAGSTER), "dev", *target, "-h", "127.0.0.1", "-p", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_interrupts,
        )
    dev = DagsterDev(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        wait_until_loaded(dev, timeout=load_timeout)
        yield dev
    finally:
        stop_process_group(process)


def wait_until_loaded(dev: DagsterDev, timeout: float) -> None:
    """Poll the webserver until the code location reports LOADED; raise with the log tail otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if dev.process.poll() is not None:
            raise DagsterDevError(f"dagster dev exited with {dev.process.returncode}:\n{dev.log_tail()}")
        try:
            workspace = dev.graphql.query(LOCATION_STATUS, timeout=5)["workspaceOrError"]
        except (OSError, GraphQLError) as err:  # not listening yet, or still starting up
            last = str(err)
        else:
            if workspace["__typename"] != "Workspace":
                raise DagsterDevError(f"workspace failed to load: {workspace}")
            entries = workspace["locationEntries"]
            errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
            if errors:
                raise DagsterDevError(f"code location failed to load: {errors[0]['locationOrLoadError']['message']}")
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            last = f"location entries: {entries}"
        time.sleep(1)
    raise DagsterDevError(f"code location not loaded after {timeout:.0f}s ({last}):\n{dev.log_tail()}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process_group(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM the whole group (dagster dev's Ctrl-C path: runs are marked interrupted, not left STARTED), then
    SIGKILL whatever is left after ``grace`` seconds."""
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)

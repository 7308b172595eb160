"""The project's commands as a user runs them: real processes, a bare instance, a warehouse of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

#: The four daily-partitioned raw assets: what a partition range run can select.
PARTITIONED_RAW = "raw/cycle,raw/sleep,raw/recovery,raw/workout"


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's environment in demo mode: no WHOOP, Snowflake or Dagster+ settings inherited.

    ``DAGSTER_HOME`` is a bare folder (no ``dagster.yaml``, so no pool limits) and the warehouse a
    file of its own, both under ``tmp_path``; the venv's ``bin`` comes first on ``PATH``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_", "SNOWFLAKE_", "DAGSTER_"))}
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    env.update(
        DAGSTER_HOME=str(home),
        WHOOP_DUCKDB_PATH=str(tmp_path / "warehouse" / "whoop.duckdb"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return {**env, **extra}


def partition_range(first_days_ago: int, last_days_ago: int) -> str:
    """``A...B`` for ``dagster asset materialize --partition-range``, days counted back from today (UTC).

    Keep the range a few days back: the code location's last partition is today, and a test that
    started just before midnight must not name tomorrow's.
    """
    from datetime import datetime, timezone

    today = datetime.now(timezone.utc).date()
    return f"{_day(today, first_days_ago)}...{_day(today, last_days_ago)}"


def _day(today: date, days_ago: int) -> str:
    return (today - timedelta(days=days_ago)).isoformat()


class Command:
    """A running command whose output (stdout and stderr together) is read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, on_line: Callable[[str], None] | None = None):
        self.args = args
        self.lines: list[str] = []
        self._on_line = on_line
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if self._on_line is not None:
                self._on_line(line)

    def wait(self, timeout: float) -> int:
        """The exit code; the command is killed (by its own handle) if it outlives ``timeout``."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self._reader.join(timeout=30)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def materialize(
    env: dict[str, str], cwd: Path, select: str, partitions: str, on_line: Callable[[str], None] | None = None
) -> Command:
    """``dagster asset materialize`` of the code location, as printed in the README, started in the background."""
    args = [str(BIN / "dagster"), "asset", "materialize", "-m", "whoop_dagster.definitions", "--select", select]
    args += ["--partition-range", partitions] if "..." in partitions else ["--partition", partitions]
    return Command(args, env, cwd, on_line)

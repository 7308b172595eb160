"""Waiting for a DuckDB file another process holds: bounded backoff, then an error naming the holder."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoop_dagster.warehouse.base import WarehouseError

if TYPE_CHECKING:
    import duckdb

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_ENV = "WHOOP_DUCKDB_LOCK_TIMEOUT_SECONDS"
#: Long enough to outlast another run's dbt step (the longest a writer holds the file), with room
#: for several runs queued behind it; short enough that a forgotten notebook is reported the same hour.
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0

#: The first wait, and the longest: waits double up to the cap, each shortened by a random part so
#: that processes waiting for the same file do not retry in lockstep.
FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 1.0

_LOCK_CONFLICT = "Could not set lock on file"
#: Multiprocessing helpers between a step process and its run process: none (spawned) or a fork server.
_HELPER_GENERATIONS = 2
#: DuckDB names the holder: "Conflicting lock is held in /usr/bin/python3.11 (PID 12345) by user me".
_HOLDER = re.compile(r"Conflicting lock is held in (?P<executable>.+?) \(PID (?P<pid>\d+)\)")


class DuckDBLockTimeoutError(WarehouseError):
    """Another process held the DuckDB file for longer than the writer was allowed to wait."""


@dataclass(frozen=True)
class LockHolder:
    """The process DuckDB says holds the file: its PID, executable and (when readable) command line."""

    pid: int | None
    executable: str | None
    command_line: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another process"
        command = self.command_line or self.executable or "command line unknown"
        return f"process {self.pid} ({command})"


def lock_timeout_seconds(environ: Mapping[str, str] | None = None) -> float:
    """How long a connection waits for the file: ``WHOOP_DUCKDB_LOCK_TIMEOUT_SECONDS`` or the default."""
    configured = (os.environ if environ is None else environ).get(LOCK_TIMEOUT_ENV, "").strip()
    if not configured:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        seconds = float(configured)
    except ValueError:
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={configured!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={configured!r} must not be negative")
    return seconds


def is_lock_conflict(error: BaseException) -> bool:
    """True for DuckDB's error when another process holds the file (not for other I/O errors)."""
    import duckdb

    return isinstance(error, duckdb.IOException) and _LOCK_CONFLICT in str(error)


def lock_holder(error: BaseException) -> LockHolder:
    """The holder named in DuckDB's lock error, with its command line from ``/proc`` when this OS has one."""
    match = _HOLDER.search(str(error))
    if match is None:
        return LockHolder(None, None, None)
    pid = int(match["pid"])
    return LockHolder(pid, match["executable"], _command_line(pid))


def _command_line(pid: int) -> str | None:
    """The process's command line; for a multiprocessing worker (a Dagster step), the process that started it.

    A step process is spawned by its run process, or forked from a fork server that the run process
    started (the project's executor): either way its own command line is multiprocessing's, so the
    first ancestor that is not a multiprocessing helper is named instead.
    """
    command = _proc_command_line(pid)
    if command is None or "multiprocessing" not in command:
        return command
    ancestor = _parent_pid(pid)
    for _ in range(_HELPER_GENERATIONS):
        ancestor_command = _proc_command_line(ancestor) if ancestor else None
        if ancestor_command is None:
            break
        if "multiprocessing" not in ancestor_command:
            return f"a multiprocessing worker of process {ancestor} ({ancestor_command})"
        ancestor = _parent_pid(ancestor)
    return command


def _proc_command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no /proc (macOS), the process is gone, or it lives in another PID namespace
        return None
    words = [word.decode(errors="replace") for word in raw.split(b"\0") if word]
    return " ".join(words) or None


def _parent_pid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^PPid:\s*(\d+)", status, re.MULTILINE)
    return int(match[1]) if match else None


def backoff_delays(rng: random.Random | None = None) -> Iterator[float]:
    """Endless waits: doubling from ``FIRST_DELAY_SECONDS`` to ``MAX_DELAY_SECONDS``, each jittered down to half."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    delay = FIRST_DELAY_SECONDS
    while True:
        yield delay * rng.uniform(0.5, 1.0)
        delay = min(delay * 2, MAX_DELAY_SECONDS)


def connect_waiting(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    config: Mapping[str, Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)``, retried while another process holds the file, for up to ``timeout_seconds``.

    Only lock conflicts are retried; any other error is raised at once. Past the bound raises
    :class:`DuckDBLockTimeoutError` naming the holding process and what to do about it.
    """
    import duckdb

    deadline = clock() + timeout_seconds
    delays = backoff_delays()
    waiting_logged = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
        except duckdb.IOException as err:
            if not is_lock_conflict(err):
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                raise lock_timeout_error(path, err, timeout_seconds) from err
            if not waiting_logged:
                logger.warning(
                    "DuckDB file %s is held by %s; waiting up to %g s for it",
                    path,
                    lock_holder(err).describe(),
                    timeout_seconds,
                )
                waiting_logged = True
            sleep(min(next(delays), remaining))


def lock_timeout_error(
    path: str | os.PathLike[str], error: BaseException, waited_seconds: float
) -> DuckDBLockTimeoutError:
    """The error after the bound: who holds the file, and what the user can do."""
    holder = lock_holder(error)
    stop = f"`kill {holder.pid}` if it is stuck" if holder.pid is not None else "stop it"
    return DuckDBLockTimeoutError(
        f"the DuckDB file {path} is still held by {holder.describe()} after waiting {waited_seconds:g} s. "
        f"DuckDB allows one writer per file, and no writer while another process reads it. Close that "
        f"process's connection (a DuckDB CLI, a notebook, another pipeline run) or {stop}, then re-run; "
        f"to wait longer, raise {LOCK_TIMEOUT_ENV}. DuckDB said: {error}"
    )


def wait_until_writable(path: str | os.PathLike[str], timeout_seconds: float | None = None) -> None:
    """Wait (bounded, as :func:`connect_waiting`) until this process could open ``path`` for writing; hold nothing.

    For a step whose writer is another program (dbt opens the file itself): calling this first
    turns a long wait into this module's error naming the holder. The program must still retry its
    own connect, because another process can take the file between this check and its open.
    """
    if not Path(path).exists():
        return
    connect_waiting(
        path, timeout_seconds=lock_timeout_seconds() if timeout_seconds is None else timeout_seconds
    ).close()

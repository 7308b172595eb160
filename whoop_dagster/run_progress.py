"""What ``make run`` shows while the run goes: one line per finished step, errors in full, the rest in a file."""

from __future__ import annotations

import os
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import dagster as dg

if TYPE_CHECKING:
    from dagster_shared.error import SerializableErrorInfo

#: How often the event log is read while the run goes.
POLL_SECONDS = 0.5


@dataclass
class StepTally:
    """What one step produced so far."""

    #: Row count of each asset the step materialized (a partitioned asset reports its table's rows
    #: on every partition's materialization: the latest one counts).
    rows: dict[str, int] = field(default_factory=dict)
    materializations: int = 0
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0


def step_line(step_key: str, tally: StepTally, seconds: float, status: str = "") -> str:
    """``  raw/cycle   90 rows   2.1 s``: the step's asset (or step key), rows, checks and duration."""
    assets = list(tally.rows)
    name = assets[0] if len(assets) == 1 else step_key
    parts = [status] if status else []
    if len(assets) > 1:
        parts.append(f"{len(assets)} assets")
    elif assets and tally.materializations > 1:
        parts.append(f"{tally.materializations} partitions")
    if assets:
        parts.append(f"{sum(tally.rows.values()):,} rows")
    if tally.checks_passed or tally.checks_warned or tally.checks_failed:
        warned = f", {tally.checks_warned} warned" if tally.checks_warned else ""
        failed = f", {tally.checks_failed} FAILED" if tally.checks_failed else ""
        parts.append(f"{tally.checks_passed} check{'' if tally.checks_passed == 1 else 's'} passed{warned}{failed}")
    detail = ", ".join(parts) or "done"
    return f"  {name:<30} {detail:<44} {seconds:6.1f} s"


def format_entry(entry: dg.EventLogEntry) -> str:
    """An event log entry as one line of the log file (with the error's stack, if it carries one)."""
    when = datetime.fromtimestamp(entry.timestamp).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    name = _level_name(entry.level)
    event = entry.dagster_event_type.value if entry.dagster_event_type else "LOG"
    line = f"{when} {name:<8} {entry.step_key or '-':<30} {event:<28} {entry.message or entry.user_message}"
    error = event_error(entry)
    return f"{line}\n{error.to_string()}" if error is not None else line


def _level_name(level: int | str) -> str:
    import logging

    return logging.getLevelName(level) if isinstance(level, int) else str(level)


def event_error(entry: dg.EventLogEntry) -> SerializableErrorInfo | None:
    """The serialized error a step failure, run failure or engine event carries, if any."""
    event = entry.dagster_event
    if event is None:
        return None
    if event.event_type == dg.DagsterEventType.STEP_FAILURE:
        return event.step_failure_data.error
    data = event.event_specific_data
    return getattr(data, "error", None)


class RunProgress:
    """Prints a run's progress to ``out`` and writes its whole event log to ``log_file``."""

    def __init__(self, instance: dg.DagsterInstance, run_tag: tuple[str, str], log_file: TextIO, out: TextIO):
        self.instance = instance
        self.run_tag = run_tag
        self.log_file = log_file
        self.out = out
        self.run_id: str | None = None
        self.cursor: str | None = None
        self.steps: dict[str, StepTally] = defaultdict(StepTally)
        self.started: dict[str, float] = {}
        self.errors_shown = 0

    @contextmanager
    def following(self) -> Iterator[RunProgress]:
        """Follow the run (found by its tag) in a background thread while the block runs it."""
        stop = threading.Event()
        thread = threading.Thread(target=self._follow, args=(stop,), name="run-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.read_new_events()  # whatever the run wrote after the last poll

    def _follow(self, stop: threading.Event) -> None:
        while not stop.wait(POLL_SECONDS):
            self.read_new_events()

    def read_new_events(self) -> None:
        """Handle the events the run has written since the last call."""
        if self.run_id is None:
            key, value = self.run_tag
            runs = self.instance.get_runs(filters=dg.RunsFilter(tags={key: value}), limit=1)
            if not runs:
                return
            self.run_id = runs[0].run_id
        while True:
            result = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=500)
            for record in result.records:
                self.handle(record.event_log_entry)
            self.cursor = result.cursor
            if not result.has_more:
                break
        self.log_file.flush()
        self.out.flush()

    def handle(self, entry: dg.EventLogEntry) -> None:
        """One event: into the log file, and onto the terminal if a person needs it."""
        self.log_file.write(format_entry(entry) + "\n")
        event = entry.dagster_event
        if event is None:
            if entry.level >= 30:  # WARNING and above, from the steps' own logs
                self._print(f"  {_level_name(entry.level)} {entry.step_key or ''}: {entry.user_message}")
            return
        handler = self._handlers().get(event.event_type)
        if handler is not None:
            handler(entry, event)

    def _handlers(self) -> dict[dg.DagsterEventType, Callable[[dg.EventLogEntry, dg.DagsterEvent], None]]:
        return {
            dg.DagsterEventType.STEP_START: self._step_started,
            dg.DagsterEventType.ASSET_MATERIALIZATION: self._materialized,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION: self._checked,
            dg.DagsterEventType.STEP_SUCCESS: self._step_succeeded,
            dg.DagsterEventType.STEP_FAILURE: self._step_failed,
            dg.DagsterEventType.STEP_SKIPPED: self._step_skipped,
            dg.DagsterEventType.RUN_FAILURE: self._run_failed,
            dg.DagsterEventType.ENGINE_EVENT: self._engine_event,
        }

    def _step_started(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        self.started[entry.step_key] = entry.timestamp

    def _seconds(self, entry: dg.EventLogEntry) -> float:
        return entry.timestamp - self.started.get(entry.step_key, entry.timestamp)

    def _materialized(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        materialization = event.step_materialization_data.materialization
        tally = self.steps[entry.step_key]
        tally.materializations += 1
        row_count = materialization.metadata.get("dagster/row_count")
        tally.rows[materialization.asset_key.to_user_string()] = int(row_count.value) if row_count else 0

    def _checked(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        tally = self.steps[entry.step_key]
        evaluation = event.event_specific_data
        if evaluation.passed:
            tally.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            tally.checks_warned += 1
        else:
            tally.checks_failed += 1

    def _step_succeeded(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        self._print(step_line(entry.step_key, self.steps[entry.step_key], self._seconds(entry)))

    def _step_failed(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        self._print(step_line(entry.step_key, self.steps[entry.step_key], self._seconds(entry), status="FAILED"))
        self._print(_indented(event.step_failure_data.error.to_string()))
        self.errors_shown += 1

    def _step_skipped(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        self._print(f"  {entry.step_key:<30} skipped: an upstream step or blocking check failed")

    def _run_failed(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        self._print(f"  run failed: {entry.message}")
        error = event_error(entry)
        if error is not None and not self.errors_shown:  # else it repeats the failed step's error
            self._print(_indented(error.to_string()))

    def _engine_event(self, entry: dg.EventLogEntry, event: dg.DagsterEvent) -> None:
        error = event_error(entry)
        if error is not None:  # the executor or a step process crashed
            self._print(f"  {entry.message}\n{_indented(error.to_string())}")
            self.errors_shown += 1

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _indented(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.rstrip().splitlines())


def run_log_path(home: Path, now: datetime) -> Path:
    """``<DAGSTER_HOME>/logs/run-<UTC time>.log``: the full log of one ``make run``."""
    return home / "logs" / f"run-{now.strftime('%Y%m%dT%H%M%SZ')}.log"


@contextmanager
def output_to(log_path: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (and its children's) to ``log_path``; yield the terminal.

    dbt's output, library warnings and step processes write to file descriptors 1 and 2, not to a
    logger: only swapping the descriptors keeps them off the terminal. The yielded stream is the
    original stdout, for the lines a person reads. Where stdout is no file (some test runners),
    nothing is swapped and the yielded stream is stdout itself.
    """
    try:
        stdout_fd, stderr_fd = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield sys.stdout
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(stdout_fd), os.dup(stderr_fd)
    target = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    try:
        os.dup2(target, stdout_fd)
        os.dup2(target, stderr_fd)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], stdout_fd)
        os.dup2(saved[1], stderr_fd)
        for fd in (*saved, target):
            os.close(fd)
        terminal.close()

"""The fault campaign's lab: a ``FaultLab`` per seed, its runs and child processes, and how an episode is judged.

An episode is judged on its own: every table it did not load is untouched, and a table it
loaded changed only on its days, where it equals the emulator's truth (``table_problems``);
transient faults are recovered, persistent ones fail, and a failure names endpoint and
partitions (``run_problems``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG, build_endpoint_sensor
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, ENDPOINTS
from whoop_dagster_tests.faults.campaign_plan import (
    COLLECTIONS,
    OBJECTS,
    Episode,
)
from whoop_dagster_tests.faults.harness import (
    CHILD,
    HISTORY_DAYS,
    RAW_ASSETS,
    FaultLab,
    RunOutcome,
    _key,
    error_messages,
    unclear,
)
from whoop_dagster_tests.faults.summary import REPO_ROOT
from whoop_dagster_tests.support.whoop import days_ago, frozen_partitions_def, truth_by_partition

ALL_RAW = (*COLLECTIONS, *OBJECTS)
SENSOR_LOOKBACK_DAYS = 7
#: A run next to another one waits for the DuckDB file (the real default is 10 minutes).
SHARED_FILE_WAIT_SECONDS = 120.0
CHILD_TIMEOUT_SECONDS = 300
#: Dagster's console logger off: the secret scan reads the events and every Python log record anyway.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class LogCapture(logging.Handler):
    """Every log record of the seed at DEBUG (what ``caplog`` gives ``FaultLab`` in the hand-picked tests)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(self.format(record) for record in self.records)

    @contextmanager
    def attached(self) -> Iterator[LogCapture]:
        root = logging.getLogger()
        level = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        try:
            yield self
        finally:
            root.removeHandler(self)
            root.setLevel(level)


class SeedLab(FaultLab):
    """A ``FaultLab`` on a copy of the world's clean warehouse (none: an empty one), for one seed.

    Its days are the last ``history_days - 2`` of the emulator's history.
    """

    def __init__(
        self, emu: Any, tmp_path: Path, capture: LogCapture, template: Path | None, history_days: int = HISTORY_DAYS
    ) -> None:
        super().__init__(emu, tmp_path, capture, [])  # type: ignore[arg-type]
        self.days = DayRange(days_ago(history_days - 3), days_ago(0))
        if template is not None:
            shutil.copy(template, self.duckdb_path)
        self.report_children = 0
        self._followed: dict[int, tuple[threading.Thread, list[str]]] = {}
        #: Set by a downstream episode: the re-run then builds dbt and ML too, and the marts are judged.
        self.downstream = False

    def run_raw(
        self, days: DayRange, endpoints: tuple[str, ...], *, whoop: Any = None, lock_timeout: float = 2.0
    ) -> RunOutcome:
        """One in-process run of the raw assets ``endpoints`` over ``days`` (never raises on a failed step)."""
        result = dg.materialize(
            RAW_ASSETS,
            resources={
                "whoop": whoop or self.whoop(),
                "warehouse": DuckDBWarehouse(path=str(self.duckdb_path), lock_timeout_seconds=lock_timeout),
            },
            selection=[dg.AssetKey(["raw", name]) for name in endpoints],
            tags=range_tags(days),
            instance=self.instance,
            run_config=QUIET_CONSOLE,
            raise_on_error=False,
        )
        failures = {
            event.step_key: error_messages(event.step_failure_data.error)
            for event in result.all_events
            if event.is_step_failure and event.step_key
        }
        outcome = RunOutcome(result, failures)
        self.runs.append(outcome)
        return outcome

    def start_child(
        self, command: str, spec: dict[str, Any], on_line: Callable[[str], None] | None = None
    ) -> subprocess.Popen[str]:
        """A child process of ``faults.child`` (its output joins the secret scan when ``finish_child`` reads it).

        With ``on_line``, its output (stdout and stderr together) is read line by line as it
        comes, and the child leads a process group of its own (so that its dbt dies with it).
        """
        self.report_children += 1
        process = subprocess.Popen(
            [*CHILD, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if on_line else subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            start_new_session=on_line is not None,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(spec) + "\n")
        process.stdin.flush()
        if on_line is not None:
            lines: list[str] = []
            reader = threading.Thread(target=_follow, args=(process, lines, on_line), daemon=True)
            reader.start()
            self._followed[process.pid] = (reader, lines)
        return process

    def finish_child(self, process: subprocess.Popen[str]) -> int:
        """Wait for a child (killing it, ours by its handle, if it outlives the timeout); its exit code."""
        if process.pid in self._followed:
            reader, lines = self._followed.pop(process.pid)
            try:
                process.wait(timeout=CHILD_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the group this child leads: ours
                process.wait()
            reader.join(timeout=30)
            self.texts.append("".join(lines))
            return process.returncode
        if process.stdin is not None and process.stdin.closed:
            process.stdin = None  # released by closing it: `communicate` would flush a closed file
        try:
            stdout, stderr = process.communicate(timeout=CHILD_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        self.texts += [stdout, stderr]
        return process.returncode

    def materialize_spec(self, days: DayRange, endpoints: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        return {
            "whoop": self.whoop_config(),
            "duckdb_path": str(self.duckdb_path),
            "selection": [f"raw/{name}" for name in endpoints],
            "tags": range_tags(days),
            **extra,
        }

    def truth_rows(self) -> dict[str, dict[str, tuple[str, Any]]]:
        """The emulator's truth over the lab's days, per collection: ``id → (partition day, record)``."""
        return {
            endpoint.name: {
                key: (day.isoformat(), record)
                for key, (day, record) in truth_by_partition(
                    self.emu, endpoint, self.days.first, self.days.last
                ).items()
            }
            for endpoint in COLLECTION_ENDPOINTS
        }


def _follow(process: subprocess.Popen[str], lines: list[str], on_line: Callable[[str], None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        on_line(line)


def range_tags(days: DayRange) -> dict[str, str]:
    return {RANGE_START_TAG: days.first.isoformat(), RANGE_END_TAG: days.last.isoformat()}


def episode_days(episode: Episode) -> DayRange:
    return DayRange(days_ago(episode.days_ago_first), days_ago(episode.days_ago_last))


def sensor_tick(lab: FaultLab, endpoint: str, cursor: str | None, whoop: Any) -> dg.SensorResult | dg.SkipReason:
    """One tick of ``<endpoint>_sensor`` on the emulator's clock."""
    sensor = build_endpoint_sensor(
        ENDPOINTS[endpoint],
        frozen_partitions_def(),
        interval_seconds=60,
        lookback=SENSOR_LOOKBACK_DAYS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        clock=lab.emu.now,
    )
    with dg.build_sensor_context(cursor=cursor, resources={"whoop": whoop}, instance=lab.instance) as context:
        return sensor(context)


# -- judging one episode ---------------------------------------------------------------------


def _inside(row: dict[str, Any], days: DayRange) -> bool:
    return date.fromisoformat(row["_partition_date"][:10]) in days


def _rows(rows: list[dict[str, Any]]) -> list[tuple]:
    return sorted(tuple(row.values()) for row in rows)


def table_problems(
    lab: SeedLab, before: dict[str, list[dict[str, Any]]], days: DayRange, endpoints: tuple[str, ...]
) -> list[str]:
    """Tables an episode left neither untouched nor right: a partial or wrong write.

    A table the episode loaded may change only inside ``days``, and there it must equal the
    truth; any other table must not change at all.
    """
    after = lab.tables()
    truth = lab.truth_rows()
    problems = []
    for name, rows in after.items():
        if _rows(rows) == _rows(before[name]):
            continue
        if name not in endpoints:
            problems.append(f"raw.{name} changed though the episode did not load it")
            continue
        if name in OBJECTS:
            if len(rows) != 1:
                problems.append(f"raw.{name} has {len(rows)} rows after its replacement")
            continue
        outside_before = _rows([r for r in before[name] if not _inside(r, days)])
        if _rows([r for r in rows if not _inside(r, days)]) != outside_before:
            problems.append(f"raw.{name} changed rows outside the partitions {days} it loaded")
        endpoint = ENDPOINTS[name]
        expected = {key: value for key, value in truth[name].items() if date.fromisoformat(value[0]) in days}
        inside = [r for r in rows if _inside(r, days)]
        keys = Counter(_key(endpoint, r) for r in inside)
        missing = len(expected.keys() - keys.keys())
        duplicated = sum(n - 1 for n in keys.values() if n > 1)
        stale = sum(
            1
            for r in inside
            if expected.get(_key(endpoint, r)) != (r["_partition_date"][:10], json.loads(r["payload"]))
        )
        if missing or duplicated or stale:
            problems.append(
                f"raw.{name} is neither its previous rows nor the truth for {days}: "
                f"{missing} missing, {duplicated} duplicated, {stale} stale or extra"
            )
    return problems


def run_problems(run: RunOutcome, days: DayRange, *, must_succeed: bool, must_fail: bool) -> list[str]:
    """A run that should have recovered but failed, or the reverse; failed steps whose error is unclear."""
    problems = []
    if must_fail and run.success:
        problems.append("the run succeeded although a persistent fault hit it")
    if must_succeed and not run.success:
        problems.append(f"the run failed although every fault was transient: {run.first_error()}")
    problems += [reason for step, messages in run.failures.items() if (reason := unclear(step, messages, days))]
    return problems


@dataclass
class EpisodeResult:
    """What an episode did: a one-line outcome, its problems, the days it may have changed."""

    outcome: str
    problems: list[str]
    affected: set[date]


def _each_day(days: DayRange) -> Iterator[date]:
    return (days.first + timedelta(days=i) for i in range(days.days))

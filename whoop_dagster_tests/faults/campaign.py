"""The seeded fault campaign: each seed's fault sequence (``campaign_plan``) during real runs, then convergence.

``run_seed`` plays a seed in a ``SeedLab`` (a ``FaultLab`` on a copy of a clean warehouse):
every episode is a real run of the raw assets against the emulator over HTTP (in this
process, or in a child process that is SIGKILLed or runs next to a sensor's run), judged on
its own (a table is either untouched or equal to the truth for the days it loaded; a run
that fails names endpoint and partitions; transient faults are recovered, persistent ones
fail). Then the faults go, a plain re-run of the affected days follows, and the seed must
converge: every raw table equals the emulator's truth (0 missing, duplicated or stale), the
marts agree with raw where dbt ran, the refresh token still works and no issued secret
appears anywhere the seed logged.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    DOWNSTREAM_FAULTS,
    LAB_DAYS,
    OBJECTS,
    PERSISTENT,
    Episode,
    plan_for_seed,
    render_plan,
)
from whoop_dagster_tests.faults.child import READY
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
from whoop_dagster_tests.support.whoop import days_ago, emulator, frozen_partitions_def, truth_by_partition

ALL_RAW = (*COLLECTIONS, *OBJECTS)
#: Seeds that run dbt and ML need a longer history (the forecasts backtest on more than 45 days and
#: must beat their baselines): the emulator's history that the shared pipeline warehouse uses.
DOWNSTREAM_HISTORY_DAYS = 150
DOWNSTREAM_EMULATOR_SEED = 7
SENSOR_LOOKBACK_DAYS = 7
#: A run next to another one waits for the DuckDB file (the real default is 10 minutes).
SHARED_FILE_WAIT_SECONDS = 120.0
CHILD_TIMEOUT_SECONDS = 300
#: Dagster's console logger off: the secret scan reads the events and every Python log record anyway.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

_EMULATOR_FAULT = {  # the campaign's API fault kinds as the emulator's (kind, fixed options)
    "429_burst": ("rate_limit", {"reset": 0}),
    "429_storm": ("rate_limit", {"reset": 0, "times": None}),
    "5xx_transient": ("server_error", {}),
    "5xx_persistent": ("server_error", {"times": None}),
    "slow_page": ("slow", {"seconds": 0.8}),
    "truncated_page": ("truncated", {}),
    "malformed_page": ("malformed_json", {}),
    "malformed_persistent": ("malformed_json", {"times": None}),
}


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


@dataclass
class SeedReport:
    """What a seed did: its plan, the faults that fired, each episode's outcome, and the verdict."""

    seed: int
    plan: list[Episode]
    fired: Counter[str] = field(default_factory=Counter)
    outcomes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    converged: bool = False
    seconds: float = 0.0
    child_processes: int = 0
    #: Wall-clock time (epoch seconds) the seed ended: only for the campaign's total wall time.
    finished_at: float = 0.0

    def failure_text(self) -> str:
        """The seed, its fault sequence (to replay it) and every problem found."""
        lines = [render_plan(self.seed, self.plan), "outcomes: " + "; ".join(self.outcomes), "problems:"]
        return "\n".join(lines + [f"- {problem}" for problem in self.problems])

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "episodes": [episode.describe() for episode in self.plan],
            "planned": dict(Counter(kind for episode in self.plan for kind in episode.kinds)),
            "fired": dict(self.fired),
            "outcomes": self.outcomes,
            "problems": self.problems,
            "converged": self.converged,
            "seconds": round(self.seconds, 2),
            "child_processes": self.child_processes,
            "finished_at": self.finished_at,
        }


class CampaignWorld:
    """What one worker's seeds share: a clean warehouse of the lab's days and the sensors' cursors after it.

    Each seed copies the warehouse and starts its own emulator (the same history: the same
    emulator seed at the same frozen instant), so seeds never see each other's faults.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._templates: dict[int, Path] = {}
        self._marts_template: Path | None = None
        self.cursors: dict[str, str] = {}

    def template(self, history_days: int = HISTORY_DAYS) -> Path:
        """The clean warehouse (built on first use): every raw asset over the lab's days of that history."""
        if history_days not in self._templates:
            directory = self.root / f"template-{history_days}"
            directory.mkdir(parents=True, exist_ok=True)
            capture = LogCapture()
            with emulator(days=history_days, seed=_emulator_seed(history_days)) as emu:
                lab = SeedLab(emu, directory, capture, None, history_days)
                run = lab.materialize()
                assert run.success, run.failures
                tally = lab.tally()
                assert tally.clean, tally.per_table
                whoop = lab.whoop()
                for endpoint in COLLECTION_ENDPOINTS:
                    result = sensor_tick(lab, endpoint.name, None, whoop)
                    assert isinstance(result, dg.SensorResult), result
                    assert result.cursor, result
                    self.cursors.setdefault(endpoint.name, result.cursor)
            self._templates[history_days] = lab.duckdb_path
        return self._templates[history_days]

    def marts_template(self) -> Path:
        """The clean warehouse with every dbt model and ML table built on it (on first use)."""
        from whoop_dagster_tests.faults.campaign_downstream import build_downstream

        if self._marts_template is None:
            path = self.root / "marts" / "whoop.duckdb"
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.template(DOWNSTREAM_HISTORY_DAYS), path)
            result = build_downstream(path)
            assert result.success, [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
            self._marts_template = path
        return self._marts_template


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


# -- the episodes ----------------------------------------------------------------------------


@dataclass
class EpisodeResult:
    """What an episode did: a one-line outcome, its problems, the days it may have changed."""

    outcome: str
    problems: list[str]
    affected: set[date]


def _hook(lab: SeedLab, at_request: int, action: Callable[[], None]) -> Any:
    return lab.emu.faults.on_request(action, after=at_request - 1)


def _inject_api_fault(lab: SeedLab, fault: dict[str, Any]) -> None:
    kind, fixed = _EMULATOR_FAULT[fault["kind"]]
    options = {**fixed}
    times = options.pop("times", fault.get("times", 1))
    if "status" in fault:
        options["status"] = fault["status"]
    lab.emu.faults.add(kind, path=ENDPOINTS[fault["endpoint"]].path, after=fault["after"], times=times, **options)


def _fired_api_faults(lab: SeedLab, episode: Episode, fired: Counter[str]) -> list[str]:
    """Count the API faults that fired (by the campaign's names); return those that did."""
    counts = [f["fired"] for f in lab.emu.faults.list()]
    api = [f for f in episode.faults if f["kind"] in _EMULATOR_FAULT]
    hit = [fault["kind"] for fault, count in zip(api, counts, strict=False) if count]
    fired.update(hit)
    return hit


def in_process_episode(lab: SeedLab, episode: Episode, fired: Counter[str]) -> EpisodeResult:
    """One in-process run of the episode's days and endpoints with its API, token and lock faults."""
    days = episode_days(episode)
    before = lab.tables()
    whoop_overrides: dict[str, Any] = {}
    rotations: list[subprocess.Popen[str]] = []
    hooks = []
    holder = None
    lock_timeout = 2.0
    for fault in episode.faults:
        kind = fault["kind"]
        if kind in _EMULATOR_FAULT:
            _inject_api_fault(lab, fault)
            if kind == "slow_page":
                whoop_overrides["timeout_seconds"] = 0.4
            if kind == "5xx_persistent":
                whoop_overrides["max_retries"] = 1
        elif kind == "expired_access_token":
            hooks.append((kind, _hook(lab, fault["at_request"], lab.emu.expire_access_tokens)))
        elif kind == "rotation_race":
            hooks.append((kind, _hook(lab, fault["at_request"], _race_with_another_process(lab, rotations))))
        elif kind == "reader_holds_duckdb":
            holder = lab.start_child("hold-lock", {"duckdb_path": str(lab.duckdb_path), "read_only": True})
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == READY
            if fault["held"] == "briefly":
                lock_timeout = 10.0
                threading.Timer(0.5, _release, args=(holder,)).start()
            else:
                lock_timeout = 0.5
    run = lab.run_raw(days, episode.endpoints, whoop=lab.whoop(**whoop_overrides), lock_timeout=lock_timeout)
    problems: list[str] = []
    hit = _fired_api_faults(lab, episode, fired)
    lab.emu.faults.clear()
    for kind, hook in hooks:
        if hook.fired.is_set():
            fired[kind] += 1
        if hook.error is not None:
            problems.append(f"{kind}: the injected action failed: {hook.error!r}")
    for process in rotations:
        if lab.finish_child(process) != 0:
            problems.append("rotation_race: the other process could not get a working token pair")
    held_throughout = False
    if holder is not None:
        fired["reader_holds_duckdb"] += 1
        held_throughout = holder.stdin is not None and not holder.stdin.closed
        _release(holder)
        lab.finish_child(holder)
    must_fail = any(kind in PERSISTENT for kind in hit) or held_throughout
    problems += run_problems(run, days, must_succeed=not must_fail, must_fail=must_fail)
    problems += table_problems(lab, before, days, episode.endpoints)
    outcome = "recovered" if run.success else f"failed ({run.first_error()[:120]})"
    return EpisodeResult(outcome, problems, set(_each_day(days)))


def _race_with_another_process(lab: SeedLab, started: list[subprocess.Popen[str]]) -> Callable[[], None]:
    """The access tokens expire, and another process sharing the token file refreshes at the same moment."""
    spec = {key: lab.whoop_config()[key] for key in ("oauth_base_url", "client_id", "client_secret", "redirect_uri")}
    spec["token_store_path"] = str(lab.token_path)

    def expire_and_race() -> None:
        lab.emu.expire_access_tokens()
        started.append(lab.start_child("rotate", spec))  # not waited for: the run refreshes meanwhile

    return expire_and_race


def _release(holder: subprocess.Popen[str]) -> None:
    if holder.stdin is not None and not holder.stdin.closed:
        holder.stdin.close()


def _each_day(days: DayRange) -> Iterator[date]:
    return (days.first + timedelta(days=i) for i in range(days.days))


def killed_child_episode(lab: SeedLab, episode: Episode, fired: Counter[str]) -> EpisodeResult:
    """The episode's run in another process, SIGKILLed inside extraction or between a delete and its insert."""
    days = episode_days(episode)
    before = lab.tables()
    main = episode.faults[0]
    for fault in episode.faults[1:]:
        _inject_api_fault(lab, fault)
    extra: dict[str, Any] = {}
    marker = lab.tmp_path / f"killed-{len(lab.runs)}-{time.monotonic_ns()}.json"
    if main["kind"] == "kill_between_delete_and_insert":
        extra = {"victim": main["victim"], "marker": str(marker)}
    child = lab.start_child("materialize", lab.materialize_spec(days, episode.endpoints, **extra))
    if main["kind"] == "kill_in_extraction":
        hook = _hook(lab, main["at_request"], lambda: os.kill(child.pid, signal.SIGKILL))
    code = lab.finish_child(child)
    _fired_api_faults(lab, episode, fired)
    lab.emu.faults.clear()
    problems = []
    if code == -signal.SIGKILL:
        fired[main["kind"]] += 1
        outcome = "killed"
        if main["kind"] == "kill_between_delete_and_insert" and not marker.exists():
            problems.append("the child died, but not between the delete and the insert")
        if main["kind"] == "kill_in_extraction" and not hook.fired.is_set():
            problems.append("the child died, but not from the kill")
    elif code == 0:
        outcome = "not killed (the kill point was never reached), succeeded"
    else:
        outcome = f"not killed, exit {code}"
        problems.append(f"the child's run failed (exit {code}) with only transient faults")
    problems += table_problems(lab, before, days, episode.endpoints)
    return EpisodeResult(outcome, problems, set(_each_day(days)))


def sensor_with_backfill_episode(
    lab: SeedLab, episode: Episode, fired: Counter[str], cursors: dict[str, str]
) -> EpisodeResult:
    """Records are re-scored; a sensor tick's runs and a backfill over overlapping days run at once.

    The backfill runs in another process (as a second run does under ``dagster dev``); the
    sensor's runs in this one. Both wait for the DuckDB file; both must succeed, and the
    next tick must find nothing left to load.
    """
    main = episode.faults[0]
    sensor = main["sensor"]
    truth_before = lab.truth_rows()
    lab.emu.advance(timedelta(minutes=1))  # re-scores are stamped "now": after the cursor's high-water mark
    days = episode_days(episode)
    recent = DayRange(days_ago(SENSOR_LOOKBACK_DAYS - 1), days_ago(0))
    candidates = [
        (day, record)
        for day, record in truth_by_partition(lab.emu, ENDPOINTS[sensor], recent.first, recent.last).values()
        if day in days
    ] or list(truth_by_partition(lab.emu, ENDPOINTS[sensor], recent.first, recent.last).values())
    rng_index = sum(ord(c) for c in json.dumps(main, sort_keys=True))  # deterministic picks from the plan
    picked = [candidates[(rng_index + 7 * i) % len(candidates)] for i in range(main["rescored"])] if candidates else []
    for _, record in picked:
        lab.emu.rescore(sensor, record["cycle_id"] if ENDPOINTS[sensor].partition_by_sleep else record["id"])
    truth_after = lab.truth_rows()
    changed_days = _changed_days(truth_before, truth_after)
    before = lab.tables()
    whoop = lab.whoop()
    tick = sensor_tick(lab, sensor, cursors.get(sensor), whoop)
    problems: list[str] = []
    if not isinstance(tick, dg.SensorResult) or not tick.run_requests:
        problems.append(f"{sensor}_sensor found nothing after {len(picked)} re-score(s): {tick}")
        requests: list[dg.RunRequest] = []
    else:
        requests = list(tick.run_requests)
        fired["sensor_tick_with_backfill"] += 1
    ranges = [_request_days(request) for request in requests]
    sensor_days = {day for tagged in ranges for day in _each_day(tagged)}
    if sensor_days and not sensor_days & set(_each_day(days)):
        # The backfill must overlap the sensor's days: stretch it to the nearest one.
        nearest = min(sensor_days, key=lambda day: abs((day - days.first).days))
        days = DayRange(min(days.first, nearest), max(days.last, nearest))
    endpoints = tuple(dict.fromkeys((*episode.endpoints, sensor)))  # the sensor's table, written by both
    # The faults hit the runs, not the tick (a tick that cannot read the API skips by design).
    for fault in episode.faults[1:]:
        _inject_api_fault(lab, fault)
    persistent = any(fault["kind"] in PERSISTENT for fault in episode.faults)
    run_whoop = lab.whoop(max_retries=1) if persistent else whoop
    backfill = lab.start_child(
        "materialize", lab.materialize_spec(days, endpoints, lock_timeout_seconds=SHARED_FILE_WAIT_SECONDS)
    )
    runs = [lab.run_raw(tagged, (sensor,), whoop=run_whoop, lock_timeout=SHARED_FILE_WAIT_SECONDS) for tagged in ranges]
    code = lab.finish_child(backfill)
    hit = _fired_api_faults(lab, episode, fired)
    lab.emu.faults.clear()
    transient_only = not any(kind in PERSISTENT for kind in hit)
    for run, tagged in zip(runs, ranges, strict=True):
        problems += run_problems(run, tagged, must_succeed=transient_only, must_fail=False)
    if code != 0 and transient_only:
        problems.append(f"the backfill next to the sensor's run failed (exit {code})")
    failed = {day for run, tagged in zip(runs, ranges, strict=True) if not run.success for day in _each_day(tagged)}
    if isinstance(tick, dg.SensorResult) and tick.cursor:
        cursors[sensor] = tick.cursor
        retried, more = _next_ticks(lab, sensor, tick.cursor, whoop, failed)
        sensor_days |= retried
        problems += more
    hull = sorted(sensor_days | set(_each_day(days)))
    loaded = DayRange(hull[0], hull[-1])
    # Records the clock or a re-score changed on days nothing loaded stay for the re-run: only
    # the sensor's endpoint is watched here. A failed backfill's tables were judged untouched-or-right.
    problems += table_problems(lab, before, loaded, endpoints)
    outcome = (
        f"sensor requested {len(requests)} run(s) for {sorted(map(str, sensor_days))}, "
        f"{len(failed)} day(s) failed and were retried by the next tick; backfill exit {code}"
    )
    return EpisodeResult(outcome, problems, sensor_days | set(_each_day(days)) | changed_days)


def _request_days(request: dg.RunRequest) -> DayRange:
    return DayRange(date.fromisoformat(request.tags[RANGE_START_TAG]), date.fromisoformat(request.tags[RANGE_END_TAG]))


def _next_ticks(lab: SeedLab, sensor: str, cursor: str, whoop: Any, failed: set[date]) -> tuple[set[date], list[str]]:
    """The next tick must request again every day whose sensor run failed (and nothing else new); after its
    runs, the tick after must find nothing. Returns the days retried and the problems."""
    problems = []
    again = sensor_tick(lab, sensor, cursor, whoop)
    requests = list(again.run_requests) if isinstance(again, dg.SensorResult) else []
    retried = {day for request in requests for day in _each_day(_request_days(request))}
    if failed - retried:
        problems.append(f"the next {sensor}_sensor tick does not load again the failed days {sorted(failed - retried)}")
    if any("whoop/retry" not in request.tags for request in requests):
        problems.append(f"the next {sensor}_sensor tick finds new records though nothing changed: {requests}")
    for request in requests:
        run = lab.run_raw(_request_days(request), (sensor,), whoop=whoop)
        problems += run_problems(run, _request_days(request), must_succeed=True, must_fail=False)
    if requests:
        last = sensor_tick(lab, sensor, again.cursor, whoop)  # type: ignore[union-attr]
        if isinstance(last, dg.SensorResult) and last.run_requests:
            problems.append(f"{sensor}_sensor still requests runs after the retries: {last.run_requests}")
    return retried, problems


def _changed_days(
    before: dict[str, dict[str, tuple[str, Any]]], after: dict[str, dict[str, tuple[str, Any]]]
) -> set[date]:
    """Partition days whose truth differs between two readings (re-scores, the clock moving)."""
    days: set[date] = set()
    for name in after:
        for key in before[name].keys() | after[name].keys():
            old, new = before[name].get(key), after[name].get(key)
            if old != new:
                days |= {date.fromisoformat(v[0]) for v in (old, new) if v is not None}
    return days


# -- the seed --------------------------------------------------------------------------------


def downstream_episode(lab: SeedLab, episode: Episode, fired: Counter[str]) -> EpisodeResult:
    """dbt and ML in a child process, killed inside (see ``campaign_downstream``)."""
    from whoop_dagster_tests.faults.campaign_downstream import downstream_episode as play

    return play(lab, episode, fired)


def _emulator_seed(history_days: int) -> int:
    return DOWNSTREAM_EMULATOR_SEED if history_days == DOWNSTREAM_HISTORY_DAYS else 11


def run_seed(seed: int, world: CampaignWorld, directory: Path) -> SeedReport:
    """Play the seed's plan, make the plain re-run, and judge convergence (never raises for a finding)."""
    plan = plan_for_seed(seed)
    report = SeedReport(seed, plan)
    started = time.monotonic()
    downstream = any(episode.mode in DOWNSTREAM_FAULTS for episode in plan)
    template = world.marts_template() if downstream else world.template()
    history = DOWNSTREAM_HISTORY_DAYS if downstream else HISTORY_DAYS
    capture = LogCapture()
    directory.mkdir(parents=True, exist_ok=True)
    with capture.attached(), emulator(days=history, seed=_emulator_seed(history)) as emu:
        lab = SeedLab(emu, directory, capture, template, history)
        cursors = dict(world.cursors)
        affected: set[date] = set()
        for number, episode in enumerate(plan, 1):
            if episode.mode == "in_process":
                result = in_process_episode(lab, episode, report.fired)
            elif episode.mode in ("kill_in_extraction", "kill_between_delete_and_insert"):
                result = killed_child_episode(lab, episode, report.fired)
            elif episode.mode == "sensor_tick_with_backfill":
                result = sensor_with_backfill_episode(lab, episode, report.fired, cursors)
            else:
                result = downstream_episode(lab, episode, report.fired)
            report.outcomes.append(f"{number}. {result.outcome}")
            report.problems += [f"episode {number}: {problem}" for problem in result.problems]
            affected |= result.affected
        report.problems += converge(lab, affected)
        report.child_processes = lab.report_children
    report.converged = not any(p.startswith("convergence:") for p in report.problems)
    report.seconds = time.monotonic() - started
    report.finished_at = time.time()
    return report


def converge(lab: SeedLab, affected: set[date]) -> list[str]:
    """The plain re-run of the affected days, then the warehouse against the truth, the token, the secrets."""
    lab.emu.faults.clear()
    problems = []
    if affected:
        days = DayRange(min(affected), max(affected))
        rerun = lab.run_raw(days, ALL_RAW)
        if not rerun.success:
            problems.append(f"convergence: the plain re-run of {days} failed: {rerun.failures}")
    tally = lab.tally()
    if not tally.clean:
        problems.append(
            f"convergence: the warehouse differs from the truth (missing, duplicated, stale): {tally.per_table}"
        )
    if not lab.refresh_token_works():
        problems.append("convergence: the stored refresh token no longer works: the login is lost")
    problems += [f"convergence: secret leaked: {leak}" for leak in lab.leaks()]
    return problems


def lab_days() -> DayRange:
    return DayRange(days_ago(LAB_DAYS - 1), days_ago(0))

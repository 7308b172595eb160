"""The fault campaign's episodes before dbt: faulty raw runs in this process, in a killed child, next to a sensor.

Each plays one ``Episode`` of a seed's plan on a ``SeedLab`` and returns its ``EpisodeResult``;
the faults it injects are counted in ``fired`` only when they fire.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import dagster as dg

from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.whoop_api.endpoints import ENDPOINTS
from whoop_dagster_tests.faults.campaign_lab import (
    SENSOR_LOOKBACK_DAYS,
    SHARED_FILE_WAIT_SECONDS,
    EpisodeResult,
    SeedLab,
    _each_day,
    episode_days,
    run_problems,
    sensor_tick,
    table_problems,
)
from whoop_dagster_tests.faults.campaign_plan import (
    PERSISTENT,
    Episode,
)
from whoop_dagster_tests.faults.child import READY
from whoop_dagster_tests.support.whoop import days_ago, truth_by_partition

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

"""Volume checks on the raw tables: a three-day strap-off gap and a day synced twice, over real HTTP.

The emulator serves 60 days in which its member wore no strap on three days and one day's
records come twice under new ids; the raw assets load 40 days into DuckDB and the volume
checks run on the emulator's clock. Expectations come from the emulator's truth.
"""

from datetime import date, datetime, time, timedelta

import dagster as dg
import pytest

from whoop_dagster.clock import frozen_clock
from whoop_dagster.defs.raw.checks import (
    IMPLAUSIBLE_DAYS_CHECK,
    MISSING_DAYS_CHECK,
)
from whoop_dagster.defs.raw.partitions import contiguous_ranges
from whoop_dagster.defs.raw.rows import parse_timestamp
from whoop_dagster.defs.raw.volume import last_completed_day
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS
from whoop_dagster_tests.support.volume import flagged, load_and_check_volume
from whoop_dagster_tests.support.whoop import (
    days_ago,
    emulator,
    truth_by_partition,
)

pytestmark = pytest.mark.time_sensitive

STRAP_OFF = tuple(days_ago(n) for n in (12, 11, 10))
SYNCED_TWICE = days_ago(5)
LOADED = (days_ago(40), days_ago(0))


def load_and_check(emu, tmp_path, clock):
    return load_and_check_volume(emu, tmp_path, *LOADED, clock)


def truth_days(emu, endpoint) -> dict[str, list[dict]]:
    """Partition day -> the emulator's records of ``endpoint`` in it, over ``LOADED``."""
    by_day: dict[str, list[dict]] = {}
    for day, record in truth_by_partition(emu, endpoint, *LOADED).values():
        by_day.setdefault(day.isoformat(), []).append(record)
    return by_day


@pytest.fixture
def faulty_emu():
    with emulator(days=60, strap_off_days=STRAP_OFF, duplicated_days=(SYNCED_TWICE,)) as running:
        yield running


def spans_of(emu, endpoint) -> list[tuple[datetime, datetime]]:
    """The truth's time spans of ``endpoint`` (recoveries: their sleeps'; open ones end at now)."""
    sleeps = {s["id"]: s for s in emu.dataset.records("sleep")}
    now = emu.now().replace(tzinfo=None)
    spans = []
    for record in emu.dataset.records(endpoint.name):
        timed = sleeps[record["sleep_id"]] if endpoint.partition_by_sleep else record
        end = parse_timestamp(timed["end"]) if "end" in timed else now
        spans.append((parse_timestamp(timed["start"]), end))
    return sorted(spans)


def fully_covered(day: date, spans) -> bool:
    moment, day_end = datetime.combine(day, time.min), datetime.combine(day + timedelta(days=1), time.min)
    for start, end in spans:
        if start <= moment < end:
            moment = end
    return moment >= day_end


def touched(day: date, spans) -> bool:
    day_start, day_end = datetime.combine(day, time.min), datetime.combine(day + timedelta(days=1), time.min)
    return any(start < day_end and end > day_start for start, end in spans)


def test_volume_checks_flag_the_strap_off_days_and_the_day_synced_twice(faulty_emu, tmp_path):
    emu = faulty_emu
    evaluations = load_and_check(emu, tmp_path, emu.now)
    last = last_completed_day(emu.now())
    completed = [LOADED[0] + timedelta(days=i) for i in range((last - LOADED[0]).days + 1)]
    for endpoint in COLLECTION_ENDPOINTS:
        by_day = truth_days(emu, endpoint)
        empty = [day for day in completed if day.isoformat() not in by_day]
        missing = evaluations[MISSING_DAYS_CHECK][endpoint.name]
        assert missing.severity == dg.AssetCheckSeverity.WARN
        if endpoint.name == "workout":
            # Workouts are not daily: days without one are missing only when improbably many.
            assert set(flagged(missing)) <= {d.isoformat() for d in empty}
        else:
            # Empty partitions that no neighbour accounts for: cycles are contiguous (a day they
            # cover all along lacks nothing), a day some sleep touches saw the member sleep.
            spans = spans_of(emu, endpoint)
            covers = fully_covered if endpoint.name == "cycle" else touched
            expected = [day for day in empty if not covers(day, spans)]
            (gap,) = contiguous_ranges(set(expected))  # the strap-off days and nothing else
            assert gap.days >= 2
            assert gap.first >= STRAP_OFF[0] - timedelta(days=1)
            assert gap.last <= STRAP_OFF[-1]
            assert not missing.passed
            assert flagged(missing) == [day.isoformat() for day in expected], endpoint.name

        # The day synced twice: records whose (sleep's) start another record shares.
        sleeps = {s["id"]: s for s in emu.dataset.records("sleep")}
        starts: dict[str, list[str]] = {}
        for day, records in by_day.items():
            for record in records:
                timed = sleeps[record["sleep_id"]] if endpoint.partition_by_sleep else record
                scored_only = endpoint.name in ("sleep", "workout")
                if not scored_only or record["score_state"] == "SCORED":
                    starts.setdefault(timed["start"], []).append(day)
        twice = sorted({days[0] for days in starts.values() if len(days) > 1})
        implausible = evaluations[IMPLAUSIBLE_DAYS_CHECK][endpoint.name]
        assert flagged(implausible) == twice, endpoint.name
        assert implausible.passed == (not twice)
        assert implausible.severity == dg.AssetCheckSeverity.WARN
    assert evaluations[IMPLAUSIBLE_DAYS_CHECK]["cycle"].metadata["implausible_days"]


def test_volume_checks_pass_on_clean_data(tmp_path):
    with emulator(days=60) as emu:
        evaluations = load_and_check(emu, tmp_path, emu.now)
    for name, by_endpoint in evaluations.items():
        for endpoint, evaluation in by_endpoint.items():
            assert evaluation.passed, (name, endpoint, flagged(evaluation))


def test_completed_days_follow_the_injected_clock(faulty_emu, tmp_path):
    """Two days after the gap began, only its completed days are missing; the rest is not yet judged."""
    emu = faulty_emu
    second_gap_day = STRAP_OFF[1]
    clock = frozen_clock(parse_timestamp(f"{second_gap_day + timedelta(days=1)}T05:59:00.000Z"))
    evaluations = load_and_check(emu, tmp_path, clock)
    missing = flagged(evaluations[MISSING_DAYS_CHECK]["cycle"])
    assert missing
    assert max(date.fromisoformat(d) for d in missing) <= STRAP_OFF[0]

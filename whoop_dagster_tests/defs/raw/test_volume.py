"""Volume rules: empty days where the member normally has records, and impossible days."""

from datetime import date, datetime, timedelta, timezone

import pytest

from whoop_dagster.defs.raw.rows import parse_timestamp, partition_date_of
from whoop_dagster.defs.raw.volume import (
    RULES,
    Span,
    implausible_days,
    last_completed_day,
    missing_days,
    missing_days_by_user,
)
from whoop_dagster.emulator import Emulator, EmulatorConfig
from whoop_dagster.whoop_api.endpoints import get_endpoint
from whoop_dagster_tests.support.clock import frozen_now

FIRST = date(2024, 1, 1)


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def span(record_id, start, hours=24.0, scored=True, user=1):
    begin = datetime.fromisoformat(start)
    end = None if hours is None else begin + timedelta(hours=hours)
    return Span(record_id, user, begin.date(), begin, end, scored)


def test_one_empty_day_is_missing_for_a_member_with_records_every_day():
    present = set(days(FIRST, 60)) - {date(2024, 2, 10)}
    assert missing_days(present, FIRST, date(2024, 2, 29), every_day=True) == [date(2024, 2, 10)]


def test_a_three_day_gap_is_missing_day_by_day():
    gap = days(date(2024, 2, 27), 3)  # 27, 28, 29 February
    present = set(days(FIRST, 70)) - set(gap)
    assert missing_days(present, FIRST, date(2024, 3, 5), every_day=True) == gap


def test_a_gap_still_open_on_the_last_completed_day_is_missing():
    present = set(days(FIRST, 40))
    assert missing_days(present, FIRST, date(2024, 2, 12), every_day=True) == days(date(2024, 2, 10), 3)


def test_days_without_a_workout_are_missing_only_when_improbably_many():
    # Workouts on 7 days of 10: 3 empty days in a row happen (0.3^3 = 2.7%), 14 do not (5e-8).
    pattern = [day for day in days(FIRST, 50) if day.toordinal() % 10 not in (2, 5, 8)]
    three = set(pattern) - set(days(date(2024, 2, 4), 2))  # 4-6 February empty (the 6th by the pattern)
    assert missing_days(three, FIRST, date(2024, 2, 15), every_day=False) == []
    fortnight = set(pattern) - set(days(date(2024, 2, 1), 14))
    assert missing_days(fortnight, FIRST, date(2024, 2, 19), every_day=False) == days(date(2024, 2, 1), 14)


def test_a_utc_day_on_which_no_cycle_starts_is_covered_by_its_neighbours():
    # Onsets at 23:50 and 00:10: 2 March holds no cycle start, yet cycles cover it all day.
    cycles = [span(str(i), f"2024-02-{i:02d}T04:00") for i in range(1, 29)]
    cycles += [span("a", "2024-02-29T04:00", hours=43.83), span("b", "2024-03-01T23:50", hours=24.33)]
    cycles += [span("c", "2024-03-03T00:10", hours=None)]
    now = datetime(2024, 3, 5, 12, tzinfo=timezone.utc)
    assert missing_days_by_user(cycles, RULES["cycle"], now) == {1: []}
    without_b = [c for c in cycles if c.record_id != "b"]
    # Without b, 1 March (b's partition) is empty and not covered after a ends; 2 March not at all.
    assert missing_days_by_user(without_b, RULES["cycle"], now) == {1: [date(2024, 3, 1), date(2024, 3, 2)]}


def test_a_day_some_sleep_overlaps_is_not_missing_sleep():
    sleeps = [span(str(i), f"2024-02-{i:02d}T22:00", hours=8) for i in range(1, 28)]
    # 28 February: no sleep starts (the next one begins after midnight), but one ends.
    sleeps += [span("late", "2024-02-29T00:30", hours=7), span("next", "2024-03-01T22:00", hours=8)]
    now = datetime(2024, 3, 2, 12, tzinfo=timezone.utc)
    assert missing_days_by_user(sleeps, RULES["sleep"], now) == {1: []}
    without_late = [s for s in sleeps if s.record_id != "late"]
    assert missing_days_by_user(without_late, RULES["sleep"], now) == {1: [date(2024, 2, 29)]}


def test_too_short_a_history_judges_nothing():
    present = set(days(FIRST, 5))
    assert missing_days(present, FIRST, date(2024, 1, 9), every_day=True) == []


def test_a_day_is_completed_six_hours_after_it_ended_in_utc():
    assert last_completed_day(datetime(2025, 12, 31, 23, 58, tzinfo=timezone.utc)) == date(2025, 12, 30)
    assert last_completed_day(datetime(2026, 1, 1, 5, 59, tzinfo=timezone.utc)) == date(2025, 12, 30)
    assert last_completed_day(datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)) == date(2025, 12, 31)
    assert last_completed_day(datetime(2024, 3, 1, 6, 0, tzinfo=timezone.utc)) == date(2024, 2, 29)
    bogota = timezone(timedelta(hours=-5))  # 19:00 in Bogotá is midnight UTC: 31 December just ended
    assert last_completed_day(datetime(2025, 12, 31, 19, 0, tzinfo=bogota)) == date(2025, 12, 30)
    assert last_completed_day(datetime(2026, 1, 1, 1, 0, tzinfo=bogota)) == date(2025, 12, 31)


def test_contiguous_cycles_are_plausible_and_the_open_one_runs_on():
    cycles = [span("1", "2024-03-01T04:00"), span("2", "2024-03-02T04:00"), span("3", "2024-03-03T04:00", hours=None)]
    assert implausible_days(cycles, RULES["cycle"]) == {}


def test_a_cycle_synced_twice_overlaps_its_copy():
    cycles = [span("1", "2024-03-01T04:00"), span("1501", "2024-03-01T04:00"), span("2", "2024-03-02T04:00")]
    assert implausible_days(cycles, RULES["cycle"]) == {date(2024, 3, 1): ["1501 overlaps 1"]}


def test_a_later_cycle_overlapping_the_open_one_is_implausible():
    cycles = [span("1", "2024-03-01T04:00", hours=None), span("2", "2024-03-02T04:00", hours=None)]
    assert implausible_days(cycles, RULES["cycle"]) == {date(2024, 3, 2): ["2 overlaps 1"]}


def test_four_cycles_starting_on_one_day_are_too_many():
    cycles = [span(str(i), f"2024-03-01T0{2 * i}:00", hours=2) for i in range(4)]
    assert implausible_days(cycles, RULES["cycle"]) == {date(2024, 3, 1): ["4 records (at most 3 a day)"]}


def test_overlapping_scored_sleeps_are_implausible_unscored_ones_are_not():
    sleeps = [span("a", "2024-03-01T04:00", hours=8), span("b", "2024-03-01T06:00", hours=1)]
    assert implausible_days(sleeps, RULES["sleep"]) == {date(2024, 3, 1): ["b overlaps a"]}
    pending = [span("a", "2024-03-01T04:00", hours=8), span("b", "2024-03-01T06:00", hours=1, scored=False)]
    assert implausible_days(pending, RULES["sleep"]) == {}


def test_overlaps_are_judged_per_member():
    sleeps = [span("a", "2024-03-01T04:00", hours=8, user=1), span("b", "2024-03-01T05:00", hours=8, user=2)]
    assert implausible_days(sleeps, RULES["sleep"]) == {}


def emulator_spans(emu, endpoint_name: str, user: int) -> list[Span]:
    """The emulator's records of one member as the volume rules see them (placed as the raw assets place them)."""
    endpoint = get_endpoint(endpoint_name)
    sleeps = {s["id"]: s for s in emu.dataset.records("sleep", user)}
    sleep_starts = {sid: parse_timestamp(s["start"]) for sid, s in sleeps.items()}
    spans = []
    for record in emu.dataset.records(endpoint_name, user):
        timed = sleeps[record["sleep_id"]] if endpoint.partition_by_sleep else record
        spans.append(
            Span(
                record_id=endpoint.record_id(record),
                user_id=record["user_id"],
                day=partition_date_of(endpoint, record, sleep_starts),
                start=parse_timestamp(timed["start"]),
                end=parse_timestamp(timed["end"]) if "end" in timed else None,
                scored=record["score_state"] == "SCORED",
            )
        )
    return spans


@pytest.mark.time_sensitive
def test_two_clean_years_of_five_members_in_five_time_zones_flag_nothing():
    now = frozen_now()
    emu = Emulator(EmulatorConfig(seed=7, days=730, users=5, now=now))
    for user in range(5):
        for name, rule in RULES.items():
            spans = emulator_spans(emu, name, user)
            assert missing_days_by_user(spans, rule, now) == {spans[0].user_id: []}, (user, name)
            assert implausible_days(spans, rule) == {}, (user, name)

"""The emulator's records have the v2 shape: required keys, absent (never null) optionals, realistic values."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from whoop_dagster.emulator.data import CALIBRATION_DAYS, OLD_STRAP_DAYS, SPORTS, V2_ONLY_FROM
from whoop_dagster.whoop_api.endpoints import BODY_MEASUREMENT, COLLECTION_ENDPOINTS, USER_PROFILE, get_endpoint
from whoop_dagster_tests.emulator.conftest import NOW, local_wake_date, parse_ts

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
OFFSET = re.compile(r"^(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture(scope="module")
def truth(readonly_emu) -> dict[str, list[dict[str, Any]]]:
    return {e.name: readonly_emu.dataset.records(e.name) for e in COLLECTION_ENDPOINTS}


def _nulls(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{path}[{i}]")]
    return []


def _score_value(score: dict[str, Any], dotted: str) -> Any:
    value: Any = score
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_every_record_has_the_required_fields_of_its_endpoint(truth, name):
    required = get_endpoint(name).required_fields
    assert truth[name], f"no {name} records at all"
    for record in truth[name]:
        missing = [field for field in required if field not in record]
        assert not missing, (name, missing, record)


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_optional_fields_are_absent_never_null(truth, name):
    for record in truth[name]:
        assert not _nulls(record), record


def test_profile_and_body_measurement_have_exactly_their_documented_fields(readonly_emu):
    assert set(readonly_emu.dataset.profile()) == set(USER_PROFILE.required_fields)
    assert set(readonly_emu.dataset.body()) == set(BODY_MEASUREMENT.required_fields)


def test_some_members_names_have_an_apostrophe_and_non_ascii_letters(readonly_emu):
    names = [readonly_emu.dataset.profile(i) for i in range(2)]
    assert any("'" in p["last_name"] for p in names)
    assert any(not (p["first_name"] + p["last_name"]).isascii() for p in names)
    assert all(p["email"].isascii() and "@" in p["email"] for p in names)


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_score_is_present_exactly_when_the_record_is_scored(truth, name):
    states = Counter(r["score_state"] for r in truth[name])
    assert set(states) <= {"SCORED", "PENDING_SCORE", "UNSCORABLE"}
    for record in truth[name]:
        assert ("score" in record) == (record["score_state"] == "SCORED"), record


def test_about_one_percent_of_records_are_unscorable(truth):
    records = [r for name in ("sleep", "workout") for r in truth[name]]
    share = sum(r["score_state"] == "UNSCORABLE" for r in records) / len(records)
    assert 0.002 < share < 0.03


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_timestamps_are_utc_with_milliseconds_and_offsets_whoop_formatted(truth, name):
    for record in truth[name]:
        for field in ("created_at", "updated_at", "start", "end"):
            if field in record:
                assert TIMESTAMP.match(record[field]), (field, record[field])
        if "timezone_offset" in record:
            assert OFFSET.match(record["timezone_offset"]), record["timezone_offset"]
        assert record["created_at"] <= record["updated_at"] <= NOW.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_score_values_stay_in_their_documented_ranges(truth, name):
    ranges = get_endpoint(name).score_ranges
    for record in truth[name]:
        for dotted, (low, high) in ranges.items():
            value = _score_value(record.get("score", {}), dotted)
            if value is not None:
                assert low <= value <= high, (dotted, value)


def test_only_the_current_cycle_is_open_and_each_ends_as_the_next_begins(truth):
    cycles = truth["cycle"]  # newest first
    assert "end" not in cycles[0]
    assert parse_ts(cycles[0]["start"]) <= NOW
    for newer, older in pairwise(cycles):
        assert older["end"] == newer["start"]
        assert timedelta(hours=14) < parse_ts(older["end"]) - parse_ts(older["start"]) < timedelta(hours=34)


def test_cycle_ids_increase_with_time_and_sleep_and_workout_ids_are_uuids(truth):
    ids = [c["id"] for c in truth["cycle"]]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids, reverse=True)
    for record in truth["sleep"] + truth["workout"]:
        assert str(uuid.UUID(record["id"])) == record["id"]


def test_every_cycle_has_one_main_sleep_and_naps_are_extra(truth):
    main = Counter(s["cycle_id"] for s in truth["sleep"] if not s["nap"])
    assert set(main.values()) == {1}
    cycles = {c["id"] for c in truth["cycle"]}
    assert set(main) <= cycles
    assert len(cycles - set(main)) <= 1, "only the current cycle may still be asleep"
    assert any(s["nap"] for s in truth["sleep"])


def test_every_recovery_links_to_an_existing_main_sleep_and_its_cycle(truth):
    sleeps = {s["id"]: s for s in truth["sleep"]}
    cycles = {c["id"] for c in truth["cycle"]}
    for recovery in truth["recovery"]:
        sleep = sleeps[recovery["sleep_id"]]
        assert recovery["cycle_id"] in cycles
        assert sleep["cycle_id"] == recovery["cycle_id"]
        assert not sleep["nap"]


def test_naps_have_no_recovery(truth):
    with_recovery = {r["sleep_id"] for r in truth["recovery"]}
    naps = [s for s in truth["sleep"] if s["nap"]]
    assert naps
    assert not with_recovery & {n["id"] for n in naps}
    assert {"sleep_performance_percentage", "sleep_consistency_percentage"}.isdisjoint(
        next(n for n in naps if "score" in n)["score"]
    )


def test_some_sleeps_and_nearly_every_completed_cycle_cross_utc_midnight(truth):
    crossing = [s for s in truth["sleep"] if parse_ts(s["start"]).date() != parse_ts(s["end"]).date()]
    assert len(crossing) > 20
    completed = truth["cycle"][1:]
    # A flight east can shorten a cycle to ~18 h within one UTC day; every other cycle crosses midnight.
    crossing_cycles = [c for c in completed if parse_ts(c["start"]).date() != parse_ts(c["end"]).date()]
    assert len(crossing_cycles) > 0.95 * len(completed)


def test_timezone_offsets_are_mostly_minus_five_with_travel_to_europe(truth):
    offsets = Counter(s["timezone_offset"] for s in truth["sleep"])
    assert offsets.most_common(1)[0][0] == "-05:00"
    assert offsets["-05:00"] > 0.8 * len(truth["sleep"])
    assert offsets["+01:00"] > 0
    assert offsets["Z"] > 0


def test_activities_since_sept_2025_have_no_v1_id_and_workouts_no_sport_id(truth):
    cutoff = V2_ONLY_FROM.isoformat()
    for record in truth["sleep"] + truth["workout"]:
        assert ("v1_id" in record) == (record["start"] < cutoff), record
    for workout in truth["workout"]:
        assert workout["sport_name"] in SPORTS
        assert ("sport_id" in workout) == (workout["start"] < cutoff)
        if "sport_id" in workout:
            assert workout["sport_id"] == SPORTS[workout["sport_name"]].sport_id


def test_workouts_span_several_sports_and_at_most_two_a_day(truth):
    assert len({w["sport_name"] for w in truth["workout"]}) >= 3
    per_day = Counter(parse_ts(w["start"]).date() for w in truth["workout"])
    assert max(per_day.values()) <= 3  # two a (local) day; a UTC day can catch one more


def test_workout_zone_durations_sum_to_the_workout_duration(truth):
    for workout in (w for w in truth["workout"] if "score" in w):
        duration_ms = round((parse_ts(workout["end"]) - parse_ts(workout["start"])).total_seconds() * 1000)
        assert sum(workout["score"]["zone_durations"].values()) == duration_ms
        assert all(v >= 0 for v in workout["score"]["zone_durations"].values())


def test_distance_and_altitude_appear_only_for_sports_that_have_them(truth):
    for workout in (w for w in truth["workout"] if "score" in w):
        sport, score = SPORTS[workout["sport_name"]], workout["score"]
        assert ("distance_meter" in score) == (sport.speed is not None)
        assert ("altitude_gain_meter" in score) == ("altitude_change_meter" in score) == sport.altitude


def test_sleep_stages_add_up_to_time_in_bed(truth):
    for sleep in (s for s in truth["sleep"] if "score" in s):
        stages = sleep["score"]["stage_summary"]
        parts = (
            stages["total_awake_time_milli"]
            + stages["total_no_data_time_milli"]
            + stages["total_light_sleep_time_milli"]
            + stages["total_slow_wave_sleep_time_milli"]
            + stages["total_rem_sleep_time_milli"]
        )
        assert parts == stages["total_in_bed_time_milli"]
        assert sleep["score"]["sleep_needed"]["need_from_recent_nap_milli"] <= 0


def test_spo2_and_skin_temperature_are_absent_on_the_old_strap_only(readonly_emu, truth):
    sleeps = {s["id"]: s for s in truth["sleep"]}
    upgrade = readonly_emu.dataset.join_date + timedelta(days=OLD_STRAP_DAYS)
    scored = [r for r in truth["recovery"] if "score" in r]
    for recovery in scored:
        old_strap = local_wake_date(sleeps[recovery["sleep_id"]]) < upgrade
        assert ("spo2_percentage" in recovery["score"]) != old_strap
        assert ("skin_temp_celsius" in recovery["score"]) != old_strap
    assert any("spo2_percentage" not in r["score"] for r in scored)


def test_recoveries_are_calibrating_in_the_first_two_weeks_only(readonly_emu, truth):
    sleeps = {s["id"]: s for s in truth["sleep"]}
    calibrated_from = readonly_emu.dataset.join_date + timedelta(days=CALIBRATION_DAYS)
    calibrating = [r for r in truth["recovery"] if "score" in r and r["score"]["user_calibrating"]]
    assert 10 <= len(calibrating) <= CALIBRATION_DAYS
    assert all(local_wake_date(sleeps[r["sleep_id"]]) < calibrated_from for r in calibrating)


def test_a_just_ended_record_is_pending_then_scored_with_a_new_updated_at(make_emulator):
    emu = make_emulator(days=10)
    sleep = next(s for s in emu.dataset.records("sleep") if s["score_state"] == "SCORED")
    emu.set_now(parse_ts(sleep["created_at"]))
    pending = emu.dataset.get("sleep", sleep["id"])
    assert pending["score_state"] == "PENDING_SCORE"
    assert "score" not in pending
    assert pending["updated_at"] == pending["created_at"]
    emu.advance(timedelta(hours=5))
    scored = emu.dataset.get("sleep", sleep["id"])
    assert scored["score_state"] == "SCORED"
    assert scored["updated_at"] > pending["updated_at"]


def test_the_current_cycle_is_scored_so_far_and_refreshed_hourly(make_emulator):
    emu = make_emulator(days=10)
    current = emu.dataset.records("cycle")[0]
    emu.set_now(parse_ts(current["created_at"]) + timedelta(minutes=90))
    early = emu.dataset.get("cycle", current["id"])
    emu.advance(timedelta(hours=10))
    later = emu.dataset.get("cycle", current["id"])
    assert "end" not in early
    assert "end" not in later
    assert early["score_state"] == later["score_state"] == "SCORED"
    assert later["updated_at"] > early["updated_at"]
    assert later["score"]["kilojoule"] > early["score"]["kilojoule"]


def test_some_old_records_are_rescored_automatically_days_later(truth):
    late = [
        r
        for name in ("cycle", "sleep", "workout")
        for r in truth[name]
        if "end" in r and parse_ts(r["updated_at"]) - parse_ts(r["end"]) > timedelta(days=1)
    ]
    assert 0.01 < len(late) / sum(len(truth[n]) for n in ("cycle", "sleep", "workout")) < 0.08
    assert all(r["score_state"] == "SCORED" for r in late)

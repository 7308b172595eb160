"""Determinism and the generative model of the emulator's synthetic physiology."""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from itertools import pairwise

import pytest

from whoop_dagster.emulator import NO_BEHAVIOUR_EFFECTS, RECOVERY_NOISE_SD, Emulator, EmulatorConfig, RecoveryEffects
from whoop_dagster.emulator.clock import Clock
from whoop_dagster.emulator.data import Physiology
from whoop_dagster.emulator.records import TIMELINE_ENDPOINTS, Dataset
from whoop_dagster_tests.emulator.conftest import NOW, local_wake_date, parse_ts

_DIGEST_SCRIPT = """
import hashlib, json, sys
from datetime import datetime
from whoop_dagster.emulator import Emulator, EmulatorConfig
emu = Emulator(EmulatorConfig(seed=int(sys.argv[1]), days=90, now=datetime.fromisoformat(sys.argv[2])))
truth = {name: emu.dataset.records(name) for name in ("cycle", "sleep", "recovery", "workout", "user_profile")}
print(hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest())
"""


def _truth(emu: Emulator) -> dict[str, list[dict]]:
    return {name: emu.dataset.records(name) for name in (*TIMELINE_ENDPOINTS, "user_profile", "body_measurement")}


def _digest(truth: dict) -> str:
    return hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest()


def test_two_emulators_with_equal_seeds_serve_identical_records_over_http(make_emulator, make_client):
    first, second = make_emulator(seed=3), make_emulator(seed=3)
    for path in ("/v2/cycle", "/v2/activity/sleep", "/v2/recovery", "/v2/activity/workout", "/v2/user/profile/basic"):
        one, two = make_client(first).get(path, limit=25), make_client(second).get(path, limit=25)
        assert one.json() == two.json(), path


def test_a_different_seed_serves_different_records():
    one = Emulator(EmulatorConfig(seed=1, days=30, now=NOW))
    two = Emulator(EmulatorConfig(seed=2, days=30, now=NOW))
    assert one.dataset.records("sleep") != two.dataset.records("sleep")


def test_another_process_with_the_same_seed_generates_identical_records():
    ours = _digest(
        {
            name: records
            for name, records in _truth(Emulator(EmulatorConfig(seed=5, days=90, now=NOW))).items()
            if name != "body_measurement"
        }
    )
    theirs = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT, "5", NOW.isoformat()], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert theirs == ours


def test_a_days_records_are_the_same_whatever_now_is():
    join = date(2025, 6, 1)
    early = Emulator(EmulatorConfig(seed=7, now=NOW - timedelta(days=20), join_date=join))
    late = Emulator(EmulatorConfig(seed=7, now=NOW, join_date=join))
    cutoff = early.now()
    for name in ("cycle", "sleep", "workout"):
        later = {r["id"]: r for r in late.dataset.records(name)}
        settled = [r for r in early.dataset.records(name) if parse_ts(r["updated_at"]) < cutoff - timedelta(days=12)]
        assert settled
        for record in settled:
            # Settled records are identical; only an automatic re-score may have moved one since.
            assert later[record["id"]] == record or later[record["id"]]["updated_at"] > record["updated_at"]


def test_advancing_the_clock_changes_a_record_only_with_its_updated_at():
    emu = Emulator(EmulatorConfig(seed=7, days=40, now=NOW))
    before = _truth(emu)
    emu.advance(timedelta(hours=75))
    after = _truth(emu)
    for name in TIMELINE_ENDPOINTS:
        key = "cycle_id" if name == "recovery" else "id"
        now_by_id = {r[key]: r for r in after[name]}
        for record in before[name]:
            new = now_by_id[record[key]]  # advancing never removes history
            if new != record:
                assert new["updated_at"] > record["updated_at"], (name, record[key])
        assert len(after[name]) >= len(before[name])
    assert len(after["cycle"]) == len(before["cycle"]) + 3


def test_members_joined_before_the_start_and_advancing_keeps_old_records():
    emu = Emulator(EmulatorConfig(seed=7, days=30, now=NOW))
    assert emu.dataset.join_date == NOW.date() - timedelta(days=30)
    oldest = emu.dataset.records("cycle")[-1]
    emu.advance(timedelta(days=10))
    assert emu.dataset.records("cycle")[-1]["id"] == oldest["id"]
    assert NOW - timedelta(days=31) < parse_ts(oldest["start"]) < NOW - timedelta(days=29)


def test_two_years_of_one_member_generate_in_well_under_a_second():
    # CPU time of this process, not wall time: other jobs on a busy CI machine must not fail this.
    started = time.process_time()
    dataset = Dataset(EmulatorConfig(seed=11, days=800, now=NOW), Clock(NOW))
    counts = {name: len(dataset.records(name)) for name in TIMELINE_ENDPOINTS}
    elapsed = time.process_time() - started
    assert counts["cycle"] == 801
    assert elapsed < 1.0, f"generating and rendering 800 days took {elapsed:.2f} s"


def test_recovery_noise_is_the_documented_floor_of_any_forecast(readonly_emu):
    sleeps = [s for s in readonly_emu.dataset.records("sleep") if not s["nap"]]
    drivers = [readonly_emu.dataset.recovery_drivers(local_wake_date(s)) for s in sleeps]
    residuals = [d.recovery_score - d.expected for d in drivers if 1 < d.recovery_score < 99]
    assert abs(statistics.pstdev(residuals) - RECOVERY_NOISE_SD) < 0.15 * RECOVERY_NOISE_SD
    assert abs(statistics.mean(residuals)) < 1.0


def test_served_recoveries_are_the_models_scores(readonly_emu):
    sleeps = {s["id"]: s for s in readonly_emu.dataset.records("sleep")}
    for recovery in readonly_emu.dataset.records("recovery")[:60]:
        if recovery["score_state"] != "SCORED":
            continue
        drivers = readonly_emu.dataset.recovery_drivers(local_wake_date(sleeps[recovery["sleep_id"]]))
        # Automatic re-scores move a few recoveries by a few points.
        assert abs(recovery["score"]["recovery_score"] - drivers.recovery_score) <= 5


def test_recovery_is_lower_after_high_strain_days(readonly_emu):
    cycles = {c["id"]: c for c in readonly_emu.dataset.records("cycle")}
    pairs = []
    for recovery in readonly_emu.dataset.records("recovery"):
        previous = cycles.get(recovery["cycle_id"] - 1000)  # cycle ids step by 1000 per day
        if recovery["score_state"] == "SCORED" and previous and previous["score_state"] == "SCORED":
            pairs.append((previous["score"]["strain"], recovery["score"]["recovery_score"]))
    hard = [r for s, r in pairs if s > 15]
    easy = [r for s, r in pairs if s < 9]
    assert len(hard) > 20
    assert len(easy) > 20
    assert statistics.mean(easy) - statistics.mean(hard) > 8


def test_the_hrv_baseline_drifts_slowly(readonly_emu):
    start = NOW.date() - timedelta(days=300)
    baselines = [readonly_emu.dataset.recovery_drivers(start + timedelta(days=i)).hrv_baseline for i in range(300)]
    steps = [abs(b - a) for a, b in pairwise(baselines)]
    assert max(steps) < 1.5, "day-to-day drift is slow"
    assert max(baselines) - min(baselines) > 5, "but it does drift over months"


def _year(effects: RecoveryEffects) -> list:
    physiology = Physiology(13, effects)
    first = date(2025, 1, 1).toordinal()
    return [physiology.recovery(0, ordinal) for ordinal in range(first, first + 365)]


def test_a_planted_strain_penalty_costs_k_points_per_strain_point_above_14():
    plain, planted = _year(RecoveryEffects()), _year(RecoveryEffects(high_strain_penalty=3.0))
    hard_days = 0
    for before, after in zip(plain, planted, strict=True):
        assert after.previous_strain == before.previous_strain  # behaviour never depends on the effects
        assert after.sleep_performance == before.sleep_performance
        assert after.noise == before.noise
        lost = 3.0 * max(0.0, before.previous_strain - 14.0)
        assert after.expected == pytest.approx(before.expected - lost)
        hard_days += lost > 0
    assert hard_days > 30


def test_without_behaviour_effects_recovery_follows_only_the_hrv_baseline():
    physiology = Physiology(13, NO_BEHAVIOUR_EFFECTS)
    for drivers in _year(NO_BEHAVIOUR_EFFECTS):
        mu = physiology.member(0).hrv_mu
        assert drivers.expected == pytest.approx(58 + 1.4 * (drivers.hrv_baseline - mu))


def test_a_planted_bedtime_effect_moves_recovery_per_hour_of_later_sleep():
    plain, planted = _year(RecoveryEffects()), _year(RecoveryEffects(bedtime_slope=-4.0))
    physiology = Physiology(13)
    first = date(2025, 1, 1).toordinal()
    for offset, (before, after) in enumerate(zip(plain, planted, strict=True)):
        later_h = physiology.night(0, first + offset).onset_local_h - physiology.member(0).onset_mean_h
        assert after.expected == pytest.approx(before.expected - 4.0 * later_h)


def test_the_served_records_carry_the_configured_effects():
    config = EmulatorConfig(seed=13, days=60, now=NOW, recovery_effects=RecoveryEffects(high_strain_penalty=5.0))
    planted = Dataset(config, Clock(NOW))
    plain = Dataset(EmulatorConfig(seed=13, days=60, now=NOW), Clock(NOW))
    assert planted.records("workout") == plain.records("workout")
    assert planted.records("cycle") == plain.records("cycle")
    lower = [
        (a["score"]["recovery_score"], b["score"]["recovery_score"])
        for a, b in zip(planted.records("recovery"), plain.records("recovery"), strict=True)
        if a["score_state"] == "SCORED"
    ]
    assert all(a <= b for a, b in lower)
    assert sum(a < b for a, b in lower) > 5


def _of_day(emu: Emulator, day: date) -> dict[str, list[dict]]:
    """Records of physiological day ``day``: cycle ids embed its ordinal; activities follow their cycle."""
    cycles = {c["id"] for c in emu.dataset.records("cycle") if c["id"] // 1000 == day.toordinal()}
    sleeps = [s for s in emu.dataset.records("sleep") if s["cycle_id"] in cycles]
    return {
        "cycle": [c for c in emu.dataset.records("cycle") if c["id"] in cycles],
        "sleep": sleeps,
        "recovery": [r for r in emu.dataset.records("recovery") if r["cycle_id"] in cycles],
    }


_IDS = ("id", "cycle_id", "sleep_id", "v1_id")


def _without_ids(record: dict) -> str:
    return json.dumps({k: v for k, v in record.items() if k not in _IDS}, sort_keys=True)


def test_on_strap_off_days_nothing_exists_and_days_around_are_untouched():
    off = (NOW.date() - timedelta(days=9), NOW.date() - timedelta(days=8))
    plain = Emulator(EmulatorConfig(seed=7, days=30, now=NOW))
    gapped = Emulator(EmulatorConfig(seed=7, days=30, now=NOW, strap_off_days=off))
    for day in off:
        assert all(not records for records in _of_day(gapped, day).values())
        assert all(records for records in _of_day(plain, day).values())
    kept = {w["id"] for w in gapped.dataset.records("workout")}
    assert {w["id"] for w in plain.dataset.records("workout")} - kept == {
        plain.dataset.physiology.activity_uuid(0, "workout", day.toordinal(), w.index)
        for day in off
        for w in plain.dataset.physiology.daytime(0, day.toordinal()).workouts
    }
    for day in (off[0] - timedelta(days=1), off[-1] + timedelta(days=1)):
        assert _of_day(gapped, day) == _of_day(plain, day)


def test_a_duplicated_day_repeats_its_times_and_scores_under_new_ids():
    twice = NOW.date() - timedelta(days=6)
    plain = Emulator(EmulatorConfig(seed=7, days=30, now=NOW))
    doubled = Emulator(EmulatorConfig(seed=7, days=30, now=NOW, duplicated_days=(twice,)))
    originals, both = _of_day(plain, twice), _of_day(doubled, twice)
    for name, records in originals.items():
        copies = [r for r in both[name] if r not in records]
        assert len(copies) == len(records) > 0, name
        assert sorted(map(_without_ids, copies)) == sorted(map(_without_ids, records))
    copy_cycles = {c["id"] for c in both["cycle"]} - {c["id"] for c in originals["cycle"]}
    copy_sleeps = {s["id"] for s in both["sleep"]} - {s["id"] for s in originals["sleep"]}
    assert {s["cycle_id"] for s in both["sleep"] if s["id"] in copy_sleeps} == copy_cycles
    assert all(r["sleep_id"] in copy_sleeps for r in both["recovery"] if r["cycle_id"] in copy_cycles)
    assert len(doubled.dataset.records("workout")) - len(plain.dataset.records("workout")) == len(
        plain.dataset.physiology.daytime(0, twice.toordinal()).workouts
    )

"""The emulator's physiology as a behaviour calendar, straight from ``Physiology`` (no HTTP, no dbt).

:func:`emulated_behaviour_daily` gives the frame :func:`whoop_dagster.defs.ml.behaviour.behaviour_daily`
builds from the marts, with the same columns and day semantics, for any seed and planted
effects in milliseconds rather than the tens of seconds a ``dbt build`` takes. Tests that need
many seeds (the recovery drivers' false-positive rate) use it; at least one test of each
analysis runs on marts built by dbt from the emulator's records, which this mirrors.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_COLUMNS
from whoop_dagster.emulator.config import RecoveryEffects
from whoop_dagster.emulator.data import MS_PER_MINUTE, Physiology

if TYPE_CHECKING:
    import pandas as pd

#: The effects the analysis tests plant in a world where otherwise no behaviour moves recovery:
#: each strain point above 14 costs 4 points of next-day recovery, each hour of later sleep onset 8.
PLANTED = RecoveryEffects(strain_slope=0.0, sleep_performance_slope=0.0, high_strain_penalty=4.0, bedtime_slope=-8.0)

#: Zone indexes (0-5) of each intensity band, as ``behaviour.INTENSITY_ZONES`` names them.
_BAND_ZONES: dict[str, tuple[int, ...]] = {
    "low_intensity_minutes": (1, 2),
    "moderate_intensity_minutes": (3,),
    "high_intensity_minutes": (4, 5),
}


def emulated_behaviour_daily(
    seed: int,
    days: int,
    effects: RecoveryEffects | None = None,
    last_day: date = date(2026, 3, 15),
    user_id: int = 1,
) -> pd.DataFrame:
    """Member 0 of ``seed`` over the ``days`` days ending on ``last_day``, as ``behaviour_daily`` shapes them."""
    import pandas as pd

    physiology = Physiology(seed, effects)
    first = last_day.toordinal() - days + 1
    rows = []
    for ordinal in range(first, first + days):
        night, day = physiology.night(0, ordinal), physiology.daytime(0, ordinal)
        score = physiology.sleep_score(0, ordinal)
        need = sum(score["sleep_needed"].values()) / MS_PER_MINUTE
        total_sleep = night.asleep_ms / MS_PER_MINUTE
        recovery = physiology.recovery_score(0, ordinal, calibrating=False, old_strap=False)
        row = {
            "user_id": user_id,
            "date_day": date.fromordinal(ordinal),
            "day_strain": day.strain,
            "workout_minutes": sum(w.end_ms - w.start_ms for w in day.workouts) / MS_PER_MINUTE,
            **{
                band: sum(w.zones_ms[zone] for w in day.workouts for zone in zones) / MS_PER_MINUTE
                for band, zones in _BAND_ZONES.items()
            },
            "nap_minutes": day.nap.asleep_ms / MS_PER_MINUTE if day.nap else 0.0,
            "is_current_cycle": False,
            "bedtime_hour": night.onset_local_h,
            "in_bed_minutes": night.in_bed_ms / MS_PER_MINUTE,
            "total_sleep_minutes": total_sleep,
            "sleep_performance_pct": float(score["sleep_performance_percentage"]),
            "sleep_consistency_pct": float(score["sleep_consistency_percentage"]),
            "sleep_efficiency_pct": score["sleep_efficiency_percentage"],
            "sleep_need_minutes": need,
            "sleep_debt_minutes": score["sleep_needed"]["need_from_sleep_debt_milli"] / MS_PER_MINUTE,
            "sleep_balance_minutes": total_sleep - need,
            "recovery_score": float(recovery["recovery_score"]),
            "hrv_rmssd_milli": recovery["hrv_rmssd_milli"],
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["date_day"] = pd.to_datetime(frame["date_day"])
    return frame.loc[:, ["user_id", "date_day", *BEHAVIOUR_COLUMNS]]

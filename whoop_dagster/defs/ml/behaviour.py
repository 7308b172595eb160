"""A member's days as the behaviour models see them: load, training intensity, naps, sleep, recovery (pandas only).

Day ``d``'s night is the main sleep that ended on the morning of ``d``; its load accumulates after that sleep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from whoop_dagster.defs.ml.features import complete_calendar

if TYPE_CHECKING:
    import pandas as pd

    from whoop_dagster.warehouse import WarehouseResource

#: The dbt models read (asset keys ``["marts", <name>]``).
BEHAVIOUR_MARTS: tuple[str, ...] = ("fact_daily_strain", "fact_workout", "fact_sleep", "fact_daily_recovery")

#: Heart-rate zones per intensity band: easy (1-2), moderate (3), hard (4-5); zone 0 is not training.
INTENSITY_ZONES: dict[str, tuple[str, ...]] = {
    "low_intensity_minutes": ("zone_one_minutes", "zone_two_minutes"),
    "moderate_intensity_minutes": ("zone_three_minutes",),
    "high_intensity_minutes": ("zone_four_minutes", "zone_five_minutes"),
}

#: Lower-case SQL that DuckDB and Snowflake both run; unscored records carry no measures.
BEHAVIOUR_QUERIES: dict[str, str] = {
    "fact_daily_strain": (
        "select user_id, date_day, day_strain, workout_minutes, is_current_cycle from marts.fact_daily_strain"
    ),
    "fact_workout": "select user_id, date_day, "
    + ", ".join(f"sum({' + '.join(zones)}) as {band}" for band, zones in INTENSITY_ZONES.items())
    + " from marts.fact_workout where is_scored group by user_id, date_day",
    "fact_sleep": (
        "select user_id, date_day, is_nap, start_at_local, in_bed_minutes, total_sleep_minutes, "
        "sleep_performance_pct, sleep_consistency_pct, sleep_efficiency_pct, sleep_need_minutes, "
        "sleep_debt_minutes, sleep_balance_minutes from marts.fact_sleep where is_scored"
    ),
    "fact_daily_recovery": (
        "select user_id, date_day, recovery_score, hrv_rmssd_milli from marts.fact_daily_recovery where is_scored"
    ),
}

#: Measures of day ``d``'s night (its main sleep).
NIGHT_COLUMNS: tuple[str, ...] = (
    "bedtime_hour",
    "in_bed_minutes",
    "total_sleep_minutes",
    "sleep_performance_pct",
    "sleep_consistency_pct",
    "sleep_efficiency_pct",
    "sleep_need_minutes",
    "sleep_debt_minutes",
    "sleep_balance_minutes",
)

#: Every column of :func:`behaviour_daily` after the keys ``user_id``, ``date_day``.
BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "day_strain",
    "workout_minutes",
    *INTENSITY_ZONES,
    "nap_minutes",
    "is_current_cycle",
    *NIGHT_COLUMNS,
    "recovery_score",
    "hrv_rmssd_milli",
)


@dataclass(frozen=True)
class BehaviourMarts:
    """The rows of :data:`BEHAVIOUR_QUERIES`, by mart."""

    strain: pd.DataFrame
    workouts: pd.DataFrame
    sleep: pd.DataFrame
    recovery: pd.DataFrame


def read_behaviour_marts(warehouse: WarehouseResource) -> BehaviourMarts:
    """Read the four marts through the warehouse resource (DuckDB or Snowflake)."""
    return BehaviourMarts(
        strain=warehouse.read_frame(BEHAVIOUR_QUERIES["fact_daily_strain"]),
        workouts=warehouse.read_frame(BEHAVIOUR_QUERIES["fact_workout"]),
        sleep=warehouse.read_frame(BEHAVIOUR_QUERIES["fact_sleep"]),
        recovery=warehouse.read_frame(BEHAVIOUR_QUERIES["fact_daily_recovery"]),
    )


def bedtime_hour(local_start: pd.Series) -> pd.Series:
    """Local sleep onset in hours after midnight, negative before it: 23:15 -> -0.75, 00:30 -> 0.5.

    Onsets from noon on count as the evening before, so a night owl's 01:00 and an early
    sleeper's 21:30 sit on one continuous scale.
    """
    import pandas as pd

    start = pd.to_datetime(local_start)
    hours = start.dt.hour + start.dt.minute / 60.0 + start.dt.second / 3600.0
    return hours.where(hours < 12, hours - 24).astype("float64")


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    frame = frame.copy()
    frame["user_id"] = frame["user_id"].astype("int64")
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.normalize()
    for column in frame.columns.difference(["user_id", "date_day", "is_nap", "is_current_cycle", "start_at_local"]):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def behaviour_daily(marts: BehaviourMarts) -> pd.DataFrame:
    """One row per member and calendar day, first to last day in the marts; gaps stay missing.

    Columns: ``user_id``, ``date_day`` and :data:`BEHAVIOUR_COLUMNS`. Workout and nap minutes
    are 0 on a day whose cycle was loaded without any (a rest day), missing when the day
    itself is missing. The night is the day's longest non-nap scored sleep.
    """
    strain = _keyed(marts.strain).drop_duplicates(["user_id", "date_day"], keep="last")
    workouts = _keyed(marts.workouts)
    recovery = _keyed(marts.recovery).drop_duplicates(["user_id", "date_day"], keep="last")
    sleep = _keyed(marts.sleep)
    is_nap = sleep["is_nap"].fillna(False).astype(bool)
    nights = sleep.loc[~is_nap].assign(bedtime_hour=lambda frame: bedtime_hour(frame["start_at_local"]))
    nights = (
        nights.sort_values(["user_id", "date_day", "in_bed_minutes"])
        .drop_duplicates(["user_id", "date_day"], keep="last")
        .loc[:, ["user_id", "date_day", *NIGHT_COLUMNS]]
    )
    naps = (
        sleep.loc[is_nap]
        .groupby(["user_id", "date_day"], as_index=False)["total_sleep_minutes"]
        .sum()
        .rename(columns={"total_sleep_minutes": "nap_minutes"})
    )

    daily = (
        complete_calendar(strain, recovery, nights)
        .merge(strain, on=["user_id", "date_day"], how="left")
        .merge(workouts, on=["user_id", "date_day"], how="left")
        .merge(naps, on=["user_id", "date_day"], how="left")
        .merge(nights, on=["user_id", "date_day"], how="left")
        .merge(recovery, on=["user_id", "date_day"], how="left")
    )
    loaded = daily["is_current_cycle"].notna()  # the day's cycle is in the marts
    for column in ("workout_minutes", *INTENSITY_ZONES, "nap_minutes"):
        daily[column] = daily[column].where(~loaded, daily[column].fillna(0.0))
    daily["is_current_cycle"] = daily["is_current_cycle"].astype("boolean").fillna(False).astype(bool)
    return (
        daily.loc[:, ["user_id", "date_day", *BEHAVIOUR_COLUMNS]]
        .sort_values(["user_id", "date_day"])
        .reset_index(drop=True)
    )

"""Daily features for the recovery forecast and the anomaly flags, from the dbt marts (pandas only).

A feature row of day ``t`` is made on the evening of ``t``: it uses the marts' rows of days ``<= t`` only,
each series on a complete daily calendar, so "the last 7 days" are calendar days even across gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from whoop_dagster.warehouse import WarehouseResource

#: The dbt models the ML assets read (asset keys ``["marts", <name>]``).
MART_MODELS: tuple[str, ...] = ("fact_daily_recovery", "fact_daily_strain", "fact_sleep")

#: The columns read from each mart (keys first, then measures).
RECOVERY_COLUMNS: tuple[str, ...] = (
    "user_id",
    "date_day",
    "recovery_score",
    "hrv_rmssd_milli",
    "resting_heart_rate",
    "spo2_pct",
    "skin_temp_celsius",
    "respiratory_rate",
    "sleep_performance_pct",
)
STRAIN_COLUMNS: tuple[str, ...] = ("user_id", "date_day", "day_strain", "workout_minutes", "is_current_cycle")
SLEEP_COLUMNS: tuple[str, ...] = (
    "user_id",
    "date_day",
    "is_nap",
    "in_bed_minutes",
    "total_sleep_minutes",
    "sleep_efficiency_pct",
    "sleep_debt_minutes",
    "sleep_balance_minutes",
)

#: Row filters per mart: unscored recoveries and sleeps carry no measures.
_MART_FILTERS: dict[str, str] = {"fact_daily_recovery": "is_scored", "fact_daily_strain": "", "fact_sleep": "is_scored"}


def mart_query(model: str) -> str:
    """The query of one mart: plain lower-case SQL that DuckDB and Snowflake both run."""
    columns = {
        "fact_daily_recovery": RECOVERY_COLUMNS,
        "fact_daily_strain": STRAIN_COLUMNS,
        "fact_sleep": SLEEP_COLUMNS,
    }[model]
    where = f" where {_MART_FILTERS[model]}" if _MART_FILTERS[model] else ""
    return f"select {', '.join(columns)} from marts.{model}{where}"


#: The recovery's physiological measures, for the anomaly flags.
VITALS: tuple[str, ...] = ("hrv_rmssd_milli", "resting_heart_rate", "respiratory_rate", "skin_temp_celsius", "spo2_pct")

#: Features of a day-``t`` row (all known on the evening of ``t``), in model order.
FEATURES: tuple[str, ...] = (
    # today's recovery and its recent trend
    "recovery_score",
    "recovery_mean_3d",
    "recovery_mean_7d",
    "recovery_mean_28d",
    # today's load and the recent load
    "day_strain",
    "strain_mean_3d",
    "strain_mean_7d",
    "workout_minutes",
    "nap_minutes",
    # last night's sleep
    "sleep_performance_pct",
    "sleep_performance_mean_7d",
    "sleep_efficiency_pct",
    "total_sleep_minutes",
    "sleep_debt_minutes",
    "sleep_balance_minutes",
    # autonomic state against the personal baseline
    "hrv_deviation",
    "hrv_trend_deviation",
    "rhr_deviation",
    "rhr_trend_deviation",
    "respiratory_rate_deviation",
    # the calendar of the day forecast
    "target_day_of_week",
    "target_is_weekend",
)

#: Personal baselines: rolling windows (days, ending at ``t``) and the minimum observations in them.
BASELINE_DAYS = 28
LONG_BASELINE_DAYS = 90
BASELINE_MIN_DAYS = 7


@dataclass(frozen=True)
class MartFrames:
    """The rows read from the three marts."""

    recovery: pd.DataFrame
    strain: pd.DataFrame
    sleep: pd.DataFrame


def read_marts(warehouse: WarehouseResource) -> MartFrames:
    """Read the marts through the warehouse resource (DuckDB or Snowflake)."""
    return MartFrames(
        recovery=warehouse.read_frame(mart_query("fact_daily_recovery")),
        strain=warehouse.read_frame(mart_query("fact_daily_strain")),
        sleep=warehouse.read_frame(mart_query("fact_sleep")),
    )


def _typed(frame: pd.DataFrame, numeric: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    frame = frame.copy()
    frame["user_id"] = frame["user_id"].astype("int64")
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.normalize()
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def daily_frame(marts: MartFrames) -> pd.DataFrame:
    """One row per member and calendar day from the first to the last day in the marts.

    Days without a mart row are kept with missing values (a strap left off, an unscorable
    night), so shifts and rolling windows below count calendar days, not rows.
    """
    recovery = _typed(marts.recovery[list(RECOVERY_COLUMNS)], RECOVERY_COLUMNS[2:]).drop_duplicates(
        ["user_id", "date_day"], keep="last"
    )
    strain = _typed(marts.strain[list(STRAIN_COLUMNS)], STRAIN_COLUMNS[2:4]).drop_duplicates(
        ["user_id", "date_day"], keep="last"
    )
    sleep = _typed(marts.sleep[list(SLEEP_COLUMNS)], SLEEP_COLUMNS[3:])
    is_nap = sleep["is_nap"].fillna(False).astype(bool)
    # The day's main sleep: the longest non-nap sleep of its cycle day; naps add up per day.
    main_sleep = (
        sleep.loc[~is_nap]
        .sort_values(["user_id", "date_day", "in_bed_minutes"])
        .drop_duplicates(["user_id", "date_day"], keep="last")
        .drop(columns=["is_nap", "in_bed_minutes"])
    )
    naps = (
        sleep.loc[is_nap]
        .groupby(["user_id", "date_day"], as_index=False)["total_sleep_minutes"]
        .sum()
        .rename(columns={"total_sleep_minutes": "nap_minutes"})
    )

    calendar = complete_calendar(recovery, strain, main_sleep)
    daily = (
        calendar.merge(recovery, on=["user_id", "date_day"], how="left")
        .merge(strain, on=["user_id", "date_day"], how="left")
        .merge(main_sleep, on=["user_id", "date_day"], how="left")
        .merge(naps, on=["user_id", "date_day"], how="left")
    )
    # A day whose cycle was loaded but had no nap napped zero minutes.
    daily["nap_minutes"] = daily["nap_minutes"].where(daily["day_strain"].isna(), daily["nap_minutes"].fillna(0.0))
    daily["is_current_cycle"] = daily["is_current_cycle"].fillna(False).astype(bool)
    return daily.sort_values(["user_id", "date_day"]).reset_index(drop=True)


def complete_calendar(*frames: pd.DataFrame) -> pd.DataFrame:
    """Every ``(user_id, date_day)`` from each member's first to last day in ``frames`` (typed keys)."""
    import pandas as pd

    keys = pd.concat([frame[["user_id", "date_day"]] for frame in frames], ignore_index=True)
    if keys.empty:
        return pd.DataFrame({"user_id": pd.Series(dtype="int64"), "date_day": pd.Series(dtype="datetime64[ns]")})
    spans = keys.groupby("user_id")["date_day"].agg(["min", "max"])
    return pd.concat(
        [
            pd.DataFrame({"user_id": user_id, "date_day": pd.date_range(span["min"], span["max"], freq="D")})
            for user_id, span in spans.iterrows()
        ],
        ignore_index=True,
    )


def vitals_daily(recovery: pd.DataFrame) -> pd.DataFrame:
    """The scored recoveries' vitals on a complete calendar per member (for the anomaly flags)."""
    typed = _typed(recovery[["user_id", "date_day", *VITALS]], VITALS).drop_duplicates(
        ["user_id", "date_day"], keep="last"
    )
    calendar = complete_calendar(typed)
    return calendar.merge(typed, on=["user_id", "date_day"], how="left").sort_values(["user_id", "date_day"])


def trailing(series: pd.Series, by: pd.Series, days: int, how: str = "mean", min_periods: int = 1) -> pd.Series:
    """A trailing window of ``days`` calendar rows ending at (and including) each row, per member."""
    rolled = series.groupby(by).rolling(days, min_periods=min_periods)
    result = getattr(rolled, how)()
    return result.reset_index(level=0, drop=True).sort_index()


def _expanding_mean(series: pd.Series, by: pd.Series, min_periods: int) -> pd.Series:
    result = series.groupby(by).expanding(min_periods=min_periods).mean()
    return result.reset_index(level=0, drop=True).sort_index()


def build_features(daily: pd.DataFrame) -> pd.DataFrame:
    """Feature rows: one per member and day ``t``, with the target (recovery of ``t + 1``) when known.

    Columns: ``user_id``, ``feature_date`` (``t``), ``target_date`` (``t + 1``), every name in
    :data:`FEATURES`, ``target`` (NaN when not known yet), and the two baselines'
    predictions ``persistence`` (tomorrow = the latest recovery) and ``mean_7d`` (mean of the
    last 7 days' recoveries).
    """
    import numpy as np
    import pandas as pd

    d = daily.sort_values(["user_id", "date_day"]).reset_index(drop=True)
    by = d["user_id"]
    out = pd.DataFrame({"user_id": d["user_id"], "feature_date": d["date_day"]})
    out["target_date"] = out["feature_date"] + pd.Timedelta(days=1)

    recovery = d["recovery_score"]
    out["recovery_score"] = recovery
    out["recovery_mean_3d"] = trailing(recovery, by, 3)
    out["recovery_mean_7d"] = trailing(recovery, by, 7)
    out["recovery_mean_28d"] = trailing(recovery, by, BASELINE_DAYS)

    out["day_strain"] = d["day_strain"]
    out["strain_mean_3d"] = trailing(d["day_strain"], by, 3)
    out["strain_mean_7d"] = trailing(d["day_strain"], by, 7)
    out["workout_minutes"] = d["workout_minutes"]
    out["nap_minutes"] = d["nap_minutes"]

    out["sleep_performance_pct"] = d["sleep_performance_pct"]
    out["sleep_performance_mean_7d"] = trailing(d["sleep_performance_pct"], by, 7)
    for column in ("sleep_efficiency_pct", "total_sleep_minutes", "sleep_debt_minutes", "sleep_balance_minutes"):
        out[column] = d[column]

    hrv, rhr = d["hrv_rmssd_milli"], d["resting_heart_rate"]
    hrv_baseline = trailing(hrv, by, BASELINE_DAYS, min_periods=BASELINE_MIN_DAYS)
    hrv_long = _expanding_mean(hrv, by, min_periods=BASELINE_MIN_DAYS)
    rhr_baseline = trailing(rhr, by, BASELINE_DAYS, min_periods=BASELINE_MIN_DAYS)
    rhr_long = _expanding_mean(rhr, by, min_periods=BASELINE_MIN_DAYS)
    # Relative for HRV (its scale differs a lot between people), absolute bpm for RHR.
    out["hrv_deviation"] = hrv / hrv_baseline - 1.0
    out["hrv_trend_deviation"] = trailing(hrv, by, 7) / hrv_long - 1.0
    out["rhr_deviation"] = rhr - rhr_baseline
    out["rhr_trend_deviation"] = trailing(rhr, by, 7) - rhr_long
    respiratory = d["respiratory_rate"]
    out["respiratory_rate_deviation"] = respiratory - trailing(
        respiratory, by, BASELINE_DAYS, min_periods=BASELINE_MIN_DAYS
    )

    out["target_day_of_week"] = out["target_date"].dt.dayofweek.astype("float64")
    out["target_is_weekend"] = (out["target_day_of_week"] >= 5).astype("float64")

    # The label: the recovery of the next calendar day of the same member.
    next_day = d.groupby("user_id")["recovery_score"].shift(-1)
    next_date = d.groupby("user_id")["date_day"].shift(-1)
    out["target"] = next_day.where(next_date == out["target_date"])

    # Baselines, known on the evening of t as well.
    out["persistence"] = recovery.groupby(by).ffill()
    out["mean_7d"] = out["recovery_mean_7d"]
    out["is_current_cycle"] = d["is_current_cycle"]
    return out.replace([np.inf, -np.inf], np.nan)


def labelled_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Rows whose target is known and that have at least one recovery behind them (for training and scoring)."""
    usable = features["target"].notna() & features["persistence"].notna()
    return features.loc[usable].sort_values(["feature_date", "user_id"]).reset_index(drop=True)


def forecast_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Per member, the row of the latest day: it forecasts the first day whose recovery is not known yet.

    Only when that day's target is still unknown (it always is for the latest calendar day).
    """
    latest = features.sort_values("feature_date").groupby("user_id").tail(1)
    latest = latest.loc[latest["target"].isna() & latest["persistence"].notna()]
    return latest.sort_values("user_id").reset_index(drop=True)

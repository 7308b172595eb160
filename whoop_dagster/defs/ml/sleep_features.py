"""Features for the coming night's sleep performance, known the evening before (pandas only).

Rows have the shape the recovery forecast's backtest expects, so the same backtest, fit and gate apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whoop_dagster.defs.ml.features import trailing

if TYPE_CHECKING:
    import pandas as pd

#: Features of a day-``t`` row, in model order.
SLEEP_FEATURES: tuple[str, ...] = (
    # today's load
    "day_strain",
    "workout_minutes",
    "high_intensity_minutes",
    "nap_minutes",
    "strain_mean_3d",
    # last night and the recent nights
    "sleep_performance_pct",
    "sleep_performance_mean_3d",
    "sleep_performance_mean_7d",
    "sleep_performance_trend",
    "total_sleep_minutes",
    "sleep_need_minutes",
    "sleep_debt_minutes",
    "sleep_balance_minutes",
    "sleep_balance_sum_7d",
    "sleep_efficiency_pct",
    "recovery_score",
    # bedtimes and their consistency
    "bedtime_hour",
    "bedtime_mean_7d",
    "bedtime_sd_7d",
    "sleep_consistency_pct",
    # the calendar of the coming night
    "target_day_of_week",
    "target_is_weekend",
)

#: Nights in the bedtime spread and the performance trend (a week of habits).
WEEK = 7


def build_sleep_features(daily: pd.DataFrame) -> pd.DataFrame:
    """One row per member and day ``t`` with :data:`SLEEP_FEATURES`, the label and both baselines.

    ``daily`` is :func:`whoop_dagster.defs.ml.behaviour.behaviour_daily`'s calendar. Columns:
    ``user_id``, ``feature_date`` (``t``), ``target_date`` (``t + 1``, the night's date in
    the marts), the features, ``target`` (night ``t + 1``'s performance, NaN while unknown),
    ``persistence`` (the latest night's performance) and ``mean_7d`` (mean of the last 7
    nights), and ``is_current_cycle`` (day ``t`` still running: its strain is partial).
    """
    import numpy as np
    import pandas as pd

    d = daily.sort_values(["user_id", "date_day"]).reset_index(drop=True)
    by = d["user_id"]
    out = pd.DataFrame({"user_id": d["user_id"], "feature_date": d["date_day"]})
    out["target_date"] = out["feature_date"] + pd.Timedelta(days=1)

    for column in ("day_strain", "workout_minutes", "high_intensity_minutes", "nap_minutes"):
        out[column] = d[column]
    out["strain_mean_3d"] = trailing(d["day_strain"], by, 3)

    performance = d["sleep_performance_pct"]
    out["sleep_performance_pct"] = performance
    out["sleep_performance_mean_3d"] = trailing(performance, by, 3)
    out["sleep_performance_mean_7d"] = trailing(performance, by, WEEK)
    # Recent nights against the week: positive when sleep has been improving.
    out["sleep_performance_trend"] = out["sleep_performance_mean_3d"] - out["sleep_performance_mean_7d"]
    for column in (
        "total_sleep_minutes",
        "sleep_need_minutes",
        "sleep_debt_minutes",
        "sleep_balance_minutes",
        "sleep_efficiency_pct",
        "recovery_score",
        "bedtime_hour",
        "sleep_consistency_pct",
    ):
        out[column] = d[column]
    out["sleep_balance_sum_7d"] = trailing(d["sleep_balance_minutes"], by, WEEK, how="sum")
    out["bedtime_mean_7d"] = trailing(d["bedtime_hour"], by, WEEK)
    out["bedtime_sd_7d"] = trailing(d["bedtime_hour"], by, WEEK, how="std", min_periods=3)

    out["target_day_of_week"] = out["target_date"].dt.dayofweek.astype("float64")
    out["target_is_weekend"] = (out["target_day_of_week"] >= 5).astype("float64")

    # The label: the performance of the next calendar night of the same member.
    next_night = d.groupby("user_id")["sleep_performance_pct"].shift(-1)
    next_date = d.groupby("user_id")["date_day"].shift(-1)
    out["target"] = next_night.where(next_date == out["target_date"])

    out["persistence"] = performance.groupby(by).ffill()
    out["mean_7d"] = out["sleep_performance_mean_7d"]
    out["is_current_cycle"] = d["is_current_cycle"]
    return out.replace([np.inf, -np.inf], np.nan)

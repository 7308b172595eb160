"""The anomaly method on real marts: quiet on ordinary days, loud on a simulated fever, never looking ahead."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from whoop_dagster.defs.ml.anomalies import BASELINE_MIN_DAYS, robust_z_scores
from whoop_dagster.defs.ml.features import mart_query, vitals_daily
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse

#: A mild fever as wearables see it: warmer skin, faster resting heart and breathing, lower HRV.
FEVER = {"skin_temp_celsius": +0.9, "resting_heart_rate": +5.0, "respiratory_rate": +0.8}
FEVER_HRV_FACTOR = 0.7


@pytest.fixture(scope="module")
def recovery(built_marts: Path) -> pd.DataFrame:
    return DuckDBWarehouse(path=str(built_marts)).read_frame(mart_query("fact_daily_recovery"))


def _with_fever(recovery: pd.DataFrame, days: list[pd.Timestamp]) -> pd.DataFrame:
    sick = recovery.copy()
    mask = pd.to_datetime(sick["date_day"]).isin(days)
    for vital, shift in FEVER.items():
        sick.loc[mask, vital] = pd.to_numeric(sick.loc[mask, vital]) + shift
    sick.loc[mask, "hrv_rmssd_milli"] = pd.to_numeric(sick.loc[mask, "hrv_rmssd_milli"]) * FEVER_HRV_FACTOR
    return sick


def _fever_days(recovery: pd.DataFrame) -> list[pd.Timestamp]:
    """One isolated fever day every 12 days once the baseline has filled (so fevers never share a baseline)."""
    days = sorted(pd.to_datetime(recovery["date_day"]).unique())
    return [pd.Timestamp(day) for day in days[BASELINE_MIN_DAYS + 40 :: 12]]


def test_ordinary_days_are_rarely_flagged(recovery):
    scores = robust_z_scores(vitals_daily(recovery))
    assert scores["is_anomaly"].mean() < 0.03


def test_a_simulated_fever_is_flagged_on_most_days_it_happens(recovery):
    fever_days = _fever_days(recovery)
    assert len(fever_days) >= 8
    scores = robust_z_scores(vitals_daily(_with_fever(recovery, fever_days)))
    on_fever_days = scores.loc[pd.to_datetime(scores["date_day"]).isin(fever_days)]
    assert on_fever_days["is_anomaly"].mean() >= 0.5
    others = scores.loc[~pd.to_datetime(scores["date_day"]).isin(fever_days)]
    assert others["is_anomaly"].mean() < 0.03


def test_a_day_is_scored_only_against_the_days_before_it(recovery):
    """Changing the future leaves every earlier day's score unchanged."""
    cut = sorted(pd.to_datetime(recovery["date_day"]).unique())[120]
    future_changed = recovery.copy()
    later = pd.to_datetime(future_changed["date_day"]) > cut
    future_changed.loc[later, "resting_heart_rate"] = pd.to_numeric(future_changed.loc[later, "resting_heart_rate"]) + 9
    before = robust_z_scores(vitals_daily(recovery))
    after = robust_z_scores(vitals_daily(future_changed))
    earlier = pd.to_datetime(before["date_day"]) <= cut
    pd.testing.assert_frame_equal(before.loc[earlier], after.loc[earlier])

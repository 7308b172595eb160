"""The behaviour calendar from dbt-built marts, and the emulator-side mirror the many-seed tests use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_COLUMNS, bedtime_hour, behaviour_daily, read_behaviour_marts
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.support.emulated_days import emulated_behaviour_daily

#: The emulator seed behind the ``built_marts`` fixture (conftest.py).
SEED = 11


@pytest.fixture(scope="module")
def daily(built_marts: Path) -> pd.DataFrame:
    return behaviour_daily(read_behaviour_marts(DuckDBWarehouse(path=str(built_marts))))


def test_one_calendar_row_per_day_and_rest_days_have_zero_workout_minutes(daily):
    assert daily[["user_id", "date_day"]].duplicated().sum() == 0
    assert (daily["date_day"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert len(daily) > 150
    rest = daily.loc[daily["workout_minutes"] == 0]
    assert len(rest) > 20
    assert (rest[["low_intensity_minutes", "moderate_intensity_minutes", "high_intensity_minutes"]] == 0).all().all()
    trained = daily.loc[daily["workout_minutes"] > 0]
    zone_minutes = trained[["low_intensity_minutes", "moderate_intensity_minutes", "high_intensity_minutes"]].sum(1)
    assert (zone_minutes <= trained["workout_minutes"] + 0.01).all()  # zone 0 is not training


def test_bedtimes_before_midnight_are_negative_hours():
    starts = pd.Series(pd.to_datetime(["2025-01-01 23:15:00", "2025-01-02 00:30:00", "2025-01-02 21:30:00"]))
    assert bedtime_hour(starts).tolist() == [-0.75, 0.5, -2.5]


def test_the_emulated_calendar_agrees_with_the_marts_dbt_builds(daily):
    """The many-seed tests use emulator-side calendars: they must be what the marts would give."""
    last_day = daily["date_day"].max().date()
    emulated = emulated_behaviour_daily(SEED, len(daily), last_day=last_day).set_index("date_day")
    built = daily.set_index("date_day")
    days = built.index.intersection(emulated.index)
    assert len(days) == len(daily)
    for column in BEHAVIOUR_COLUMNS:
        if column == "is_current_cycle":
            continue
        ours = pd.to_numeric(emulated.loc[days, column]).astype(float)
        theirs = pd.to_numeric(built.loc[days, column]).astype(float)
        compared = theirs.notna()
        # WHOOP's late re-scores (4 % of records) and unscorable records move a few days
        agree = np.isclose(ours[compared], theirs[compared], atol=0.02, rtol=0.001)
        assert agree.mean() > 0.9, column

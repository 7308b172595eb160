"""The sleep-performance forecast: features without look-ahead, backtested, gated, written to ``ml``."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from whoop_dagster.defs.ml import sleep_forecast
from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_MARTS, behaviour_daily, read_behaviour_marts
from whoop_dagster.defs.ml.checks import GATE_CHECK_NAME, ForecastGateFailed
from whoop_dagster.defs.ml.features import forecast_rows, labelled_rows
from whoop_dagster.defs.ml.model import build_estimator, run_backtest
from whoop_dagster.defs.ml.sleep_features import SLEEP_FEATURES, build_sleep_features
from whoop_dagster.defs.ml.sleep_forecast import (
    SleepForecastConfig,
    build_sleep_estimator,
    build_sleep_forecast_asset,
    sleep_model_spec,
)
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster_tests.support.marts import copy_marts

NODE = "ml__sleep_performance_forecast"


@pytest.fixture(scope="module")
def daily(built_marts: Path) -> pd.DataFrame:
    return behaviour_daily(read_behaviour_marts(DuckDBWarehouse(path=str(built_marts))))


def materialize_sleep(path: Path, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [build_sleep_forecast_asset("duckdb")],
        resources={
            "warehouse": DuckDBWarehouse(path=str(path)),
            WAREHOUSE_IO_MANAGER_KEY: DuckDBWarehouseIOManager(database=str(path)),
        },
        raise_on_error=raise_on_error,
    )


def read_forecast(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select * from ml.sleep_performance_forecast order by all").df()


def test_a_nights_features_never_see_that_night_or_later(daily):
    """Changing night t + 1 and everything after leaves every feature of day t (and before) unchanged."""
    cut = daily["date_day"].sort_values().iloc[120]
    changed = daily.copy()
    later = changed["date_day"] > cut
    for column in ("sleep_performance_pct", "total_sleep_minutes", "bedtime_hour", "day_strain", "nap_minutes"):
        changed.loc[later, column] = changed.loc[later, column] * 0.5 + 3
    before, after = build_sleep_features(daily), build_sleep_features(changed)
    known = before["feature_date"] <= cut
    columns = ["user_id", "feature_date", "target_date", *SLEEP_FEATURES, "persistence", "mean_7d"]
    pd.testing.assert_frame_equal(before.loc[known, columns], after.loc[known, columns])
    # only the label of the last known evening moves: it is the night after the cut
    moved = before.loc[known, "target"].ne(after.loc[known, "target"]) & before.loc[known, "target"].notna()
    assert before.loc[known].loc[moved, "feature_date"].tolist() == [cut]


def test_the_label_is_the_next_nights_performance(daily):
    features = build_sleep_features(daily).set_index("feature_date")
    nights = daily.set_index("date_day")["sleep_performance_pct"]
    day = features.index[100]
    assert features.at[day, "target"] == nights[day + pd.Timedelta(days=1)]
    assert features.at[day, "persistence"] == nights[day]
    assert features.at[day, "mean_7d"] == pytest.approx(nights[day - pd.Timedelta(days=6) : day].mean())


def test_the_model_beats_persistence_and_the_7_night_mean(daily):
    spec = sleep_model_spec(SleepForecastConfig())
    backtest = run_backtest(
        labelled_rows(build_sleep_features(daily)), lambda: build_sleep_estimator(spec), spec.features
    )
    assert len(backtest.scored) > 100
    assert backtest.model.mae < min(scores.mae for scores in backtest.baselines.values())
    assert backtest.scored["predicted"].between(0, 100).all()


def test_predictions_above_100_percent_are_capped(daily):
    spec = sleep_model_spec(SleepForecastConfig())
    labelled = labelled_rows(build_sleep_features(daily))
    # a night far better than anything seen: the plain ridge extrapolates past 100 %, the model stops there
    best = labelled.iloc[[0]].copy()
    best[["total_sleep_minutes", "sleep_performance_pct", "sleep_balance_minutes"]] *= 3
    x = best.set_index(["user_id", "feature_date", "target_date"])[list(spec.features)]
    plain = build_estimator(spec).fit(
        labelled.set_index(["user_id", "feature_date", "target_date"])[list(spec.features)], labelled["target"]
    )
    capped = build_sleep_estimator(spec).fit(
        labelled.set_index(["user_id", "feature_date", "target_date"])[list(spec.features)], labelled["target"]
    )
    assert plain.predict(x)[0] > 100
    assert capped.predict(x)[0] == 100


def test_the_table_holds_every_night_and_tonights_forecast(marts_duckdb):
    result = materialize_sleep(marts_duckdb)
    assert result.success

    table = read_forecast(marts_duckdb)
    with duckdb.connect(str(marts_duckdb), read_only=True) as connection:
        last_day, nights = connection.execute(
            "select max(date_day), count(distinct date_day) from marts.fact_sleep where is_scored and not is_nap"
        ).fetchone()
    forecast = table.loc[table["is_forecast"]]
    assert len(forecast) == 1
    assert forecast["actual"].isna().all()
    assert pd.Timestamp(forecast["date_day"].iloc[0]) == pd.Timestamp(last_day) + pd.Timedelta(days=1)
    history = table.loc[~table["is_forecast"]]
    assert history["date_day"].is_unique
    assert len(history) >= nights - 2  # every night with a night before it
    scored = history.dropna(subset=["predicted"])
    assert len(scored) > 100
    assert scored["predicted"].between(0, 100).all()
    np.testing.assert_allclose(scored["error"], scored["predicted"] - scored["actual"])
    assert table["model_version"].unique().tolist() == [
        sleep_forecast.SLEEP_TARGET.version_of(sleep_model_spec(SleepForecastConfig()))
    ]


def test_the_metadata_reports_scores_baselines_and_a_picture(marts_duckdb):
    result = materialize_sleep(marts_duckdb)
    metadata = result.asset_materializations_for_node(NODE)[0].metadata

    assert metadata["mae"].value < min(
        metadata["baseline_mae/persistence"].value, metadata["baseline_mae/mean_7d"].value
    )
    assert set(metadata["feature_importances"].value) == set(SLEEP_FEATURES)
    assert "data:image/png;base64," in metadata["predicted_vs_actual"].value
    assert "predicted vs actual sleep performance" in metadata["predicted_vs_actual"].value
    assert "noise_floor/mae" not in metadata  # the recovery noise floor says nothing about sleep
    schema = metadata["dagster/column_schema"].value
    assert [column.name for column in schema.columns] == list(read_forecast(marts_duckdb).columns)
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [(GATE_CHECK_NAME, True)]


class WrongSign:
    """A model that learned the wrong sign: it mirrors a good model's predictions around the mean."""

    def __init__(self) -> None:
        self.inner = build_sleep_estimator(sleep_model_spec(SleepForecastConfig()))

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> WrongSign:
        self.inner.fit(x, y)
        self.mean = float(np.mean(y))
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.clip(2 * self.mean - self.inner.predict(x), 0, 100)


class BelowZero(WrongSign):
    """A good model shifted below 0 %."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.inner.predict(x) - 95


@pytest.mark.parametrize(
    ("model", "reason"),
    [(WrongSign, "does not beat"), (BelowZero, "outside 0-100")],
    ids=["worse_than_baseline", "out_of_range"],
)
def test_a_failing_gate_keeps_the_published_sleep_forecast(marts_duckdb, monkeypatch, model, reason):
    assert materialize_sleep(marts_duckdb).success
    published = read_forecast(marts_duckdb)

    monkeypatch.setattr(sleep_forecast, "sleep_estimator_factory", lambda spec: model)
    result = materialize_sleep(marts_duckdb, raise_on_error=False)

    assert not result.success
    assert ForecastGateFailed.__name__ in result.failure_data_for_node(NODE).error.to_string()
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == (GATE_CHECK_NAME, False)
    assert reason in check.description
    assert not result.asset_materializations_for_node(NODE)
    pd.testing.assert_frame_equal(read_forecast(marts_duckdb), published)


def test_the_forecast_row_uses_the_latest_evening(daily):
    upcoming = forecast_rows(build_sleep_features(daily))
    assert len(upcoming) == 1
    assert upcoming["feature_date"].iloc[0] == daily["date_day"].max()
    assert bool(upcoming["is_current_cycle"].iloc[0])  # today's strain is still accumulating


@pytest.mark.snowflake
def test_on_snowflake_the_sleep_forecast_matches_duckdb(marts_duckdb, tmp_path, monkeypatch):
    from whoop_dagster_tests.support.snowflake import fakesnow_in_process, snowflake_deployment_resources

    with fakesnow_in_process(tmp_path, new_tables_in_schema="ml") as settings:
        resources = snowflake_deployment_resources(monkeypatch, settings)
        copy_marts(marts_duckdb, resources["warehouse"], BEHAVIOUR_MARTS)
        result = dg.materialize([build_sleep_forecast_asset("snowflake")], resources=resources)
        assert result.success
        on_snowflake = resources["warehouse"].read_frame("select * from ml.sleep_performance_forecast")

    on_duckdb = materialize_sleep(marts_duckdb).asset_materializations_for_node(NODE)[0].metadata
    metadata = result.asset_materializations_for_node(NODE)[0].metadata
    assert metadata["mae"].value == pytest.approx(on_duckdb["mae"].value)
    assert on_snowflake["is_forecast"].astype(bool).sum() == 1
    assert len(on_snowflake) == len(read_forecast(marts_duckdb))

"""The ML assets materialized for real: DuckDB marts built by dbt in, ``ml.*`` tables and metadata out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from whoop_dagster.defs.ml import assets as ml_assets
from whoop_dagster.defs.ml.assets import ANOMALIES_KEY, FORECAST_KEY, build_ml_assets
from whoop_dagster.defs.ml.checks import GATE_CHECK_NAME, ForecastGateFailed
from whoop_dagster.defs.ml.features import MART_MODELS
from whoop_dagster.defs.ml.model import ModelSpec, build_estimator
from whoop_dagster.environment import Deployment
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY, build_resources
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster_tests.support.marts import copy_marts
from whoop_dagster_tests.support.snowflake import fakesnow_in_process


def materialize_ml(path: Path, *, raise_on_error: bool = True, selection: Any = None) -> dg.ExecuteInProcessResult:
    """Both ML assets (or ``selection``) against the DuckDB file ``path``, as the local deployment runs them."""
    return dg.materialize(
        build_ml_assets("duckdb"),
        selection=selection,
        resources={
            "warehouse": DuckDBWarehouse(path=str(path)),
            WAREHOUSE_IO_MANAGER_KEY: DuckDBWarehouseIOManager(database=str(path)),
        },
        raise_on_error=raise_on_error,
    )


def read_table(path: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"select * from ml.{name} order by all").df()


def test_the_forecast_table_holds_every_backtested_day_and_tomorrow(marts_duckdb):
    result = materialize_ml(marts_duckdb)
    assert result.success

    table = read_table(marts_duckdb, "recovery_forecast")
    with duckdb.connect(str(marts_duckdb), read_only=True) as connection:
        last_day, recoveries = connection.execute(
            "select max(date_day), count(*) from marts.fact_daily_recovery where is_scored"
        ).fetchone()
    forecast = table.loc[table["is_forecast"]]
    assert len(forecast) == 1
    assert forecast["actual"].isna().all()
    assert pd.Timestamp(forecast["date_day"].iloc[0]) > pd.Timestamp(last_day)
    history = table.loc[~table["is_forecast"]]
    assert len(history) >= recoveries - 2  # every labelled day (the first one has no yesterday)
    scored = history.dropna(subset=["predicted"])
    assert len(scored) > 100
    assert scored["predicted"].between(0, 100).all()
    np.testing.assert_allclose(scored["error"], scored["predicted"] - scored["actual"])
    assert table["model_version"].unique().tolist() == [ModelSpec().version]
    assert history["date_day"].is_unique


def test_the_forecast_reports_scores_baselines_and_a_picture(marts_duckdb):
    result = materialize_ml(marts_duckdb)
    metadata = result.asset_materializations_for_node("ml__recovery_forecast")[0].metadata

    for key in ("mae", "rmse", "r2", "baseline_mae/persistence", "baseline_mae/mean_7d", "training_rows"):
        assert key in metadata, key
    baselines = (metadata["baseline_mae/persistence"].value, metadata["baseline_mae/mean_7d"].value)
    assert metadata["mae"].value < min(baselines)
    assert metadata["training_rows"].value > 150
    importances = metadata["feature_importances"].value
    assert set(importances) == set(ModelSpec().features)
    assert metadata["model_params"].value["model"] == "ridge"
    assert metadata["predicted_vs_actual"].value.startswith("![")
    assert "data:image/png;base64," in (metadata["predicted_vs_actual"].value)
    # demo mode (no WHOOP_CLIENT_ID): how far above the emulator's noise the errors are
    assert metadata["noise_floor/mae"].value > 0
    assert metadata["mae_above_noise_floor"].value == pytest.approx(
        metadata["mae"].value - metadata["noise_floor/mae"].value
    )
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks if c.asset_key == FORECAST_KEY] == [(GATE_CHECK_NAME, True)]


def test_the_anomaly_table_flags_a_sick_day_and_names_the_vitals_behind_it(marts_duckdb):
    # A day like the start of an infection: HRV halves, resting heart rate up 12 bpm.
    with duckdb.connect(str(marts_duckdb)) as connection:
        (sick_day,) = connection.execute(
            "select date_day from marts.fact_daily_recovery where is_scored order by date_day limit 1 offset 150"
        ).fetchone()
        connection.execute(
            "update marts.fact_daily_recovery set hrv_rmssd_milli = hrv_rmssd_milli / 2, "
            "resting_heart_rate = resting_heart_rate + 12 where date_day = ?",
            [sick_day],
        )
    result = materialize_ml(marts_duckdb, selection=[ANOMALIES_KEY])

    table = read_table(marts_duckdb, "recovery_anomalies")
    assert len(table) > 150
    assert table[["user_id", "date_day"]].duplicated().sum() == 0
    flagged = table.loc[table["is_anomaly"]]
    assert pd.Timestamp(sick_day) in set(pd.to_datetime(flagged["date_day"]))
    sick = table.loc[pd.to_datetime(table["date_day"]) == pd.Timestamp(sick_day)].iloc[0]
    assert sick["hrv_z"] < -3
    assert sick["rhr_z"] > 3
    assert "hrv" in sick["drivers"]
    assert "rhr" in sick["drivers"]
    assert sick["anomaly_score"] == table["anomaly_score"].max()
    assert len(flagged) < 0.05 * len(table)  # ordinary days stay unflagged
    assert table.loc[~table["is_anomaly"], "drivers"].fillna("").eq("").all()
    (check,) = result.get_asset_check_evaluations()
    assert check.passed


class Sabotaged:
    """A model that learned the wrong sign: it predicts the opposite of what a good model would."""

    def __init__(self) -> None:
        self.inner = build_estimator(ModelSpec())

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> Sabotaged:
        self.inner.fit(x, y)
        self.mean = float(np.mean(y))
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.clip(2 * self.mean - self.inner.predict(x), 0, 100)


class OutOfRange(Sabotaged):
    """A good model whose predictions are scaled past 100 on good days."""

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.inner.predict(x) * 1.6


@pytest.mark.parametrize(
    ("model", "reason"),
    [(Sabotaged, "does not beat"), (OutOfRange, "outside 0-100")],
    ids=["worse_than_baseline", "out_of_range"],
)
def test_a_failing_gate_keeps_the_published_forecast(marts_duckdb, monkeypatch, model, reason):
    assert materialize_ml(marts_duckdb, selection=[FORECAST_KEY]).success
    published = read_table(marts_duckdb, "recovery_forecast")

    monkeypatch.setattr(ml_assets, "estimator_factory", lambda spec: model)
    result = materialize_ml(marts_duckdb, selection=[FORECAST_KEY], raise_on_error=False)

    assert not result.success
    failure = result.failure_data_for_node("ml__recovery_forecast").error
    assert failure.cls_name == ForecastGateFailed.__name__ or ForecastGateFailed.__name__ in failure.to_string()
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == (GATE_CHECK_NAME, False)
    assert reason in check.description
    assert not result.asset_materializations_for_node("ml__recovery_forecast")
    pd.testing.assert_frame_equal(read_table(marts_duckdb, "recovery_forecast"), published)


def _snowflake_resources(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> dict[str, Any]:
    """The resources a prod deployment builds from its ``SNOWFLAKE_*`` settings (the demo WHOOP API aside)."""
    for name, value in {**settings, "WHOOP_DEPLOYMENT": "prod"}.items():
        monkeypatch.setenv(name, value)
    return build_resources(Deployment.PROD)


@pytest.mark.snowflake
def test_on_snowflake_the_ml_tables_land_in_the_deployment_database(marts_duckdb, tmp_path, monkeypatch):
    from dagster_snowflake_pandas import SnowflakePandasIOManager

    fakesnow_files = tmp_path / "fakesnow"
    fakesnow_files.mkdir()
    with fakesnow_in_process(fakesnow_files, new_tables_in_schema="ml") as settings:
        resources = _snowflake_resources(monkeypatch, settings)
        assert isinstance(resources[WAREHOUSE_IO_MANAGER_KEY], SnowflakePandasIOManager)
        copy_marts(marts_duckdb, resources["warehouse"], MART_MODELS)
        first = dg.materialize(build_ml_assets("snowflake"), resources=resources)
        assert first.success
    # A second run replaces the tables (their first write skipped the delete of a missing table).
    with fakesnow_in_process(fakesnow_files) as settings:
        resources = _snowflake_resources(monkeypatch, settings)
        result = dg.materialize(build_ml_assets("snowflake"), resources=resources)
        assert result.success
        warehouse = resources["warehouse"]
        forecast = warehouse.read_frame("select * from ml.recovery_forecast")
        scored = warehouse.read_frame("select count(*) as n from marts.fact_daily_recovery where is_scored")
        assert len(forecast) >= scored["n"].iloc[0] - 1
        assert forecast["is_forecast"].sum() == 1
        assert pd.to_numeric(forecast["predicted"]).dropna().between(0, 100).all()
        loaded = dg.Definitions(assets=build_ml_assets("snowflake"), resources=resources).load_asset_value(
            FORECAST_KEY, instance=dg.DagsterInstance.ephemeral()
        )
        assert len(loaded) == len(forecast)
        assert set(loaded.columns) >= {"date_day", "predicted", "is_forecast"}
        anomalies = warehouse.read_frame("select count(*) as n from ml.recovery_anomalies")
        assert anomalies["n"].iloc[0] > 150
    on_duckdb = materialize_ml(marts_duckdb).asset_materializations_for_node("ml__recovery_forecast")[0]
    on_snowflake = result.asset_materializations_for_node("ml__recovery_forecast")[0]
    assert on_snowflake.metadata["mae"].value == pytest.approx(on_duckdb.metadata["mae"].value)

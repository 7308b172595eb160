"""A failing error-severity dbt test is a blocking asset check: it stops everything downstream.

A raw recovery with score 140 fails ``accepted_range`` on ``stg_recovery.recovery_score``; in
the same run, the dbt models below it and an ML asset downstream of the marts do not run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.sample_data import SampleData, build_sample_data, load_raw

FACT = dg.AssetKey(["marts", "fact_daily_recovery"])
FORECAST = dg.AssetKey(["ml", "recovery_forecast"])


@dg.asset(key=FORECAST, deps=[FACT])
def recovery_forecast() -> None:
    """Stands in for the ML asset that reads the recovery mart."""


def _with_impossible_recovery_score() -> SampleData:
    data = build_sample_data()
    data.by_id("recovery", cycle_id=93_845_003)["score"]["recovery_score"] = 140
    return data


@pytest.fixture
def bad_raw_duckdb(duckdb_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    load_raw(DuckDBWarehouse(path=str(duckdb_path)), _with_impossible_recovery_score())
    for name, value in duckdb_env(duckdb_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    return duckdb_path


def test_a_recovery_score_of_140_fails_a_blocking_check_halting_downstream(bad_raw_duckdb: Path):
    dbt_models = build_dbt_assets("local")
    result = dg.materialize(
        [dbt_models, recovery_forecast],
        resources={"dbt": build_dbt_resource("local")},
        raise_on_error=False,
    )

    assert not result.success
    failed_checks = {
        evaluation.check_name: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    }
    [range_check] = [name for name in failed_checks if name.startswith("accepted_range_stg_recovery_recovery_score")]
    assert failed_checks[range_check].asset_key == dg.AssetKey(["staging", "stg_recovery"])
    assert failed_checks[range_check].blocking

    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(["staging", "stg_recovery"]) in materialized  # built, then its test failed
    assert dg.AssetKey(["staging", "stg_cycle"]) in materialized  # unrelated branches still build
    downstream = {
        FACT,
        FORECAST,
        dg.AssetKey(["intermediate", "int_cycle_days"]),
        dg.AssetKey(["marts", "fact_daily_strain"]),
        dg.AssetKey(["metrics", "recovery_momentum"]),
    }
    assert not downstream & materialized
    started = {event.step_key for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_START}
    assert "ml__recovery_forecast" not in started

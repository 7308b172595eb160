"""The dbt layer's definitions, read from the prepared manifest (no dbt run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from whoop_dagster.defs.dbt.assets import WAREHOUSE_POOL, build_dbt_assets
from whoop_dagster.defs.dbt.automation import AUTOMATION_SENSOR_NAME
from whoop_dagster.defs.dbt.definitions import build_dbt_definitions
from whoop_dagster.defs.dbt.project import dbt_project

FIXED_MODEL_KEYS = {
    "staging/stg_cycle",
    "staging/stg_sleep",
    "staging/stg_recovery",
    "staging/stg_workout",
    "staging/stg_user_profile",
    "staging/stg_body_measurement",
    "marts/dim_date",
    "marts/dim_user",
    "marts/dim_sport",
    "marts/fact_daily_recovery",
    "marts/fact_daily_strain",
    "marts/fact_sleep",
    "marts/fact_workout",
    "marts/dim_sleep_stage",
    "marts/fact_sleep_stage",
    "marts/dim_activity_type",
    "metrics/recovery_momentum",
    "metrics/strain_recovery_efficiency",
    "metrics/training_readiness_gap",
    "metrics/recovery_volatility",
    "metrics/autonomic_balance",
    "metrics/seasonal_adaptation",
}
RAW_KEYS = {f"raw/{name}" for name in ("cycle", "sleep", "recovery", "workout", "user_profile", "body_measurement")}


@pytest.fixture(scope="module")
def dbt_defs() -> dg.Definitions:
    return build_dbt_definitions("local")


@pytest.fixture(scope="module")
def dbt_assets_def() -> dg.AssetsDefinition:
    return build_dbt_assets("local")


def _manifest() -> dict:
    return json.loads(dbt_project("local").manifest_path.read_text())


def test_every_fixed_model_name_is_an_asset_keyed_by_its_layer(dbt_assets_def: dg.AssetsDefinition):
    keys = {key.to_user_string() for key in dbt_assets_def.keys}
    assert keys >= FIXED_MODEL_KEYS


def test_the_staging_models_depend_on_the_raw_asset_keys(dbt_assets_def: dg.AssetsDefinition):
    upstream = {dep.to_user_string() for dep in dbt_assets_def.dependency_keys} - {
        key.to_user_string() for key in dbt_assets_def.keys
    }
    assert upstream == RAW_KEYS
    deps_of_stg_cycle = {
        dep.asset_key.to_user_string()
        for spec in dbt_assets_def.specs
        if spec.key == dg.AssetKey(["staging", "stg_cycle"])
        for dep in spec.deps
    }
    assert deps_of_stg_cycle == {"raw/cycle"}


def test_every_dbt_asset_has_a_freshness_policy_and_automation_condition(dbt_assets_def: dg.AssetsDefinition):
    for spec in dbt_assets_def.specs:
        assert isinstance(spec.freshness_policy, dg.FreshnessPolicy), spec.key
        assert spec.automation_condition is not None, spec.key


def test_every_dbt_asset_is_grouped_by_layer_owned_and_kinded(dbt_assets_def: dg.AssetsDefinition):
    for spec in dbt_assets_def.specs:
        assert spec.group_name == spec.key.path[0], spec.key
        assert spec.tags["whoop/layer"] == spec.key.path[0], spec.key
        assert spec.owners, spec.key
        assert spec.kinds == {"dbt", "duckdb"}, spec.key


def test_nodes_without_parents_rebuild_daily_and_the_rest_follow_parents(dbt_assets_def: dg.AssetsDefinition):
    labels = {spec.key.to_user_string(): spec.automation_condition.get_label() for spec in dbt_assets_def.specs}
    assert labels["marts/dim_date"] == labels["staging/sport_catalog"] == "daily_root"
    assert labels["staging/stg_cycle"] == labels["metrics/recovery_momentum"] == "eager_over_raw_partitions"


def test_the_snowflake_targets_are_kinded_snowflake():
    specs = build_dbt_assets("ci").specs
    assert all(spec.kinds == {"dbt", "snowflake"} for spec in specs)


def test_error_severity_tests_are_blocking_checks_and_warn_ones_are_not(
    dbt_assets_def: dg.AssetsDefinition,
):
    manifest = _manifest()
    severity = {
        node["name"]: node["config"]["severity"].lower()
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
    }
    checks = {spec.name: spec.blocking for spec in dbt_assets_def.check_specs}
    assert checks, "dbt tests must become asset checks"
    for name, blocking in checks.items():
        assert blocking == (severity[name] == "error"), name
    recovery_range = next(name for name in checks if name.startswith("accepted_range_stg_recovery_recovery_score"))
    assert checks[recovery_range] is True


def test_every_model_and_column_is_documented():
    manifest = _manifest()
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        assert node["description"].strip(), node["unique_id"]
        if node["resource_type"] == "model":
            assert "grain" in node["description"].lower(), f"{node['unique_id']} must state its grain"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{node['unique_id']}.{column['name']}"


def test_the_dbt_step_runs_in_the_warehouse_writer_pool(dbt_assets_def: dg.AssetsDefinition):
    from whoop_dagster.defs.raw.assets import WAREHOUSE_POOL as RAW_POOL

    assert WAREHOUSE_POOL == RAW_POOL == "warehouse_writer"
    assert dbt_assets_def.op.pool == WAREHOUSE_POOL


def test_definitions_hold_the_dbt_resource_and_a_running_automation_sensor(dbt_defs: dg.Definitions):
    dbt = (dbt_defs.resources or {})["dbt"]
    assert isinstance(dbt, DbtCliResource)
    assert dbt.target == "local"
    assert Path(dbt.project_dir) == dbt_project("local").project_dir
    [sensor] = dbt_defs.sensors or []
    assert sensor.name == AUTOMATION_SENSOR_NAME
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_importing_the_dbt_package_reads_no_manifest_and_builds_nothing():
    probe = (
        "import whoop_dagster.defs.dbt.definitions; from dagster_dbt.dbt_manifest import read_manifest_path; "
        "print(read_manifest_path.cache_info().currsize)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "0"  # no manifest read: nothing built


def test_the_dbt_assets_are_built_once_per_target():
    assert build_dbt_assets("local") is build_dbt_assets("local")
    assert build_dbt_assets("ci") is not build_dbt_assets("local")

"""The code location loads, validates and exposes the fixed names, without heavy imports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_", "SNOWFLAKE_", "DAGSTER_CLOUD"))}
    return {**env, **extra}


def test_dagster_definitions_validate_passes(tmp_path: Path):
    # A fresh clone has no DAGSTER_HOME yet; `dagster definitions validate` needs an existing one.
    result = subprocess.run(
        [DAGSTER, "definitions", "validate", "-m", "whoop_dagster.definitions"],
        cwd=ROOT,
        env=_clean_env(DAGSTER_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_fixed_raw_asset_keys_and_sensors_exist():
    from whoop_dagster.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"raw/cycle", "raw/sleep", "raw/recovery", "raw/workout", "raw/user_profile", "raw/body_measurement"} <= keys
    sensors = {sensor.name for sensor in defs.sensors or []}
    assert {"cycle_sensor", "sleep_sensor", "recovery_sensor", "workout_sensor"} <= sensors


def test_raw_collections_are_daily_single_run_backfills_in_the_writer_pool():
    from whoop_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in ("cycle", "sleep", "recovery", "workout"):
        node = graph.get(dg.AssetKey(["raw", name]))
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.group_name == "whoop_raw"
    for name in ("user_profile", "body_measurement"):
        assert graph.get(dg.AssetKey(["raw", name])).partitions_def is None


def test_every_upstream_of_every_asset_is_defined_here():
    """No dependency resolves to an undefined (external) asset: e.g. the ML assets' marts are dbt models."""
    from whoop_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    for key in materializable:
        assert graph.get(key).parent_keys <= materializable, key.to_user_string()
    assert {
        dg.AssetKey(["ml", "recovery_forecast"]),
        dg.AssetKey(["ml", "recovery_anomalies"]),
        dg.AssetKey(["ml", "sleep_performance_forecast"]),
        dg.AssetKey(["analysis", "recovery_drivers"]),
    } <= materializable


def test_the_analytics_assets_have_their_fixed_keys_groups_and_io_manager():
    from whoop_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    for key, group in ((("ml", "sleep_performance_forecast"), "ml"), (("analysis", "recovery_drivers"), "analysis")):
        node = graph.get(dg.AssetKey(list(key)))
        assert node.group_name == group
        assert node.assets_def.get_io_manager_key_for_asset_key(node.key) == "warehouse_io_manager"
        assert node.metadata["dagster/table_name"] == ".".join(key)


#: What a step may need but loading must not import: the ML stack always; the Snowflake
#: libraries and pandas in local mode (the warehouse resource and the IO manager's type handler
#: import them when a step connects, stores or loads). Prod's ``SnowflakePandasIOManager``
#: imports the Snowflake libraries and pandas at load.
ML_STACK = ["sklearn", "scipy", "matplotlib"]
SNOWFLAKE_LIBRARIES = ["dagster_snowflake", "dagster_snowflake_pandas", "snowflake.connector"]
LOCAL_AT_STEP_ONLY = [*SNOWFLAKE_LIBRARIES, "pandas", "dagster_duckdb_pandas"]
#: `@dbt_assets` needs dagster-dbt at load, and dagster-dbt imports dbt-core.
DBT_LIBRARIES = ["dagster_dbt", "dbt"]

LOAD_PROBE = f"""
import json, sys
import whoop_dagster.definitions
watched = {ML_STACK + LOCAL_AT_STEP_ONLY + DBT_LIBRARIES!r}
warehouse = whoop_dagster.definitions.defs.resources["warehouse"].kind
print(json.dumps({{"loaded": [m for m in watched if m in sys.modules], "warehouse": warehouse}}))
"""


#: Dummy deployment settings: loading the prod definitions reads them but connects to nothing.
PROD_ENV = {
    "WHOOP_DEPLOYMENT": "prod",
    "SNOWFLAKE_ACCOUNT": "test-account",
    "SNOWFLAKE_USER": "test_user",
    "SNOWFLAKE_PASSWORD": "test-password",
    "SNOWFLAKE_DATABASE": "WHOOP",
    "WHOOP_CLIENT_ID": "test-client",
    "WHOOP_CLIENT_SECRET": "test-secret",
    "WHOOP_REFRESH_TOKEN": "test-refresh",
}


@pytest.mark.parametrize("mode", ["local", "prod"])
def test_loading_imports_dagster_dbt_but_not_what_only_steps_need(mode: str):
    """scikit-learn, scipy and matplotlib never load before a step needs them; Snowflake and pandas not locally."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE],
        cwd=ROOT,
        env=_clean_env(**(PROD_ENV if mode == "prod" else {})),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["warehouse"] == ("snowflake" if mode == "prod" else "duckdb")
    assert set(DBT_LIBRARIES) <= set(loaded["loaded"])
    assert not set(ML_STACK) & set(loaded["loaded"])
    if mode == "local":
        assert not set(LOCAL_AT_STEP_ONLY) & set(loaded["loaded"])

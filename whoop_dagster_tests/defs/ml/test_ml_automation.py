"""The ML assets refresh when the marts change, once per change, and never over a failing mart check.

Evaluated by Dagster's own automation engine over the real ML asset definitions, with
stand-in marts (materializing the real dbt models here would test dbt, not the condition).
"""

# No `from __future__ import annotations`: Dagster reads the asset function's `context` annotation.
import dagster as dg

from whoop_dagster.defs.ml.assets import ANOMALIES_KEY, FORECAST_KEY, build_ml_assets
from whoop_dagster.defs.ml.features import MART_MODELS
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager

MART_KEYS = [dg.AssetKey(["marts", model]) for model in MART_MODELS]
RECOVERY_CHECK = dg.AssetCheckKey(dg.AssetKey(["marts", "fact_daily_recovery"]), "recovery_in_range")


def _marts(recovery_check_passes: bool) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        specs=[dg.AssetSpec(key) for key in MART_KEYS],
        check_specs=[dg.AssetCheckSpec(RECOVERY_CHECK.name, asset=RECOVERY_CHECK.asset_key, blocking=True)],
        can_subset=True,
    )
    def marts(context: dg.AssetExecutionContext):
        for key in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=key)
        if RECOVERY_CHECK in context.selected_asset_check_keys:
            yield dg.AssetCheckResult(
                asset_key=RECOVERY_CHECK.asset_key, check_name=RECOVERY_CHECK.name, passed=recovery_check_passes
            )

    return [marts]


def _definitions(marts: list[dg.AssetsDefinition], tmp_path) -> dg.Definitions:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "whoop.duckdb"))  # never opened: nothing runs here
    return dg.Definitions(
        assets=[*marts, *build_ml_assets("duckdb")],
        resources={"warehouse": warehouse, WAREHOUSE_IO_MANAGER_KEY: DuckDBWarehouseIOManager(database=warehouse.path)},
    )


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[dg.AssetKey]:
    return {key for key in (FORECAST_KEY, ANOMALIES_KEY) if result.get_num_requested(key)}


def _pretend_ml_ran(instance: dg.DagsterInstance) -> None:
    for key in (FORECAST_KEY, ANOMALIES_KEY):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))


def test_the_ml_assets_run_once_after_the_marts_and_again_when_they_change(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    marts = _marts(recovery_check_passes=True)
    defs = _definitions(marts, tmp_path)

    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert _requested(before) == set()  # the marts were never built: nothing to learn from

    assert dg.materialize(marts, instance=instance).success
    built = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    assert _requested(built) == {FORECAST_KEY, ANOMALIES_KEY}

    _pretend_ml_ran(instance)
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=built.cursor)
    assert _requested(settled) == set()

    assert dg.materialize(marts, instance=instance).success
    changed = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    assert _requested(changed) == {FORECAST_KEY, ANOMALIES_KEY}


def test_a_failing_blocking_check_on_a_mart_holds_the_ml_assets_back(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    good = _marts(recovery_check_passes=True)
    defs = _definitions(good, tmp_path)
    assert dg.materialize(good, instance=instance).success
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    _pretend_ml_ran(instance)
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert _requested(settled) == set()

    bad = _marts(recovery_check_passes=False)
    dg.materialize(bad, instance=instance, raise_on_error=False)
    held = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    assert FORECAST_KEY not in _requested(held)
    assert ANOMALIES_KEY not in _requested(held)

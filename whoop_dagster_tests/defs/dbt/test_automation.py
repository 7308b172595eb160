"""Automation conditions, evaluated by Dagster's own engine over small stand-in graphs.

An unpartitioned model downstream of daily-partitioned raw assets is what this project has.
These tests prove why plain ``AutomationCondition.eager()`` is not enough there and that the
project's condition runs models when raw days land, waits for unpartitioned parents, and
holds back while a parent's blocking check is failing.
"""

from __future__ import annotations

import dagster as dg

from whoop_dagster.defs.dbt.automation import (
    AUTOMATION_SENSOR_NAME,
    build_automation_sensor,
    dbt_model_condition,
    dbt_root_condition,
)

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
RAW_DAY = dg.AssetKey(["raw", "cycle"])
RAW_PROFILE = dg.AssetKey(["raw", "user_profile"])


def _graph(condition: dg.AutomationCondition, *, profile_check_passes: bool = True) -> list[object]:
    @dg.asset(key=RAW_DAY, partitions_def=DAYS)
    def raw_cycle() -> None: ...

    @dg.asset(key=RAW_PROFILE, check_specs=[dg.AssetCheckSpec("profile_ok", asset=RAW_PROFILE, blocking=True)])
    def raw_profile() -> dg.MaterializeResult:
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=profile_check_passes)])

    @dg.asset(key=["staging", "stg_cycle"], deps=[RAW_DAY, RAW_PROFILE], automation_condition=condition)
    def stg_cycle() -> None: ...

    return [raw_cycle, raw_profile, stg_cycle]


def _materialize_some_days(assets: list[object], instance: dg.DagsterInstance, days: list[str]) -> None:
    for day in days:
        assert dg.materialize([assets[0]], partition_key=day, instance=instance).success


def test_plain_eager_never_runs_a_model_while_any_raw_day_is_missing():
    instance = dg.DagsterInstance.ephemeral()
    assets = _graph(dg.AutomationCondition.eager())
    defs = dg.Definitions(assets=assets)
    dg.materialize([assets[1]], instance=instance)
    _materialize_some_days(assets, instance, ["2024-01-05", "2024-01-06"])  # other days never loaded
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0


def test_the_project_condition_runs_a_model_on_a_new_raw_day_despite_gaps():
    instance = dg.DagsterInstance.ephemeral()
    assets = _graph(dbt_model_condition([RAW_DAY]))
    defs = dg.Definitions(assets=assets)
    dg.materialize([assets[1]], instance=instance)
    _materialize_some_days(assets, instance, ["2024-01-05"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 1
    assert dg.materialize([assets[2]], instance=instance).success

    # Handled: the same state does not request again …
    again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert again.total_requested == 0
    # … but a new day does, and so does a re-load of an old day (a late re-score).
    _materialize_some_days(assets, instance, ["2024-01-06"])
    new_day = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=again.cursor)
    assert new_day.total_requested == 1
    assert dg.materialize([assets[2]], instance=instance).success
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=new_day.cursor)
    assert settled.total_requested == 0
    _materialize_some_days(assets, instance, ["2024-01-02"])
    rescored = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    assert rescored.total_requested == 1


def test_the_project_condition_waits_for_an_unloaded_unpartitioned_parent():
    instance = dg.DagsterInstance.ephemeral()
    assets = _graph(dbt_model_condition([RAW_DAY]))
    defs = dg.Definitions(assets=assets)
    _materialize_some_days(assets, instance, ["2024-01-05"])
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0


def test_the_project_condition_waits_while_a_parents_blocking_check_fails():
    instance = dg.DagsterInstance.ephemeral()
    assets = _graph(dbt_model_condition([RAW_DAY]), profile_check_passes=False)
    defs = dg.Definitions(assets=assets)
    dg.materialize([assets[1]], instance=instance, raise_on_error=False)
    _materialize_some_days(assets, instance, ["2024-01-05"])
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0


def test_a_parentless_node_is_built_once_then_waits_for_its_daily_rebuild():
    @dg.asset(key=["marts", "dim_date"], automation_condition=dbt_root_condition())
    def dim_date() -> None: ...

    defs = dg.Definitions(assets=[dim_date])
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 1
    assert dg.materialize([dim_date], instance=instance).success
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.total_requested == 0


def test_a_missing_model_is_built_on_the_first_tick_once_its_parents_exist():
    instance = dg.DagsterInstance.ephemeral()
    assets = _graph(dbt_model_condition([RAW_DAY]))
    dg.materialize([assets[1]], instance=instance)
    _materialize_some_days(assets, instance, ["2024-01-03"])
    result = dg.evaluate_automation_conditions(defs=dg.Definitions(assets=assets), instance=instance)
    assert result.total_requested == 1


def test_the_automation_sensor_runs_by_default_and_is_named_as_documented():
    sensor = build_automation_sensor()
    assert sensor.name == AUTOMATION_SENSOR_NAME == "whoop_automation_sensor"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

"""The dbt step runs exactly what Dagster selected, with real dbt on DuckDB.

Automation and the UI launch *subsets* of the dbt multi-asset (the models below a changed raw
day, one model, one check) on a warehouse that is already built; dagster-dbt turns the selection
into dbt's ``--select``. These runs prove the step builds and tests what was selected and nothing
else (a singular test that dbt's indirect selection also runs is an observation, not a check
result), and records row counts and column types on every model (column lineage only when the
run asks for it).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.support.shared_build import copy_warehouse

STG_CYCLE = dg.AssetKey(["staging", "stg_cycle"])
STG_SLEEP = dg.AssetKey(["staging", "stg_sleep"])


@pytest.fixture(scope="module")
def models() -> dg.AssetsDefinition:
    return build_dbt_assets("local")


def _checks_of(models: dg.AssetsDefinition, key: dg.AssetKey) -> set[dg.AssetCheckKey]:
    return {check for check in models.check_keys if check.asset_key == key}


@pytest.fixture(scope="module")
def module_warehouse(built_duckdb: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the built warehouse: its tests rebuild subsets over it."""
    return copy_warehouse(built_duckdb[0], tmp_path_factory.mktemp("execution"))


@pytest.fixture(scope="module")
def module_target(module_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's parse state for the module's warehouse, which dagster-dbt copies into each run's own target folder.

    A saved parse state holds for one warehouse path only (dbt hashes the profile's connection
    settings, the DuckDB path among them), so the shared build's state does not apply to this
    module's copy: one ``dbt parse`` here spares every run below a full parse of the project.
    """
    target = tmp_path_factory.mktemp("execution_target")
    run_dbt(["parse"], target="local", target_path=target, env=duckdb_env(module_warehouse))
    return target


@pytest.fixture
def dbt_env(module_warehouse: Path, module_target: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module's built warehouse (subsets are rebuilt over existing tables, as automation does)."""
    path = module_warehouse
    for name, value in duckdb_env(path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET_PATH", str(module_target))  # each run gets a folder of its own inside
    return path


def _run(models: dg.AssetsDefinition, selection: dg.AssetSelection, **config: object) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {models.op.name: {"config": config}}} if config else None
    return dg.materialize(
        [models], selection=selection, resources={"dbt": build_dbt_resource("local")}, run_config=run_config
    )


def test_materializing_one_model_runs_that_model_and_its_tests_only(dbt_env: Path, models: dg.AssetsDefinition):
    result = _run(models, dg.AssetSelection.assets(STG_CYCLE))

    assert result.success
    assert {event.asset_key for event in result.get_asset_materialization_events()} == {STG_CYCLE}
    evaluations = result.get_asset_check_evaluations()
    assert {dg.AssetCheckKey(e.asset_key, e.check_name) for e in evaluations} == _checks_of(models, STG_CYCLE)
    assert all(evaluation.passed for evaluation in evaluations)
    [materialization] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["dagster/row_count"].value > 0
    types = {column.name: column.type for column in metadata["dagster/column_schema"].schema.columns}
    assert types["cycle_id"] != "?"  # the warehouse's type, read after the build
    assert "dagster/column_lineage" not in metadata  # opt-in: see DbtBuildConfig.column_lineage


def test_every_check_evaluates_the_materialization_of_the_same_run(dbt_env: Path, models: dg.AssetsDefinition):
    result = _run(models, dg.AssetSelection.assets(STG_CYCLE, STG_SLEEP))

    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    evaluations = result.get_asset_check_evaluations()
    assert {evaluation.asset_key for evaluation in evaluations} == materialized == {STG_CYCLE, STG_SLEEP}
    targets = {evaluation.target_materialization_data for evaluation in evaluations}
    assert None not in targets
    assert {target.run_id for target in targets} == {result.run_id}


def test_column_lineage_is_recorded_when_the_run_asks_for_it(dbt_env: Path, models: dg.AssetsDefinition):
    result = _run(models, dg.AssetSelection.assets(STG_CYCLE), column_lineage=True)

    assert result.success
    [materialization] = result.get_asset_materialization_events()
    lineage = materialization.materialization.metadata["dagster/column_lineage"].lineage
    upstream = {dep.asset_key for deps in lineage.deps_by_column.values() for dep in deps}
    assert upstream == {dg.AssetKey(["raw", "cycle"])}


def test_a_check_left_out_of_the_selection_is_not_evaluated(dbt_env: Path, models: dg.AssetsDefinition):
    left_out = sorted(_checks_of(models, STG_CYCLE), key=str)[0]
    result = _run(models, dg.AssetSelection.assets(STG_CYCLE) - dg.AssetSelection.checks(left_out))

    assert result.success
    evaluated = {dg.AssetCheckKey(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
    assert evaluated == _checks_of(models, STG_CYCLE) - {left_out}


def test_a_check_selected_without_its_model_runs_that_test_alone(dbt_env: Path, models: dg.AssetsDefinition):
    check = sorted(_checks_of(models, STG_SLEEP), key=str)[0]
    result = _run(models, dg.AssetSelection.assets(STG_CYCLE) | dg.AssetSelection.checks(check))

    assert result.success
    assert {event.asset_key for event in result.get_asset_materialization_events()} == {STG_CYCLE}
    evaluated = {dg.AssetCheckKey(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
    assert evaluated == _checks_of(models, STG_CYCLE) | {check}

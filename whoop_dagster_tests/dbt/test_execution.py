"""The dbt step runs exactly what Dagster selected, with real dbt on DuckDB.

Automation and the UI launch *subsets* of the dbt multi-asset (the models below a changed raw
day, one model, one check), so the step must turn the selection into dbt's ``--select`` the way
dagster-dbt does: whole asset → ``fqn:*``; a subset → those models, their tests by dbt's
indirect selection; a check left out → every test named, indirect selection off.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
from whoop_dagster.defs.dbt.project import MANIFEST_PATH
from whoop_dagster.defs.dbt.selection import dbt_selection_args
from whoop_dagster.defs.dbt.specs import DbtManifest
from whoop_dagster_tests.dbt.conftest import duckdb_env

STG_CYCLE = dg.AssetKey(["staging", "stg_cycle"])
STG_SLEEP = dg.AssetKey(["staging", "stg_sleep"])


@pytest.fixture(scope="module")
def models() -> dg.AssetsDefinition:
    return build_dbt_assets("local")


@pytest.fixture(scope="module")
def manifest() -> DbtManifest:
    return DbtManifest.read(MANIFEST_PATH)


def _checks_of(models: dg.AssetsDefinition, key: dg.AssetKey) -> set[dg.AssetCheckKey]:
    return {check for check in models.check_keys if check.asset_key == key}


def test_the_whole_asset_runs_the_default_selection(models: dg.AssetsDefinition, manifest: DbtManifest):
    assert dbt_selection_args(models, set(models.keys), set(models.check_keys), manifest) == ["--select", "fqn:*"]


def test_a_model_with_all_its_checks_is_selected_by_fqn_and_its_tests_come_indirectly(
    models: dg.AssetsDefinition, manifest: DbtManifest
):
    args = dbt_selection_args(models, {STG_CYCLE}, _checks_of(models, STG_CYCLE), manifest)
    assert args == ["--select", "whoop_dbt.staging.stg_cycle"]


def test_a_check_left_out_names_every_test_and_turns_indirect_selection_off(
    models: dg.AssetsDefinition, manifest: DbtManifest
):
    checks = sorted(_checks_of(models, STG_CYCLE), key=str)
    args = dbt_selection_args(models, {STG_CYCLE}, set(checks[1:]), manifest)
    assert args[0] == "--select"
    assert args[2:] == ["--indirect-selection", "empty"]
    selected = args[1].split()
    assert selected[0] == "whoop_dbt.staging.stg_cycle"
    assert len(selected) == 1 + len(checks) - 1
    assert not any(name.endswith("." + checks[0].name) for name in selected)


def test_a_check_without_its_model_is_named_explicitly(models: dg.AssetsDefinition, manifest: DbtManifest):
    [check, *_] = sorted(_checks_of(models, STG_SLEEP), key=str)
    args = dbt_selection_args(models, {STG_CYCLE}, {*_checks_of(models, STG_CYCLE), check}, manifest)
    assert args[1].split()[0] == "whoop_dbt.staging.stg_cycle"
    assert args[1].split()[1].endswith("." + check.name)
    assert "--indirect-selection" not in args


@pytest.fixture
def dbt_env(raw_duckdb: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name, value in duckdb_env(raw_duckdb).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    return raw_duckdb


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

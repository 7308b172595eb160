"""``analysis/recovery_drivers`` materialized for real: marts built by dbt from a member with planted effects."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from whoop_dagster.defs.analysis.assets import RECOVERY_DRIVERS_KEY, build_recovery_drivers_asset
from whoop_dagster.defs.analysis.drivers import DRIVERS, MIN_DAYS, OUTCOMES, STATUS_INSUFFICIENT
from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_MARTS
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster_tests.support.marts import copy_marts

NODE = "analysis__recovery_drivers"


def materialize_drivers(path: Path) -> dg.ExecuteInProcessResult:
    """The asset against the DuckDB file ``path``, as the local deployment runs it."""
    return dg.materialize(
        [build_recovery_drivers_asset("duckdb")],
        resources={
            "warehouse": DuckDBWarehouse(path=str(path)),
            WAREHOUSE_IO_MANAGER_KEY: DuckDBWarehouseIOManager(database=str(path)),
        },
    )


def read_drivers(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select * from analysis.recovery_drivers order by outcome, driver").df()


def _findings(table: pd.DataFrame) -> set[tuple[str, str, str]]:
    found = table.loc[table["is_finding"]]
    return set(zip(found["outcome"], found["driver"], found["direction"], strict=True))


def test_the_planted_effects_are_found_in_the_marts_dbt_built(planted_duckdb):
    with duckdb.connect(str(planted_duckdb), read_only=True) as connection:
        (hard_share,) = connection.execute(
            "select avg(case when day_strain > 14 then 1.0 else 0 end) from marts.fact_daily_strain"
        ).fetchone()
    assert hard_share > 0.3  # the planted high-strain effect acts often enough to be seen

    result = materialize_drivers(planted_duckdb)
    assert result.success

    table = read_drivers(planted_duckdb)
    assert len(table) == len(DRIVERS) * len(OUTCOMES)
    findings = _findings(table)
    assert ("recovery", "strain", "lower") in findings
    assert ("recovery", "bedtime_hour", "lower") in findings
    assert not {f for f in findings if f[1] in ("strain", "bedtime_hour") and f[2] != "lower"}
    assert ("recovery", "sleep_hours", "higher") not in findings  # no sleep effect was planted
    strain = table.set_index(["outcome", "driver"]).loc[("recovery", "strain")]
    assert strain["tercile_difference"] < -5  # points of recovery: top third of strain vs bottom third
    assert strain["difference_ci_high"] < 0
    assert strain["p_value_adjusted"] < 0.05
    assert strain["days"] >= MIN_DAYS
    assert table["method_version"].nunique() == 1


def test_the_metadata_shows_the_findings_and_a_heat_map(planted_duckdb):
    result = materialize_drivers(planted_duckdb)
    metadata = result.asset_materializations_for_node(NODE)[0].metadata

    assert metadata["status"].value == "analysed"
    assert metadata["findings"].value == int(read_drivers(planted_duckdb)["is_finding"].sum()) > 0
    assert "next-day recovery | strain |" in metadata["findings_table"].value
    assert metadata["effect_heatmap"].value.startswith("![")
    assert "data:image/png;base64," in metadata["effect_heatmap"].value
    schema = metadata["dagster/column_schema"].value
    assert [column.name for column in schema.columns] == list(read_drivers(planted_duckdb).columns)


def test_with_fewer_than_60_days_the_asset_says_so_and_writes_no_findings(planted_duckdb):
    with duckdb.connect(str(planted_duckdb)) as connection:
        (last_day,) = connection.execute("select max(date_day) from marts.fact_daily_recovery").fetchone()
        for mart in BEHAVIOUR_MARTS:
            connection.execute(f"delete from marts.{mart} where date_day < ?", [last_day - pd.Timedelta(days=45)])
    result = materialize_drivers(planted_duckdb)
    assert result.success

    table = read_drivers(planted_duckdb)
    assert len(table) == len(DRIVERS) * len(OUTCOMES)
    assert (table["status"] == STATUS_INSUFFICIENT).all()
    assert not table["is_finding"].any()
    assert table[["spearman_rho", "tercile_difference", "p_value_adjusted"]].isna().all().all()
    metadata = result.asset_materializations_for_node(NODE)[0].metadata
    assert metadata["status"].value.startswith("insufficient_data")
    assert metadata["findings"].value == 0
    assert "at least 60 needed" in metadata["findings_table"].value
    assert "effect_heatmap" not in metadata


def test_the_asset_is_in_group_analysis_stored_by_the_warehouse_io_manager():
    asset = build_recovery_drivers_asset("duckdb")
    spec = next(iter(asset.specs))
    assert spec.key == RECOVERY_DRIVERS_KEY
    assert spec.group_name == "analysis"
    assert asset.get_io_manager_key_for_asset_key(RECOVERY_DRIVERS_KEY) == WAREHOUSE_IO_MANAGER_KEY
    assert {dep.asset_key for dep in spec.deps} == {dg.AssetKey(["marts", mart]) for mart in BEHAVIOUR_MARTS}
    assert spec.metadata["dagster/table_name"] == "analysis.recovery_drivers"


@pytest.mark.snowflake
def test_on_snowflake_the_drivers_land_in_analysis_with_the_same_findings(planted_duckdb, tmp_path, monkeypatch):
    from whoop_dagster_tests.support.snowflake import fakesnow_in_process, snowflake_deployment_resources

    with fakesnow_in_process(tmp_path, new_tables_in_schema="analysis") as settings:
        resources = snowflake_deployment_resources(monkeypatch, settings)
        copy_marts(planted_duckdb, resources["warehouse"], BEHAVIOUR_MARTS)
        assert dg.materialize([build_recovery_drivers_asset("snowflake")], resources=resources).success
        on_snowflake = resources["warehouse"].read_frame("select * from analysis.recovery_drivers")

    assert materialize_drivers(planted_duckdb).success
    on_duckdb = read_drivers(planted_duckdb)
    assert _findings(on_snowflake.assign(is_finding=on_snowflake["is_finding"].astype(bool))) == _findings(on_duckdb)
    merged = on_duckdb.merge(on_snowflake, on=["outcome", "driver"], suffixes=("", "_sf"))
    assert len(merged) == len(on_duckdb)
    pd.testing.assert_series_equal(
        pd.to_numeric(merged["spearman_rho_sf"]), merged["spearman_rho"], check_names=False, atol=1e-9
    )

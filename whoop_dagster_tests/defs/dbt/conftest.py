"""Fixtures of the dbt tests: raw data, per-test DuckDB files and dbt target folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.defs.dbt.sample_data import SampleData, combined_sample_data, load_raw
from whoop_dagster_tests.support.shared_build import WAREHOUSE_FILE, built_once


@pytest.fixture(scope="session")
def sample_data() -> SampleData:
    """The hand-written member (every edge case) plus the emulator's member."""
    return combined_sample_data()


def duckdb_env(path: Path) -> dict[str, str]:
    """Environment of a dbt run on the DuckDB file ``path``.

    The file is always named ``whoop.duckdb``: DuckDB names the catalog after the file, and
    the manifest prepared for the definitions records the catalog ``whoop``.
    """
    return {"WHOOP_DUCKDB_PATH": str(path), "WHOOP_DEPLOYMENT": "local"}


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    """This test's own (empty) DuckDB file."""
    folder = tmp_path / "warehouse"
    folder.mkdir()
    return folder / "whoop.duckdb"


@pytest.fixture
def raw_duckdb(duckdb_path: Path, sample_data: SampleData) -> Path:
    """This test's DuckDB file with the raw tables loaded from the sample data."""
    load_raw(DuckDBWarehouse(path=str(duckdb_path)), sample_data)
    return duckdb_path


@pytest.fixture(scope="session")
def built_duckdb(tmp_path_factory: pytest.TempPathFactory, sample_data: SampleData) -> tuple[Path, Path]:
    """A DuckDB file after a full ``dbt build`` over the sample data: (database, target path).

    Built once per session for every xdist worker: read it, never write it (copy it to write).
    """

    def build(root: Path) -> None:
        path = root / WAREHOUSE_FILE
        load_raw(DuckDBWarehouse(path=str(path)), sample_data)
        run_dbt(["build"], target="local", target_path=root / "target", env=duckdb_env(path))

    root = built_once(tmp_path_factory, "built_duckdb", build)
    return root / WAREHOUSE_FILE, root / "target"

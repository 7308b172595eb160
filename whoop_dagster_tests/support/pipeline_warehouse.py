"""A warehouse the way the pipeline fills it, built once per test session (shared by xdist workers).

The emulator's records (frozen clock) go into the raw tables through the project's warehouse
code, a real ``dbt build`` makes the marts and metrics, and the code location's ML assets write
``ml.*``. Tests read it; a test that writes takes its own copy.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.defs.ml.definitions import build_ml_definitions
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.defs.dbt.sample_data import emulator_sample_data, load_raw
from whoop_dagster_tests.support.shared_build import WAREHOUSE_FILE, built_once

#: Days of emulated history (the emulator's clock is frozen at 2025-06-30 18:00 UTC): enough for
#: the forecasts' 45-day warm-up and eleven 14-day backtest blocks, which the ML tests need.
HISTORY_DAYS = 200

#: The emulated member's seed.
EMULATOR_SEED = 11


def build_warehouse(path: Path, days: int = HISTORY_DAYS) -> Path:
    """Raw tables from the emulator, ``dbt build``, then the ML assets, into the DuckDB file ``path``."""
    data = emulator_sample_data(days=days, seed=EMULATOR_SEED)
    assert data is not None
    load_raw(DuckDBWarehouse(path=str(path)), data)
    env = {"WHOOP_DUCKDB_PATH": str(path), "WHOOP_DEPLOYMENT": "local"}
    run_dbt(["build"], target="local", target_path=path.parent / "target", env=env)
    warehouse = DuckDBWarehouse(path=str(path))
    ml = build_ml_definitions(warehouse)
    io_manager = DuckDBWarehouseIOManager(database=str(path))
    result = dg.materialize(
        list(ml.assets or []),
        resources={"warehouse": warehouse, WAREHOUSE_IO_MANAGER_KEY: io_manager},
        raise_on_error=True,
    )
    assert result.success
    return path


def pipeline_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's built warehouse (``whoop.duckdb``), built by the first caller; read it, never write it."""
    root = built_once(tmp_path_factory, "pipeline_warehouse", lambda root: build_warehouse(root / WAREHOUSE_FILE))
    return root / WAREHOUSE_FILE

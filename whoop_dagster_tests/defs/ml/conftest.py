"""Fixtures of the ML tests: real marts, built by dbt from emulated WHOOP records.

The ML assets read ``marts.fact_daily_recovery``, ``fact_daily_strain`` and ``fact_sleep``.
Rather than imitating those tables, the tests read the session's pipeline warehouse
(``support/pipeline_warehouse``), built once for every xdist worker the way production builds it:
the emulator's records go into the raw tables through the project's warehouse code, then a real
``dbt build`` and the ML assets run on DuckDB. Each test that writes gets its own copy of that
file, so the ML assets can write ``ml.*`` without affecting others.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from whoop_dagster.defs.ml.features import build_features, daily_frame, labelled_rows, read_marts
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.support.shared_build import copy_warehouse


@pytest.fixture(scope="session")
def built_marts(pipeline_warehouse: Path) -> Path:
    """The session's pipeline warehouse: marts a real ``dbt build`` made from 200 emulated days; read it only."""
    return pipeline_warehouse


@pytest.fixture
def marts_duckdb(built_marts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of the built marts, which ``WHOOP_DUCKDB_PATH`` points at."""
    path = copy_warehouse(built_marts, tmp_path / "warehouse")
    monkeypatch.setenv("WHOOP_DUCKDB_PATH", str(path))
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "local")
    return path


@pytest.fixture(scope="session")
def labelled(built_marts: Path) -> pd.DataFrame:
    """The model's labelled rows (features of day t, recovery of day t+1) from the built marts."""
    return labelled_rows(build_features(daily_frame(read_marts(DuckDBWarehouse(path=str(built_marts))))))

"""Fixtures of the dashboard tests: a warehouse the way the pipeline fills it, and the app under AppTest.

The warehouse is built once per test session (across pytest-xdist workers too) the production
way: the emulator's records (frozen clock) go into the raw tables through the project's
warehouse code, a real ``dbt build`` makes the marts and metrics, and the code location's ML
assets write ``ml.*``. The dashboard only reads it; a test that writes takes its own copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock
from streamlit.testing.v1 import AppTest

from whoop_dagster.defs.ml import build_ml_definitions
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.dbt.sample_data import emulator_sample_data, load_raw

APP = Path(__file__).resolve().parents[2] / "whoop_dagster" / "dashboard" / "app.py"
#: Days of emulated history (the emulator's clock is frozen at 2025-06-30 18:00 UTC).
HISTORY_DAYS = 150
#: Nothing listens here: the data-quality tab must say how to start the Dagster UI.
NO_DAGSTER_UI = "http://127.0.0.1:9"


def build_warehouse(path: Path, days: int = HISTORY_DAYS) -> Path:
    """Raw tables from the emulator, ``dbt build``, then the ML assets, into the DuckDB file ``path``."""
    data = emulator_sample_data(days=days, seed=7)
    assert data is not None
    load_raw(DuckDBWarehouse(path=str(path)), data)
    env = {"WHOOP_DUCKDB_PATH": str(path), "WHOOP_DEPLOYMENT": "local"}
    run_dbt(["build"], target="local", target_path=path.parent / "target", env=env)
    warehouse = DuckDBWarehouse(path=str(path))
    ml = build_ml_definitions(warehouse)
    result = dg.materialize(
        list(ml.assets or []), resources={"warehouse": warehouse, **(ml.resources or {})}, raise_on_error=True
    )
    assert result.success
    return path


def shared_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder all xdist workers of this session share (the session's own folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.getenv("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pipeline_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's built warehouse (``whoop.duckdb``); read it, never write it."""
    root = shared_directory(tmp_path_factory) / "dashboard_warehouse"
    root.mkdir(exist_ok=True)
    path = root / "whoop.duckdb"
    with FileLock(str(root / ".build.lock")):
        if not (root / "built").exists():
            build_warehouse(path)
            (root / "built").touch()
    return path


@pytest.fixture
def warehouse_copy(pipeline_warehouse: Path, tmp_path: Path) -> Path:
    """This test's own copy of the built warehouse (for tests that write or lock it)."""
    folder = tmp_path / "warehouse"
    folder.mkdir()
    path = folder / "whoop.duckdb"
    shutil.copyfile(pipeline_warehouse, path)
    return path


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Run the app under ``AppTest`` against the DuckDB file given (local deployment, no Dagster UI)."""

    def run(duckdb_path: Path, *, dagster_ui: str = NO_DAGSTER_UI, **env: str) -> AppTest:
        monkeypatch.setenv("WHOOP_DEPLOYMENT", env.pop("WHOOP_DEPLOYMENT", "local"))
        monkeypatch.setenv("WHOOP_DUCKDB_PATH", str(duckdb_path))
        monkeypatch.setenv("WHOOP_DAGSTER_UI_URL", dagster_ui)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return AppTest.from_file(str(APP), default_timeout=120).run()

    return run

"""Fixtures of the dashboard tests: the pipeline's warehouse (see ``support/pipeline_warehouse``) and the app
under ``AppTest``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "whoop_dagster" / "dashboard" / "app.py"
#: Nothing listens here: the data-quality tab must say how to start the Dagster UI.
NO_DAGSTER_UI = "http://127.0.0.1:9"


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

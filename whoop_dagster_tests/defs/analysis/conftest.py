"""Fixtures of the analysis tests: marts built by dbt from emulated records with planted effects.

The emulator's member here lives in a world where recovery depends on no behaviour except two
planted effects (``PLANTED``): each strain point above 14 costs 4 points of next-day recovery,
and each hour of later sleep onset costs 8. The analysis must find exactly such things.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from whoop_dagster_tests.support.emulated_days import PLANTED
from whoop_dagster_tests.support.marts import build_emulated_marts
from whoop_dagster_tests.support.shared_build import WAREHOUSE_FILE, built_once, copy_warehouse

#: Seed 15's member trains hard (strain above 14 on about half of the days), so the planted
#: high-strain effect acts often enough to be seen in 200 days.
PLANTED_SEED = 15
PLANTED_DAYS = 200


@pytest.fixture(scope="session")
def planted_marts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file whose marts a real ``dbt build`` made from emulated days with ``PLANTED`` effects.

    Built once per session for every xdist worker: read it, never write it.
    """

    def build(root: Path) -> None:
        build_emulated_marts(root, days=PLANTED_DAYS, seed=PLANTED_SEED, recovery_effects=PLANTED)

    return built_once(tmp_path_factory, "planted_marts", build) / WAREHOUSE_FILE


@pytest.fixture
def planted_duckdb(planted_marts: Path, tmp_path: Path) -> Path:
    """This test's own copy of the planted marts (the asset writes ``analysis.*`` into it)."""
    return copy_warehouse(planted_marts, tmp_path / "warehouse")

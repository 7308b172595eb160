"""Real marts for the ML and analysis tests: emulated WHOOP records, loaded raw, built by ``dbt build``.

Rather than imitating the marts, tests build them the way production does: the emulator's
records go into the raw tables through the project's warehouse code, then a real ``dbt build``
(every model and test) runs on DuckDB. ``copy_marts`` moves the built tables into another
warehouse (the fakesnow Snowflake) for the Snowflake path of the assets.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.defs.dbt.sample_data import emulator_sample_data, load_raw


def build_emulated_marts(root: Path, *, days: int, seed: int, recovery_effects: Any = None) -> Path:
    """``root/whoop.duckdb`` with every model a real ``dbt build`` made from ``days`` emulated days.

    ``recovery_effects`` (an ``emulator.RecoveryEffects``) plants or removes effects of
    behaviour on recovery; None keeps the emulator's physiology.
    """
    data = emulator_sample_data(days=days, seed=seed, recovery_effects=recovery_effects)
    assert data is not None
    path = root / "whoop.duckdb"  # the catalog name the prepared manifest records
    load_raw(DuckDBWarehouse(path=str(path)), data)
    run_dbt(
        ["build"],  # every model and test: the relationship tests of the marts need the dims
        target="local",
        target_path=root / "target",
        env={"WHOOP_DUCKDB_PATH": str(path), "WHOOP_DEPLOYMENT": "local"},
    )
    return path


def _portable_type(duckdb_type: str) -> str:
    for prefix, sql_type in (("DATE", "DATE"), ("TIMESTAMP", "TIMESTAMP"), ("BOOL", "BOOLEAN"), ("VARCHAR", "VARCHAR")):
        if duckdb_type.startswith(prefix):
            return sql_type
    return "BIGINT" if "INT" in duckdb_type else "DOUBLE"


def copy_marts(duckdb_path: Path, destination: Any, models: Iterable[str]) -> None:
    """The ``marts.<model>`` tables of the dbt-built DuckDB file, copied into the warehouse ``destination``."""
    from whoop_dagster.warehouse.base import TableSpec

    with duckdb.connect(str(duckdb_path), read_only=True) as source:
        for model in models:
            described = source.execute(f"describe marts.{model}").fetchall()
            table = TableSpec("marts", model, tuple((name, _portable_type(type_)) for name, type_, *_ in described))
            destination.replace_slice(table, source.execute(f"select * from marts.{model}").df(), None)

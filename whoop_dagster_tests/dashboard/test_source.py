"""Reading the warehouse: one short-lived read-only connection per read, tables that do not exist
yet, a pipeline holding DuckDB's write lock, and Snowflake through the same environment switch."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from whoop_dagster.dashboard.source import (
    DuckDBSource,
    SnowflakeSource,
    TableQuery,
    WarehouseBusyError,
    WarehouseMissingError,
    read_tables,
    source_from_environment,
)
from whoop_dagster_tests.support.snowflake import fakesnow_server

YEAR = (date(2025, 1, 1), date(2025, 12, 31))
HOLD_WRITE_LOCK = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("create table if not exists raw.held (x int)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


@pytest.fixture
def small_duckdb(tmp_path: Path) -> Path:
    path = tmp_path / "whoop.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts; create schema raw")
        connection.execute(
            "create table marts.fact_daily_recovery as select * from (values "
            "(date '2025-01-01', 80, true), (date '2025-01-02', 30, true), (date '2025-01-03', null, false)) "
            "t(date_day, recovery_score, is_scored)"
        )
    return path


def holding_write_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process that opens ``path`` for writing (as a pipeline step does) and holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_table_query_filters_on_the_date_column_with_placeholders():
    sql, dated = TableQuery("marts.fact_sleep", where="not is_nap").sql("%s")
    assert sql == (
        "SELECT * FROM marts.fact_sleep WHERE date_day >= %s AND date_day <= %s AND (not is_nap) ORDER BY date_day"
    )
    assert dated
    assert TableQuery("marts.dim_sport", date_column=None, order_by=None).sql("?") == (
        "SELECT * FROM marts.dim_sport",
        False,
    )


def test_read_tables_returns_rows_in_range_and_none_for_missing_tables(small_duckdb):
    queries = {
        "recovery": TableQuery("marts.fact_daily_recovery", where="is_scored"),
        "drivers": TableQuery("analysis.recovery_drivers", date_column=None),
    }
    frames = read_tables(DuckDBSource(small_duckdb), queries, date(2025, 1, 2), date(2025, 1, 3))
    assert frames["drivers"] is None
    assert frames["recovery"]["recovery_score"].tolist() == [30]


def test_reads_leave_no_connection_open_so_a_writer_can_take_the_file(small_duckdb):
    read_tables(DuckDBSource(small_duckdb), {"r": TableQuery("marts.fact_daily_recovery")}, *YEAR)
    writer = holding_write_lock(small_duckdb, 0.1)  # would fail to lock if the read had kept the file
    assert writer.wait(timeout=30) == 0


def test_a_read_waits_for_a_short_write_lock_and_then_succeeds(small_duckdb):
    writer = holding_write_lock(small_duckdb, 0.6)
    try:
        frames = read_tables(
            DuckDBSource(small_duckdb, backoff=(0.2,) * 20), {"r": TableQuery("marts.fact_daily_recovery")}, *YEAR
        )
        assert len(frames["r"]) == 3
    finally:
        assert writer.wait(timeout=30) == 0


def test_a_long_write_lock_gives_a_busy_error_not_a_hang(small_duckdb):
    writer = holding_write_lock(small_duckdb, 30)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match="the pipeline is writing"):
            read_tables(
                DuckDBSource(small_duckdb, backoff=(0.05, 0.05)), {"r": TableQuery("marts.fact_daily_recovery")}, *YEAR
            )
        assert time.monotonic() - started < 20
    finally:
        writer.kill()
        writer.wait(timeout=30)


def test_a_missing_duckdb_file_is_reported_as_missing_not_created(tmp_path):
    path = tmp_path / "whoop.duckdb"
    with pytest.raises(WarehouseMissingError, match="run `make run` first"):
        read_tables(DuckDBSource(path), {}, *YEAR)
    assert not path.exists()


def test_the_local_deployment_reads_the_configured_duckdb_file(monkeypatch, tmp_path):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "local")
    monkeypatch.setenv("WHOOP_DUCKDB_PATH", str(tmp_path / "whoop.duckdb"))
    source = source_from_environment()
    assert isinstance(source, DuckDBSource)
    assert source.path == tmp_path / "whoop.duckdb"


@pytest.mark.snowflake
def test_branch_and_prod_read_snowflake_with_the_pipelines_settings(monkeypatch):
    """The same switch and SNOWFLAKE_* variables as the pipeline; fakesnow over the real connector."""
    with fakesnow_server() as kwargs:
        import snowflake.connector

        with snowflake.connector.connect(**kwargs) as connection:
            cursor = connection.cursor()
            cursor.execute("create schema if not exists marts")
            cursor.execute(
                "create table marts.fact_daily_recovery (date_day date, recovery_score int, is_scored boolean)"
            )
            cursor.execute(
                "insert into marts.fact_daily_recovery values "
                "('2025-01-01', 80, true), ('2025-01-02', 30, true), ('2025-01-03', 55, true)"
            )
        for name, value in {
            "WHOOP_DEPLOYMENT": "branch",
            "SNOWFLAKE_ACCOUNT": kwargs["account"],
            "SNOWFLAKE_USER": kwargs["user"],
            "SNOWFLAKE_PASSWORD": "dashboard-test-password",  # fakesnow takes any
            "SNOWFLAKE_DATABASE": kwargs["database"],
            "SNOWFLAKE_HOST": kwargs["host"],
            "SNOWFLAKE_PORT": str(kwargs["port"]),
            "SNOWFLAKE_PROTOCOL": kwargs["protocol"],
        }.items():
            monkeypatch.setenv(name, value)
        source = source_from_environment()
        assert isinstance(source, SnowflakeSource)
        assert "dashboard-test-password" not in source.key
        frames = read_tables(
            source,
            {"recovery": TableQuery("marts.fact_daily_recovery", where="is_scored"), "ml": TableQuery("ml.x")},
            date(2025, 1, 2),
            date(2025, 1, 3),
        )
    assert frames["ml"] is None
    recovery = frames["recovery"]
    assert list(recovery.columns) == ["date_day", "recovery_score", "is_scored"]  # lower case, as DuckDB gives
    assert recovery["recovery_score"].tolist() == [30, 55]
    assert pd.to_datetime(recovery["date_day"]).dt.day.tolist() == [2, 3]

"""DataFrame assets in DuckDB through dagster-duckdb-pandas, waiting for the file like the warehouse."""

# No `from __future__ import annotations`: Dagster reads the assets' annotations (DataFrame inputs).
import logging
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
import pytest

from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster.warehouse.duckdb_lock import DuckDBLockTimeoutError
from whoop_dagster_tests.support.duckdb_holder import HOLDER_MARKER, Holder, duckdb_held

TABLE_KEY = dg.AssetKey(["analysis", "daily_scores"])


@dg.asset(key=TABLE_KEY, io_manager_key=WAREHOUSE_IO_MANAGER_KEY)
def daily_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {"date_day": [date(2024, 2, 28), date(2024, 2, 29)], "score": [61.5, float("nan")], "flag": [True, False]}
    )


@dg.asset(
    key=["analysis", "score_count"], io_manager_key=WAREHOUSE_IO_MANAGER_KEY, ins={"scores": dg.AssetIn(TABLE_KEY)}
)
def score_count(scores: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"days": [len(scores)], "scored": [int(scores["score"].notna().sum())]})


def _definitions(path, **io_manager_settings) -> dg.Definitions:
    io_manager = DuckDBWarehouseIOManager(database=str(path), **io_manager_settings)
    return dg.Definitions(assets=[daily_scores, score_count], resources={WAREHOUSE_IO_MANAGER_KEY: io_manager})


def test_a_dataframe_asset_is_a_table_named_by_its_key_and_loads_back(tmp_path):
    path = tmp_path / "whoop.duckdb"
    defs = _definitions(path)
    instance = dg.DagsterInstance.ephemeral()
    assert defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance).success

    with duckdb.connect(str(path), read_only=True) as connection:
        stored = connection.execute("select date_day, score, flag from analysis.daily_scores order by 1").fetchall()
        counted = connection.execute("select days, scored from analysis.score_count").fetchall()
    assert stored == [(date(2024, 2, 28), 61.5, True), (date(2024, 2, 29), None, False)]
    assert counted == [(2, 1)]  # the downstream asset read the table as a DataFrame
    loaded = defs.load_asset_value(TABLE_KEY, instance=instance)
    assert list(loaded.columns) == ["date_day", "score", "flag"]
    assert len(loaded) == 2


def test_materializing_again_replaces_the_table(tmp_path):
    defs = _definitions(tmp_path / "whoop.duckdb")
    job = defs.resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    assert job.execute_in_process(instance=instance).success
    assert job.execute_in_process(instance=instance).success
    assert len(defs.load_asset_value(TABLE_KEY, instance=instance)) == 2


class ReleaseWhenWaiting(logging.Handler):
    """Releases the holder as soon as the warehouse reports that it waits for the file."""

    def __init__(self, holder: Holder) -> None:
        super().__init__()
        self.holder = holder
        self.waited = False

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting up to" in record.getMessage():
            self.waited = True
            self.holder.release()


def test_a_store_waits_while_another_process_holds_the_file(tmp_path):
    path = tmp_path / "whoop.duckdb"
    duckdb.connect(str(path)).close()
    waiting_log = logging.getLogger("whoop_dagster.warehouse.duckdb_lock")
    with duckdb_held(path, "read_only") as holder:
        release = ReleaseWhenWaiting(holder)
        waiting_log.addHandler(release)
        try:
            result = dg.materialize([daily_scores], resources={WAREHOUSE_IO_MANAGER_KEY: _io_manager(path, 120)})
        finally:
            waiting_log.removeHandler(release)
    assert release.waited
    assert result.success


def test_a_store_past_the_bound_names_the_holder_and_writes_nothing(tmp_path):
    path = tmp_path / "whoop.duckdb"
    with duckdb_held(path, "writer_with_rows") as holder:
        result = dg.materialize(
            [daily_scores], resources={WAREHOUSE_IO_MANAGER_KEY: _io_manager(path, 0.5)}, raise_on_error=False
        )
    assert not result.success
    error = result.failure_data_for_node("analysis__daily_scores").error.to_string()
    assert DuckDBLockTimeoutError.__name__ in error
    assert f"process {holder.pid}" in error
    assert HOLDER_MARKER in error
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    assert tables == [("raw.sentinel",)]


def _io_manager(path, timeout: float) -> DuckDBWarehouseIOManager:
    return DuckDBWarehouseIOManager(database=str(path), lock_timeout_seconds=timeout)


@pytest.fixture(autouse=True)
def _quiet_dagster(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


def _store(path, frame: pd.DataFrame) -> None:
    @dg.asset(key=TABLE_KEY, io_manager_key=WAREHOUSE_IO_MANAGER_KEY)
    def daily_notes() -> pd.DataFrame:
        return frame

    io_manager = DuckDBWarehouseIOManager(database=str(path))
    assert dg.materialize([daily_notes], resources={WAREHOUSE_IO_MANAGER_KEY: io_manager}).success


def test_the_table_follows_the_frame_when_its_columns_change(tmp_path):
    """A column that was all null (DuckDB types it NULL) and a column added later both store."""
    path = tmp_path / "whoop.duckdb"
    _store(path, pd.DataFrame({"day": [1, 2], "note": pd.Series([None, None], dtype=object)}))
    _store(path, pd.DataFrame({"day": [1, 2], "note": ["fever", None], "score": [70.0, 71.5]}))
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute("select day, note, score from analysis.daily_scores order by 1").fetchall()
        types = dict(connection.execute("select column_name, data_type from information_schema.columns").fetchall())
    assert rows == [(1, "fever", 70.0), (2, None, 71.5)]
    assert types["note"] == "VARCHAR"

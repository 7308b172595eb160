"""Real ``dagster asset materialize`` processes on one DuckDB file, on a bare instance (no pool limits).

The default multiprocess executor runs the four raw steps of each run in parallel processes; the
warehouse must make them take turns on DuckDB's file lock, with each other, with a second run and
with a reader in another process, and give up only after its bound.
"""

from __future__ import annotations

import threading

import duckdb
import pytest

from whoop_dagster.warehouse.duckdb_lock import LOCK_TIMEOUT_ENV
from whoop_dagster_tests.support.duckdb_holder import HOLDER_MARKER, duckdb_held
from whoop_dagster_tests.support.processes import (
    BIN,
    PARTITIONED_RAW,
    Command,
    materialize,
    partition_range,
    user_env,
)

pytestmark = pytest.mark.slow

#: Waiting for the lock, as the warehouse logs it (step processes write it to the run's output).
WAITING = "waiting up to"


def _warehouse(env: dict[str, str]):
    from pathlib import Path

    path = Path(env["WHOOP_DUCKDB_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _ids_are_unique_and_present(path) -> dict[str, int]:
    counts = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        for table, key in (("cycle", "id"), ("sleep", "id"), ("workout", "id"), ("recovery", "cycle_id, sleep_id")):
            rows, distinct = connection.execute(f"select count(*), count(distinct ({key})) from raw.{table}").fetchone()
            assert rows == distinct, f"raw.{table} holds duplicates"
            counts[table] = rows
    return counts


def _create_instance_storage(env: dict[str, str], cwd) -> None:
    """Create the bare instance's SQLite storage, as the first command a user runs on it does.

    Dagster's SQLite storage cannot be created by two processes at the same moment: both stamp
    its schema version and every later process fails with "Version table 'alembic_version' has
    more than one head present" (dagster-io/dagster#27390, open). That is a property of a brand
    new DAGSTER_HOME, not of the warehouse, so the runs below start on a bare instance that exists.
    """
    created = Command([str(BIN / "dagster"), "instance", "migrate"], env, cwd)
    assert created.wait(timeout=300) == 0, created.output


def test_two_runs_at_once_on_a_bare_instance_both_succeed(tmp_path):
    env = user_env(tmp_path)
    path = _warehouse(env)
    days = partition_range(5, 4)
    _create_instance_storage(env, tmp_path)
    runs = [materialize(env, tmp_path, PARTITIONED_RAW, days) for _ in range(2)]
    codes = [run.wait(timeout=1200) for run in runs]
    outputs = "\n=====\n".join(run.output[-4000:] for run in runs)
    assert codes == [0, 0], outputs
    counts = _ids_are_unique_and_present(path)
    assert counts["cycle"] >= 2
    assert counts["sleep"] >= 2


def test_a_run_waits_for_a_reader_in_another_process_then_succeeds(tmp_path):
    env = user_env(tmp_path)
    path = _warehouse(env)
    duckdb.connect(str(path)).close()
    with duckdb_held(path, "read_only") as holder:
        waited = threading.Event()

        def release_once_waiting(line: str) -> None:
            if WAITING in line and not waited.is_set():
                waited.set()
                holder.release()  # the notebook closes its connection

        run = materialize(env, tmp_path, "raw/cycle", partition_range(5, 4), on_line=release_once_waiting)
        code = run.wait(timeout=900)
    assert waited.is_set(), run.output[-4000:]
    assert f"process {holder.pid}" in run.output  # while waiting it said who holds the file
    assert code == 0, run.output[-4000:]
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.cycle").fetchone()[0] >= 2


def test_a_run_past_the_bound_fails_naming_the_holder_and_writes_nothing(tmp_path):
    env = user_env(tmp_path, **{LOCK_TIMEOUT_ENV: "3"})
    path = _warehouse(env)
    with duckdb_held(path, "writer_with_rows") as holder:
        run = materialize(env, tmp_path, "raw/cycle", partition_range(5, 4))
        code = run.wait(timeout=900)
    assert code != 0
    assert "DuckDBLockTimeoutError" in run.output, run.output[-4000:]
    assert f"still held by process {holder.pid}" in run.output
    assert HOLDER_MARKER in run.output  # the holder's command line
    assert LOCK_TIMEOUT_ENV in run.output  # what to do
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute("select table_schema || '.' || table_name from information_schema.tables")
        assert tables.fetchall() == [("raw.sentinel",)]

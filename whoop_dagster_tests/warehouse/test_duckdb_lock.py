"""Waiting for a DuckDB file another process holds: bounded, named, and only for lock conflicts."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from whoop_dagster.defs.raw.tables import raw_table
from whoop_dagster.warehouse import SliceWindow, WarehouseError
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_lock import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    LOCK_TIMEOUT_ENV,
    MAX_DELAY_SECONDS,
    DuckDBLockTimeoutError,
    backoff_delays,
    connect_waiting,
    lock_holder,
    lock_timeout_seconds,
)
from whoop_dagster.whoop_api.endpoints import CYCLE
from whoop_dagster_tests.support.duckdb_holder import HOLDER_MARKER, Holder, duckdb_held


class ReleasingSleep:
    """A ``sleep`` that releases the holder on its first call: the waiter saw the lock, then it is gone."""

    def __init__(self, holder: Holder) -> None:
        self.holder = holder
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.holder.release()


def _existing_file(path):
    duckdb.connect(str(path)).close()
    return path


@pytest.mark.parametrize("mode", ["writer", "read_only"])
def test_a_writer_waits_for_another_process_and_connects_once_it_is_gone(tmp_path, mode):
    path = _existing_file(tmp_path / "whoop.duckdb")
    with duckdb_held(path, mode) as holder:
        sleep = ReleasingSleep(holder)
        connection = connect_waiting(path, timeout_seconds=60, sleep=sleep)
        connection.execute("create table written_after_waiting as select 1 as x")
        connection.close()
    assert sleep.calls, "the first attempt should have met the holder's lock"
    with duckdb.connect(str(path), read_only=True) as check:
        assert check.execute("select x from written_after_waiting").fetchall() == [(1,)]


def test_past_the_bound_the_error_names_the_holder_and_what_to_do(tmp_path):
    path = _existing_file(tmp_path / "whoop.duckdb")
    with duckdb_held(path, "read_only") as holder, pytest.raises(DuckDBLockTimeoutError) as raised:
        connect_waiting(path, timeout_seconds=0.3)
    message = str(raised.value)
    assert f"process {holder.pid}" in message
    assert HOLDER_MARKER in message  # the holder's command line
    assert "Close that process's connection" in message
    assert LOCK_TIMEOUT_ENV in message
    assert str(path) in message


def test_replacing_past_the_bound_names_table_and_holder_writes_nothing(tmp_path):
    path = tmp_path / "whoop.duckdb"
    warehouse = DuckDBWarehouse(path=str(path), lock_timeout_seconds=0.3)
    with duckdb_held(path, "writer_with_rows") as holder, pytest.raises(WarehouseError) as raised:
        warehouse.replace_slice(raw_table(CYCLE), _empty_cycles(), SliceWindow("_partition_date", *_march()))
    message = str(raised.value)
    assert "raw.cycle" in message
    assert "2024-03-01" in message
    assert f"process {holder.pid}" in message
    with duckdb.connect(str(path), read_only=True) as check:
        tables = check.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    assert tables == [("raw.sentinel",)]


def test_readers_share_the_file_with_a_reader_in_another_process(tmp_path):
    path = tmp_path / "whoop.duckdb"
    with duckdb.connect(str(path)) as setup:
        setup.execute("create table t as select 7 as x")
    warehouse = DuckDBWarehouse(path=str(path), lock_timeout_seconds=0)  # no waiting allowed
    with duckdb_held(path, "read_only"):
        assert warehouse.read_frame("select x from t")["x"].tolist() == [7]


def test_other_io_errors_fail_at_once_without_waiting(tmp_path):
    def must_not_sleep(seconds: float) -> None:
        raise AssertionError("waited on an error that is no lock conflict")

    with pytest.raises(duckdb.IOException):
        connect_waiting(tmp_path, timeout_seconds=600, sleep=must_not_sleep)  # a directory, not a database file


def test_the_bound_comes_from_the_environment_with_a_default():
    assert lock_timeout_seconds({}) == DEFAULT_LOCK_TIMEOUT_SECONDS
    assert lock_timeout_seconds({LOCK_TIMEOUT_ENV: "45"}) == 45.0
    with pytest.raises(ValueError, match=LOCK_TIMEOUT_ENV):
        lock_timeout_seconds({LOCK_TIMEOUT_ENV: "ten minutes"})
    with pytest.raises(ValueError, match="negative"):
        lock_timeout_seconds({LOCK_TIMEOUT_ENV: "-1"})


def test_waits_double_up_to_a_cap_and_are_jittered():
    delays = backoff_delays(random.Random(3))
    waits = [next(delays) for _ in range(12)]
    assert waits[0] <= 0.05
    assert max(waits) <= MAX_DELAY_SECONDS
    assert waits[-1] >= MAX_DELAY_SECONDS / 2  # capped, never below half the cap
    assert len(set(waits)) == len(waits)  # jittered: processes do not retry in lockstep


def _march() -> tuple[date, date]:
    return date(2024, 3, 1), date(2024, 3, 8)


def _empty_cycles():
    from whoop_dagster.defs.raw.rows import rows_to_frame

    return rows_to_frame(CYCLE, [])


#: A run process whose step process holds the file, as the multiprocess executor's steps do.
_RUN_WITH_A_HOLDING_STEP = """
import multiprocessing
import sys

import duckdb


def step(path, ready, done):
    connection = duckdb.connect(path)
    ready.set()
    done.wait()
    connection.close()


if __name__ == "__main__":
    path, start_method = sys.argv[1], sys.argv[2]  # sys.argv[3]: a marker for the test
    context = multiprocessing.get_context(start_method)
    ready, done = context.Event(), context.Event()
    process = context.Process(target=step, args=(path, ready, done))
    process.start()
    ready.wait()
    print(process.pid, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    done.set()
    process.join()
"""


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_a_step_process_holding_the_file_is_named_by_its_run_process(tmp_path, start_method):
    path = _existing_file(tmp_path / "whoop.duckdb")
    script = tmp_path / "run_with_a_holding_step.py"
    script.write_text(_RUN_WITH_A_HOLDING_STEP)
    marker = "whoop-test-run-process"
    run = subprocess.Popen(
        [sys.executable, str(script), str(path), start_method, marker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        step_pid = int(run.stdout.readline())
        with pytest.raises(duckdb.IOException) as raised:
            duckdb.connect(str(path))
        described = lock_holder(raised.value).describe()
    finally:
        run.stdin.close()
        run.wait(timeout=60)
    assert described.startswith(f"process {step_pid} (a multiprocessing worker of process {run.pid} (")
    assert marker in described  # the run process's command line, not multiprocessing's

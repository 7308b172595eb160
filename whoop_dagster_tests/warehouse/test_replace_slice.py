"""The transactional slice replacement, on DuckDB and on Snowflake (fakesnow)."""

from datetime import date, datetime

import pandas as pd
import pytest

from whoop_dagster.defs.raw.rows import partition_date_of, rows_to_frame, to_row
from whoop_dagster.defs.raw.tables import raw_table
from whoop_dagster.warehouse import SliceWindow
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.endpoints import CYCLE
from whoop_dagster_tests.support import records
from whoop_dagster_tests.support.snowflake import fakesnow_server, snowflake_warehouse


@pytest.fixture(params=["duckdb", pytest.param("snowflake", marks=pytest.mark.snowflake)])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        yield DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    else:
        with fakesnow_server() as kwargs:
            yield snowflake_warehouse(kwargs)


def _frame(recs, run_id="r1"):
    rows = [
        to_row(CYCLE, r, partition_date=partition_date_of(CYCLE, r), extracted_at=datetime(2024, 3, 9), run_id=run_id)
        for r in recs
    ]
    return rows_to_frame(CYCLE, rows)


WEEK = [records.cycle(i, f"2024-03-0{i}T04:00:00.000Z", end=f"2024-03-0{i + 1}T04:00:00.000Z") for i in range(1, 8)]
WINDOW = SliceWindow("_partition_date", date(2024, 3, 3), date(2024, 3, 5))


def _ids(warehouse):
    frame = warehouse.read_frame("SELECT id FROM raw.cycle ORDER BY id")
    return [int(i) for i in frame["id"]]


def test_replacing_a_slice_twice_leaves_no_duplicates(warehouse):
    table = raw_table(CYCLE)
    warehouse.replace_slice(table, _frame(WEEK), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8)))
    warehouse.replace_slice(table, _frame(WEEK[2:4]), WINDOW)
    warehouse.replace_slice(table, _frame(WEEK[2:4]), WINDOW)
    assert _ids(warehouse) == [1, 2, 3, 4, 5, 6, 7]


def test_replacing_a_slice_touches_no_row_outside_it(warehouse):
    table = raw_table(CYCLE)
    warehouse.replace_slice(
        table, _frame(WEEK, "first"), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8))
    )
    warehouse.replace_slice(table, _frame(WEEK[2:4], "second"), WINDOW)
    runs = warehouse.read_frame("SELECT id, _run_id FROM raw.cycle ORDER BY id")
    assert list(runs["_run_id"]) == ["first", "first", "second", "second", "first", "first", "first"]


def test_an_empty_frame_empties_its_slice(warehouse):
    table = raw_table(CYCLE)
    warehouse.replace_slice(table, _frame(WEEK), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8)))
    warehouse.replace_slice(table, _frame([]), WINDOW)
    assert _ids(warehouse) == [1, 2, 5, 6, 7]


def test_a_write_failing_midway_rolls_back_to_the_previous_slice(warehouse):
    table = raw_table(CYCLE)
    warehouse.replace_slice(table, _frame(WEEK), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8)))
    broken = _frame(WEEK[2:4])
    broken["_partition_date"] = pd.Series(["not a date", "2024-03-04"], dtype=object)
    # Whichever error each engine raises for the bad date, the old slice must survive.
    with pytest.raises(Exception, match=r"(?i)date|conver"):
        warehouse.replace_slice(table, broken, WINDOW)
    assert _ids(warehouse) == [1, 2, 3, 4, 5, 6, 7]


KILL_MIDWAY = """
import os, signal, sys
from datetime import date
from whoop_dagster.defs.raw.rows import rows_to_frame
from whoop_dagster.defs.raw.tables import raw_table
from whoop_dagster.warehouse import SliceWindow
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.endpoints import CYCLE


class DiesAfterDelete(DuckDBWarehouse):
    def _insert_frame(self, cursor, table, frame):
        os.kill(os.getpid(), signal.SIGKILL)  # the delete has run; the insert never will


DiesAfterDelete(path=sys.argv[1]).replace_slice(
    raw_table(CYCLE), rows_to_frame(CYCLE, []), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8))
)
"""


def test_a_kill_between_delete_and_insert_leaves_the_previous_slice(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    warehouse = DuckDBWarehouse(path=str(path))
    warehouse.replace_slice(
        raw_table(CYCLE), _frame(WEEK), SliceWindow("_partition_date", date(2024, 3, 1), date(2024, 3, 8))
    )
    killed = subprocess.run([sys.executable, "-c", KILL_MIDWAY, str(path)], check=False, timeout=120)
    assert killed.returncode == -9
    assert _ids(warehouse) == [1, 2, 3, 4, 5, 6, 7]

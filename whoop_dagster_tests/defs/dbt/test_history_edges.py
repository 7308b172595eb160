"""The edges of the loaded history, over 36 windows of a year of emulator history, in real dbt builds.

Each window is what the main job loads on some date (its last ``days`` UTC days, at an instant
that walks round the clock), for one of the emulator's five members in five time zones. Every
window is a member of its own in one DuckDB warehouse, so one ``dbt build`` tests them all;
``scripts/check_history_windows.py`` builds each window alone as the main job would.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from whoop_dagster.defs.raw.rows import parse_timestamp
from whoop_dagster.emulator import Emulator, EmulatorConfig
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt, run_results
from whoop_dagster_tests.defs.dbt.history_windows import (
    Window,
    as_member,
    combined_records,
    spread_windows,
    window_of,
    window_records,
)
from whoop_dagster_tests.defs.dbt.sample_data import SampleData, load_raw
from whoop_dagster_tests.support.clock import frozen_now

pytestmark = [pytest.mark.slow, pytest.mark.time_sensitive]

WINDOWS = 36
MEMBERS = 5
#: The member whose first three days of cycles are dropped: the flag must not hide that.
BROKEN = WINDOWS
BROKEN_DAYS_WITHOUT_CYCLES = 3
#: The warn tests that must catch the broken member, and only it.
CATCH_BROKEN = {"assert_records_before_loaded_history_are_on_its_first_days", "assert_scored_recovery_has_its_cycle"}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """36 windows (plus the broken member) in one warehouse after one ``dbt build --store-failures``."""
    end = frozen_now()
    emu = Emulator(EmulatorConfig(seed=7, days=800, users=MEMBERS, now=end))
    windows = spread_windows(WINDOWS, end, members=MEMBERS)
    records = combined_records(emu, windows)
    broken = Window(BROKEN, end - timedelta(days=200, hours=5), 30)
    broken_records = as_member(window_records(emu, broken), broken.index)
    cut = broken.first + timedelta(days=BROKEN_DAYS_WITHOUT_CYCLES)
    broken_records["cycle"] = [c for c in broken_records["cycle"] if parse_timestamp(c["start"]).date() >= cut]
    for name, rows in broken_records.items():
        records[name] = records[name] + rows

    root = tmp_path_factory.mktemp("history_edges")
    path = root / "whoop.duckdb"
    load_raw(DuckDBWarehouse(path=str(path)), SampleData(records))
    target = root / "target"
    run_dbt(["build", "--store-failures"], target="local", target_path=target, env=duckdb_env(path), check=False)
    return {"windows": windows, "records": records, "path": path, "target": target}


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def failing_members(path: Path, test_name: str) -> set[int]:
    """Members in the rows a failed test stored (``--store-failures``)."""
    where = f"where table_name = '{test_name}'"
    (schema,) = {s for (s,) in query(path, f"select table_schema from information_schema.tables {where}")}
    columns = {c for (c,) in query(path, f"select column_name from information_schema.columns {where}")}
    if "user_id" in columns:
        return {window_of(u) for (u,) in query(path, f"select user_id from {schema}.{test_name}")}
    # assert_scored_recovery_has_its_cycle names cycles: cycle ids carry the member too.
    return {window_of(c) for (c,) in query(path, f"select cycle_id from {schema}.{test_name}")}


def test_windows_cover_a_year_every_hour_and_every_member(history):
    windows: list[Window] = history["windows"]
    assert len({w.first for w in windows}) >= 30
    assert (max(w.last for w in windows) - min(w.last for w in windows)).days >= 330
    hours = {w.now.hour for w in windows}
    assert len(hours) >= 20
    assert {0, 4, 5, 23} <= hours  # both sides of UTC midnight and of the home member's local midnight
    assert {w.member for w in windows} == set(range(MEMBERS))
    assert {w.days for w in windows} >= {1, 7, 90, 365}


def test_every_dbt_test_passes_in_every_window(history):
    statuses = run_results(history["target"])
    assert len(statuses) > 100
    failed = {uid.split(".")[2]: status for uid, status in statuses.items() if status not in ("success", "pass")}
    assert set(failed) == CATCH_BROKEN, failed
    for name in failed:
        members = failing_members(history["path"], name)
        assert members == {BROKEN}, f"{name} failed for windows {sorted(members - {BROKEN})}"


def test_records_before_the_loaded_history_are_flagged_exactly(history):
    """Flags equal an independent count: workouts and sleeps starting before the window's first cycle."""
    records = history["records"]
    first_cycle: dict[int, datetime] = {}
    for cycle in records["cycle"]:
        start = parse_timestamp(cycle["start"])
        member = window_of(cycle["user_id"])
        first_cycle[member] = min(first_cycle.get(member, start), start)

    def expected(name: str) -> set[str]:
        return {
            r["id"]
            for r in records[name]
            if window_of(r["user_id"]) not in first_cycle
            or parse_timestamp(r["start"]) < first_cycle[window_of(r["user_id"])]
        }

    path = history["path"]
    workouts = {w for (w,) in query(path, "select workout_id from marts.fact_workout where is_before_loaded_history")}
    sleeps = {s for (s,) in query(path, "select sleep_id from marts.fact_sleep where is_before_loaded_history")}
    assert workouts == expected("workout")
    assert sleeps == expected("sleep")
    # The edges are really there: windows whose first day holds an evening workout or a nap of
    # the day before, and windows that hold no cycle at all (one day, loaded before its onset).
    per_member = defaultdict(int)
    for (user_id,) in query(path, "select user_id from marts.fact_workout where is_before_loaded_history"):
        per_member[window_of(user_id)] += 1
    assert len(set(per_member) - {BROKEN}) >= 3
    orphans = "select count(*) from marts.fact_workout where cycle_id is null and not is_before_loaded_history"
    assert query(path, orphans) == [(0,)]


def test_every_window_ends_on_its_open_current_cycle(history):
    path = history["path"]
    current = dict(query(path, "select user_id, count(*) from staging.stg_cycle where end_at_utc is null group by 1"))
    with_cycles = {u for (u,) in query(path, "select distinct user_id from staging.stg_cycle")}
    # The open cycle started at or after every loaded cycle and before now: always in the window.
    assert all(current.get(u) == 1 for u in with_cycles), "each member with cycles has exactly one open cycle"
    assert len(with_cycles) > WINDOWS - 5  # only one-day windows loaded before their onset have none


def test_one_window_built_alone_equals_its_member_in_the_shared_build(history, tmp_path):
    """The windows do not interact: a window's own warehouse holds exactly its member's rows."""
    window = next(w for w in history["windows"] if w.days == 30 and w.member == 1)
    (user,) = {p["user_id"] for p in history["records"]["user_profile"] if window_of(p["user_id"]) == window.index}
    path = tmp_path / "whoop.duckdb"
    alone = {name: [r for r in rows if r["user_id"] == user] for name, rows in history["records"].items()}
    load_raw(DuckDBWarehouse(path=str(path)), SampleData(alone))
    tables = ("intermediate.int_cycle_days", "marts.fact_workout", "marts.fact_sleep", "metrics.recovery_momentum")
    selection = " ".join(f"+{table.split('.')[1]}" for table in tables)
    # The compared models and their parents (seeds included), without their tests: the shared build ran those.
    only_nodes = ["--resource-type", "model", "--resource-type", "seed", "--resource-type", "snapshot"]
    args = ["build", "--select", selection, *only_nodes]
    run_dbt(args, target="local", target_path=tmp_path / "target", env=duckdb_env(path))
    for table in tables:
        sql = f"select * from {table} where user_id = {user} order by all"
        assert query(path, sql) == query(history["path"], sql), table

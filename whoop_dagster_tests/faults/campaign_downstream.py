"""The fault campaign after the raw loads: runs SIGKILLed inside dbt or inside an ML table's write.

``build_downstream`` builds every dbt model and ML asset on a DuckDB file in this process
(the world's marts template, and every such seed's re-run); the faulty run does the same in
a child process that dies. ``marts_problems`` says where the marts disagree with raw.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
from whoop_dagster_tests.faults.campaign_lab import EpisodeResult, SeedLab, table_problems
from whoop_dagster_tests.faults.campaign_plan import Episode
from whoop_dagster_tests.support.environ import environment_variables

ML_TABLES = ("recovery_forecast", "recovery_anomalies", "sleep_performance_forecast")
#: dbt's own progress line as dbt prints it (dagster-dbt echoes it live): a model built, a test run.
DBT_NODE_DONE = re.compile(r"\b\d+ of \d+ (OK|PASS|WARN|ERROR|FAIL|SKIP)\b")

#: (what, SQL on the warehouse that must give the same answer as the next one)
MARTS_AGREE_WITH_RAW = (
    ("cycles", "select count(distinct id) from raw.cycle", "select count(*) from staging.stg_cycle"),
    ("sleeps", "select count(distinct id) from raw.sleep", "select count(*) from marts.fact_sleep"),
    ("workouts", "select count(distinct id) from raw.workout", "select count(*) from marts.fact_workout"),
    ("recoveries", "select count(distinct cycle_id) from raw.recovery", "select count(*) from staging.stg_recovery"),
    (
        "day strain (re-scores)",
        "select round(sum(cast(json_extract_string(payload, '$.score.strain') as double)), 6) from raw.cycle",
        "select round(sum(day_strain), 6) from staging.stg_cycle",
    ),
)


def build_downstream(path: Path, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """Every dbt model (with its tests) and ML asset on the DuckDB file ``path``, in this process."""
    from whoop_dagster.defs.dbt.definitions import build_dbt_definitions
    from whoop_dagster.defs.ml.definitions import build_ml_definitions

    warehouse = DuckDBWarehouse(path=str(path))
    with environment_variables({"WHOOP_DUCKDB_PATH": str(path), "WHOOP_DEPLOYMENT": "local"}):
        dbt = build_dbt_definitions("local")
        ml = build_ml_definitions(warehouse)
        return dg.materialize(
            [*(dbt.assets or []), *(ml.assets or [])],
            resources={
                **(dbt.resources or {}),
                "warehouse": warehouse,
                WAREHOUSE_IO_MANAGER_KEY: DuckDBWarehouseIOManager(database=str(path)),
            },
            instance=instance,
            raise_on_error=False,
        )


def ml_row_counts(path: Path) -> dict[str, int | None]:
    """Rows of each ``ml`` table (None: absent)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        present = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'ml'"
            ).fetchall()
        }
        return {
            name: connection.execute(f"select count(*) from ml.{name}").fetchone()[0] if name in present else None
            for name in ML_TABLES
        }


def marts_problems(path: Path) -> list[str]:
    """Where staging and marts disagree with raw, and ML tables that are missing, empty or duplicated."""
    problems = []
    with duckdb.connect(str(path), read_only=True) as connection:
        for what, raw_sql, mart_sql in MARTS_AGREE_WITH_RAW:
            raw, mart = connection.execute(raw_sql).fetchone()[0], connection.execute(mart_sql).fetchone()[0]
            if raw != mart:
                problems.append(f"marts disagree with raw on {what}: raw {raw}, marts {mart}")
        duplicated = connection.execute(
            "select count(*) from (select user_id, date_day from ml.recovery_forecast group by all having count(*) > 1)"
        ).fetchone()[0]
        if duplicated:
            problems.append(f"ml.recovery_forecast has {duplicated} duplicated day(s)")
    counts = ml_row_counts(path)
    problems += [f"ml.{name} is {'missing' if rows is None else 'empty'}" for name, rows in counts.items() if not rows]
    return problems


def downstream_episode(lab: SeedLab, episode: Episode, fired: Counter[str]) -> EpisodeResult:
    """The steps after the raw loads in a child process, SIGKILLed inside dbt or inside an ML table's write."""
    main = episode.faults[0]
    lab.downstream = True
    before = lab.tables()
    ml_before = ml_row_counts(lab.duckdb_path)
    marker = lab.tmp_path / f"ml-killed-{len(lab.texts)}.json"
    spec: dict[str, Any] = {"duckdb_path": str(lab.duckdb_path)}
    done = [0]
    child: Any = None

    def on_line(line: str) -> None:
        if main["kind"] == "kill_inside_dbt" and DBT_NODE_DONE.search(line):
            done[0] += 1
            if done[0] == main["after_models"]:
                os.killpg(child.pid, signal.SIGKILL)  # the child and its dbt: the group it leads

    if main["kind"] == "kill_inside_ml_write":
        spec.update(victim=main["victim"], marker=str(marker))
    child = lab.start_child("downstream", spec, on_line=on_line)
    code = lab.finish_child(child)
    problems = table_problems(lab, before, lab.days, ())  # raw is not theirs to touch
    if code == -signal.SIGKILL:
        fired[main["kind"]] += 1
        if main["kind"] == "kill_inside_ml_write":
            state = json.loads(marker.read_text()) if marker.exists() else {}
            after = ml_row_counts(lab.duckdb_path)[main["victim"]]
            outcome = (
                f"killed inside the ml.{main['victim']} write: {ml_before[main['victim']]} rows before, "
                f"{state.get('rows_left')} left after the IO manager's delete, {after} after the kill"
            )
        else:
            outcome = f"killed inside dbt after {done[0]} model(s)/test(s)"
    elif code == 0:
        outcome = f"not killed (dbt finished after {done[0]} nodes), succeeded"
    else:
        outcome = f"not killed, exit {code}"
        problems.append(f"the dbt and ML run failed (exit {code}) without a fault")
    return EpisodeResult(outcome, problems, set())

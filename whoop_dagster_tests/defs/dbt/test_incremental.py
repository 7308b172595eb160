"""An incremental build after WHOOP re-scores, completes and deletes records equals a full refresh."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.dbt_runner import COMPARED_MODELS, normalise, read_duckdb_tables, run_dbt, run_results
from whoop_dagster_tests.defs.dbt.sample_data import EXTRACTED_AT, FIRST_DAY, USER_ID, SampleData, reload_partition

#: Build models, seeds and snapshots without running the tests (the incremental step runs them).
WITHOUT_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]

STAGING_AND_MARTS = (*COMPARED_MODELS, "staging.stg_user_profile", "staging.stg_body_measurement", "marts.dim_user")


def _rescore(data: SampleData) -> tuple[SampleData, dict[str, date]]:
    """A re-scored recovery, a pending recovery now scored, a re-scored sleep and a deleted workout."""
    changed = data.copy()
    touched: dict[str, date] = {}

    rescored = changed.by_id("recovery", cycle_id=93_845_005)
    rescored["score"]["recovery_score"] = 12
    rescored["updated_at"] = "2024-03-17T09:00:00.000Z"
    touched["recovery"] = FIRST_DAY + timedelta(days=5)

    sleep = changed.by_id("sleep", cycle_id=93_845_005, nap=False)
    sleep["score"]["sleep_performance_percentage"] = 55
    sleep["updated_at"] = "2024-03-17T09:00:00.000Z"
    touched["sleep"] = FIRST_DAY + timedelta(days=5)

    workouts = changed.records["workout"]
    deleted = next(w for w in workouts if w["user_id"] == USER_ID and w["start"].startswith("2024-02-03"))
    workouts.remove(deleted)
    touched["workout"] = date(2024, 2, 3)
    return changed, touched


def test_after_rescores_and_deletes_an_incremental_build_equals_a_full_one(
    raw_duckdb: Path, sample_data: SampleData, tmp_path: Path
):
    env = duckdb_env(raw_duckdb)
    target_path = tmp_path / "target"
    run_dbt(["build", *WITHOUT_TESTS], target="local", target_path=target_path, env=env)

    changed, touched = _rescore(sample_data)
    warehouse = DuckDBWarehouse(path=str(raw_duckdb))
    later = EXTRACTED_AT + timedelta(days=1)
    for endpoint, day in touched.items():
        reload_partition(warehouse, changed, endpoint, day, extracted_at=later)

    run_dbt(["build"], target="local", target_path=target_path, env=env)
    assert set(run_results(target_path).values()) <= {"success", "pass", "warn"}
    incremental = read_duckdb_tables(raw_duckdb, STAGING_AND_MARTS)

    with duckdb.connect(str(raw_duckdb), read_only=True) as connection:
        assert connection.sql(
            "select recovery_score from marts.fact_daily_recovery where cycle_id = 93845005"
        ).fetchall() == [(12.0,)]
        assert connection.sql(
            f"select count(*) from staging.stg_workout where user_id = {USER_ID} and start_date_local = '2024-02-03'"
        ).fetchall() == [(0,)]

    run_dbt(["build", "--full-refresh", *WITHOUT_TESTS], target="local", target_path=target_path, env=env)
    full = read_duckdb_tables(raw_duckdb, STAGING_AND_MARTS)
    for table in STAGING_AND_MARTS:
        assert normalise(incremental[table]) == normalise(full[table]), table

"""``dbt build`` of the whole project over emulator-shaped raw data: on DuckDB, and on
dbt-snowflake against a fakesnow server, with the same results in both warehouses."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from whoop_dagster_tests.defs.dbt.dbt_runner import (
    COMPARED_MODELS,
    LOAD_TIME_COLUMNS,
    normalise,
    read_duckdb_tables,
    read_snowflake_tables,
    run_dbt,
    run_results,
)
from whoop_dagster_tests.defs.dbt.sample_data import UNKNOWN_SPORT_ID, USER_ID, SampleData, load_raw

#: The warn-severity tests the sample data trips on purpose (sports missing from the catalog).
EXPECTED_WARNINGS = {"accepted_values_dim_sport_is_in_catalog__False__True", "warn_unknown_activity_types"}


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def test_dbt_build_passes_on_duckdb_over_emulator_shaped_data(built_duckdb: tuple[Path, Path]):
    _, target_path = built_duckdb
    statuses = run_results(target_path)
    failures = {uid: status for uid, status in statuses.items() if status not in ("success", "pass", "warn")}
    assert failures == {}
    warned = {uid.split(".")[2] for uid, status in statuses.items() if status == "warn"}
    assert warned == EXPECTED_WARNINGS
    kinds = {uid.split(".")[0] for uid in statuses}
    assert {"model", "seed", "snapshot", "test", "unit_test"} <= kinds


def test_every_documented_column_exists_and_every_column_is_documented(built_duckdb: tuple[Path, Path]):
    path, target_path = built_duckdb
    manifest = json.loads((target_path / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "snapshot"):
            continue
        actual = {
            row[0]
            for row in _query(
                path,
                "select column_name from information_schema.columns "
                f"where table_schema = '{node['schema']}' and table_name = '{node['alias']}'",
            )
        }
        assert set(node["columns"]) == actual, node["unique_id"]


def test_unscored_records_flow_as_nulls_and_naps_are_flagged(built_duckdb: tuple[Path, Path]):
    path, _ = built_duckdb
    pending = _query(
        path,
        f"select score_state, recovery_score, hrv_rmssd_milli from marts.fact_daily_recovery "
        f"where user_id = {USER_ID} and score_state <> 'SCORED' order by date_day",
    )
    assert pending == [("UNSCORABLE", None, None), ("PENDING_SCORE", None, None)]
    naps = _query(
        path, f"select count(*), min(total_sleep_minutes) from marts.fact_sleep where is_nap and user_id = {USER_ID}"
    )
    assert naps == [(1, 34.0)]
    current = _query(
        path,
        f"select is_current_cycle, cycle_end_at_local is null from marts.fact_daily_strain "
        f"where user_id = {USER_ID} order by date_day desc limit 1",
    )
    assert current == [(True, True)]


def test_a_sleep_over_utc_midnight_lands_on_the_day_the_member_woke_into(built_duckdb: tuple[Path, Path]):
    path, _ = built_duckdb
    # Day index 14 of the sample: in London (offset Z), asleep at 22:40 UTC on Feb 14, awake on Feb 15.
    rows = _query(
        path,
        "select s.start_at_local, s.wake_date_local, f.date_day from staging.stg_sleep s "
        "join marts.fact_sleep f on s.sleep_id = f.sleep_id "
        f"where s.user_id = {USER_ID} and s.timezone_offset = 'Z' order by s.start_at_utc limit 1",
    )
    [(start_local, wake_date, date_day)] = rows
    assert (start_local.date().isoformat(), wake_date.isoformat(), date_day.isoformat()) == (
        "2024-02-14",
        "2024-02-15",
        "2024-02-15",
    )


def test_member_names_and_unknown_sports_survive_intact(built_duckdb: tuple[Path, Path]):
    path, _ = built_duckdb
    assert _query(path, f"select full_name, is_current from marts.dim_user where user_id = {USER_ID}") == [
        ("Siobhán O'Connor-Núñez", True)
    ]
    assert _query(
        path, "select sport_category, is_in_catalog from marts.dim_sport where sport_key = 'padel_tennis_deluxe'"
    ) == [("other", False)]


def test_an_unknown_sport_id_lands_as_unknown_and_keeps_its_workouts(built_duckdb: tuple[Path, Path]):
    path, target_path = built_duckdb
    assert _query(
        path,
        "select activity_type_key, activity_name, activity_category, is_known from marts.dim_activity_type "
        f"where sport_id = {UNKNOWN_SPORT_ID}",
    ) == [("underwater_hockey", "underwater hockey", "unknown", False)]
    staged, in_fact, unknown_in_fact = _query(
        path,
        "select (select count(*) from staging.stg_workout), (select count(*) from marts.fact_workout), "
        f"(select count(*) from marts.fact_workout where sport_id = {UNKNOWN_SPORT_ID} "
        "and activity_type_key = 'underwater_hockey')",
    )[0]
    assert staged == in_fact
    assert unknown_in_fact >= 2
    # the warning names the unknown sports and blocks nothing
    statuses = run_results(target_path)
    [warning] = [uid for uid in statuses if uid.split(".")[2] == "warn_unknown_activity_types"]
    assert statuses[warning] == "warn"


def test_old_and_new_workouts_of_one_sport_share_its_activity_type(built_duckdb: tuple[Path, Path]):
    """Workouts before 2025-09-01 carry sport_id and name, later ones only the name: both map."""
    path, _ = built_duckdb
    rows = _query(
        path,
        "select w.sport_id is null as v2_only, t.activity_name, t.activity_category, t.sport_id "
        "from marts.fact_workout w join marts.dim_activity_type t using (activity_type_key) "
        "where w.activity_type_key = 'weightlifting' group by all order by all",
    )
    assert rows == [(False, "Weightlifting", "strength", 45), (True, "Weightlifting", "strength", 45)]


def test_sleep_stages_cover_scored_sleeps_only(built_duckdb: tuple[Path, Path]):
    path, _ = built_duckdb
    assert _query(path, "select sleep_stage_key from marts.dim_sleep_stage order by display_order") == [
        ("light",),
        ("slow_wave",),
        ("rem",),
        ("awake",),
    ]
    per_sleep = _query(
        path,
        "select s.is_scored, count(distinct s.sleep_id), count(st.sleep_id) from marts.fact_sleep s "
        "left join marts.fact_sleep_stage st using (sleep_id) group by s.is_scored order by s.is_scored",
    )
    (_, unscored, unscored_rows), (_, scored, scored_rows) = per_sleep
    assert unscored >= 1
    assert unscored_rows == 0  # absent, not zero
    assert scored_rows == 4 * scored
    mismatched = _query(
        path,
        "select count(*) from marts.fact_sleep s join marts.fact_sleep_stage st using (sleep_id) "
        "where st.sleep_stage_key = 'rem' and st.stage_minutes <> s.rem_sleep_minutes",
    )
    assert mismatched == [(0,)]


@pytest.mark.snowflake
def test_the_same_project_builds_on_snowflake_with_the_same_results(
    built_duckdb: tuple[Path, Path], sample_data: SampleData, tmp_path: Path
):
    import snowflake.connector

    from whoop_dagster_tests.support.snowflake import fakesnow_server, snowflake_warehouse

    database = "WHOOP_DBT_CI"
    with fakesnow_server(database) as kwargs:
        load_raw(snowflake_warehouse(kwargs), sample_data)
        env = {"WHOOP_FAKESNOW_PORT": str(kwargs["port"]), "SNOWFLAKE_DATABASE": database}
        target_path = tmp_path / "target"
        run_dbt(["build"], target="ci", target_path=target_path, env=env)
        statuses = run_results(target_path)
        assert {uid: s for uid, s in statuses.items() if s not in ("success", "pass", "warn")} == {}

        # A second build takes the incremental path: Snowflake MERGE plus the delete post-hook.
        run_dbt(["build", "--select", "staging"], target="ci", target_path=target_path, env=env)

        connection = snowflake.connector.connect(**kwargs)
        try:
            snowflake_tables = read_snowflake_tables(connection)
        finally:
            connection.close()

    duckdb_tables = read_duckdb_tables(built_duckdb[0])
    for table in COMPARED_MODELS:
        assert normalise(snowflake_tables[table], LOAD_TIME_COLUMNS) == normalise(
            duckdb_tables[table], LOAD_TIME_COLUMNS
        ), table

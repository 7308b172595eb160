"""Raw assets against the emulator over real HTTP, into a real DuckDB file."""

from datetime import date

import dagster as dg
import pytest

from whoop_dagster.defs.raw.assets import build_raw_assets
from whoop_dagster.defs.raw.checks import build_raw_checks
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, CYCLE, RECOVERY, SLEEP, WORKOUT
from whoop_dagster_tests.support.clock import frozen_now
from whoop_dagster_tests.support.whoop import (
    days_ago,
    emulator,
    frozen_partitions_def,
    record_about_days_ago,
    table_by_id,
    truth_by_partition,
    whoop_resource,
)

pytestmark = pytest.mark.time_sensitive

RAW_ASSETS = build_raw_assets(frozen_partitions_def(), "duckdb")
#: The blocking checks and the volume checks, whose "completed days" end at the emulator's frozen now.
RAW_CHECKS = build_raw_checks("warehouse_writer", frozen_now)


@pytest.fixture
def emu():
    with emulator(days=30) as running:
        yield running


@pytest.fixture
def resources(emu, tmp_path):
    return {
        "whoop": whoop_resource(emu, tmp_path, max_retries=1),
        "warehouse": DuckDBWarehouse(path=str(tmp_path / "whoop.duckdb")),
    }


def materialize_range(resources, first: date, last: date, selection="group:whoop_raw"):
    result = dg.materialize(
        [*RAW_ASSETS, *RAW_CHECKS],
        resources=resources,
        selection=selection,
        tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        raise_on_error=False,
    )
    return result


def collections_only(resources, first, last):
    keys = " or ".join(f'key:"raw/{e.name}"' for e in COLLECTION_ENDPOINTS)
    return materialize_range(resources, first, last, selection=keys)


def test_a_range_backfill_loads_exactly_the_emulators_records_of_the_range(emu, resources):
    first, last = days_ago(20), days_ago(0)
    result = collections_only(resources, first, last)
    assert result.success
    for endpoint in COLLECTION_ENDPOINTS:
        table = table_by_id(resources["warehouse"], endpoint)
        assert table == truth_by_partition(emu, endpoint, first, last), endpoint.name


def test_a_range_backfill_is_one_run_with_one_paginated_pass_per_endpoint(emu, resources):
    first, last = days_ago(20), days_ago(0)
    before = len(emu.request_log)
    result = collections_only(resources, first, last)
    assert result.success
    materializations = result.asset_materializations_for_node("raw__cycle")
    assert materializations, "raw/cycle materialized"
    requests = materializations[0].metadata["whoop/api_requests"].value
    records = materializations[0].metadata["whoop/records_seen"].value
    assert requests == -(-records // 25) or (records == 0 and requests == 1)
    assert len(emu.request_log) > before


def test_loading_the_same_range_twice_leaves_an_identical_table(emu, resources):
    first, last = days_ago(10), days_ago(0)
    assert collections_only(resources, first, last).success
    once = {e.name: table_by_id(resources["warehouse"], e) for e in COLLECTION_ENDPOINTS}
    assert collections_only(resources, first, last).success
    twice = {e.name: table_by_id(resources["warehouse"], e) for e in COLLECTION_ENDPOINTS}
    assert once == twice


def test_a_rescore_reloads_only_that_day(emu, resources):
    first, last = days_ago(10), days_ago(0)
    assert collections_only(resources, first, last).success
    warehouse = resources["warehouse"]
    before = warehouse.read_frame("SELECT id, _partition_date, _run_id, updated_at FROM raw.cycle ORDER BY id")
    target_day, victim = record_about_days_ago(emu, CYCLE.name, 5)
    emu.rescore(CYCLE.name, victim["id"])
    assert collections_only(resources, target_day, target_day).success
    after = warehouse.read_frame("SELECT id, _partition_date, _run_id, updated_at FROM raw.cycle ORDER BY id")
    changed = after.merge(before, on="id", suffixes=("", "_before"))
    changed = changed[changed["_run_id"] != changed["_run_id_before"]]
    assert set(changed["_partition_date"].astype(str)) == {target_day.isoformat()}
    row = after[after["id"] == victim["id"]].iloc[0]
    assert row["updated_at"] > before[before["id"] == victim["id"]].iloc[0]["updated_at"]


def test_a_day_whose_records_vanished_upstream_ends_up_empty(emu, resources):
    day, _ = record_about_days_ago(emu, WORKOUT.name, 3)
    assert collections_only(resources, day, day).success
    assert table_by_id(resources["warehouse"], WORKOUT)
    for record in list(emu.dataset.records(WORKOUT.name)):
        if record["start"].startswith(day.isoformat()):
            emu.delete(WORKOUT.name, record["id"])
    assert collections_only(resources, day, day).success
    frame = resources["warehouse"].read_frame("SELECT count(*) AS n FROM raw.workout WHERE _partition_date = ?", (day,))
    assert int(frame["n"][0]) == 0


def test_recoveries_land_in_the_partition_of_their_sleep(emu, resources):
    first, last = days_ago(6), days_ago(0)
    assert collections_only(resources, first, last).success
    recoveries = table_by_id(resources["warehouse"], RECOVERY)
    sleeps = {s["id"]: s for s in emu.dataset.records(SLEEP.name)}
    assert recoveries
    for day, payload in recoveries.values():
        assert sleeps[payload["sleep_id"]]["start"].startswith(day.isoformat())


def test_profile_and_body_measurement_replace_their_single_row(emu, resources):
    selection = 'key:"raw/user_profile" or key:"raw/body_measurement"'
    assert dg.materialize(RAW_ASSETS, resources=resources, selection=selection).success
    assert dg.materialize(RAW_ASSETS, resources=resources, selection=selection).success
    warehouse = resources["warehouse"]
    profile = warehouse.read_frame("SELECT user_id, payload FROM raw.user_profile")
    body = warehouse.read_frame("SELECT user_id, payload FROM raw.body_measurement")
    assert len(profile) == 1
    assert len(body) == 1
    assert int(body["user_id"][0]) == int(profile["user_id"][0])


def test_raw_checks_pass_on_emulator_data(emu, resources):
    first, last = days_ago(10), days_ago(0)
    result = collections_only(resources, first, last)
    assert result.success
    checks = dg.materialize(
        [*RAW_ASSETS, *RAW_CHECKS],
        resources=resources,
        selection=dg.AssetSelection.checks_for_assets(*(a.key for a in RAW_ASSETS[:4])),
    )
    evaluations = checks.get_asset_check_evaluations()
    assert evaluations
    assert all(e.passed for e in evaluations)


def test_an_api_failure_names_endpoint_and_partitions_and_keeps_old_rows(emu, resources):
    day = days_ago(4)
    assert collections_only(resources, day, day).success
    before = table_by_id(resources["warehouse"], CYCLE)
    emu.faults.add("server_error", path="/v2/cycle", times=50)
    result = materialize_range(resources, day, day, selection='key:"raw/cycle"')
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.to_string()
    assert "endpoint=cycle" in message
    assert f"partitions={day}" in message
    assert table_by_id(resources["warehouse"], CYCLE) == before


@pytest.mark.snowflake
def test_the_snowflake_path_loads_the_same_records_idempotently(emu, tmp_path):
    from whoop_dagster_tests.support.snowflake import fakesnow_server, snowflake_warehouse

    first, last = days_ago(8), days_ago(0)
    with fakesnow_server() as kwargs:
        resources = {"whoop": whoop_resource(emu, tmp_path, max_retries=1), "warehouse": snowflake_warehouse(kwargs)}
        assert collections_only(resources, first, last).success
        assert collections_only(resources, first, last).success
        for endpoint in COLLECTION_ENDPOINTS:
            assert table_by_id(resources["warehouse"], endpoint) == truth_by_partition(emu, endpoint, first, last)

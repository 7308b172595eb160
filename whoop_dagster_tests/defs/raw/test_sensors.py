"""Cursor sensors against the emulator: each scenario of the issue, tick by tick.

The sensors run on the emulator's clock (frozen at the tests' instant, moved by hand), never
on the wall clock.
"""

import json
from datetime import timedelta

import dagster as dg
import pytest

from whoop_dagster.defs.raw.cursor import SensorCursor
from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges
from whoop_dagster.defs.raw.rows import parse_timestamp
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG, build_endpoint_sensor
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, CYCLE, RECOVERY, SLEEP
from whoop_dagster_tests.support.whoop import (
    data_requests,
    emulator,
    frozen_partitions_def,
    record_about_days_ago,
    whoop_resource,
)

pytestmark = pytest.mark.time_sensitive

LOOKBACK = 14
PARTITIONS = frozen_partitions_def()


def sensor_for(endpoint, emu):
    return build_endpoint_sensor(
        endpoint,
        PARTITIONS,
        interval_seconds=60,
        lookback=LOOKBACK,
        default_status=dg.DefaultSensorStatus.RUNNING,
        clock=emu.now,
    )


def tick(emu, endpoint, whoop, cursor=None):
    with dg.build_sensor_context(cursor=cursor, resources={"whoop": whoop}) as context:
        return sensor_for(endpoint, emu)(context)


def ranges_of(result):
    return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]


@pytest.fixture
def emu():
    with emulator(days=40) as running:
        yield running


@pytest.fixture
def whoop(emu, tmp_path):
    return whoop_resource(emu, tmp_path, max_retries=1)


def expected_ranges(emu, endpoint, cursor: SensorCursor):
    """What the sensor should request, computed independently from the emulator's truth.

    A tick reads every record overlapping the last LOOKBACK days (emulator clock), keeps
    those updated after the cursor and groups their start days into contiguous ranges.
    """
    window_start = (emu.now() - timedelta(days=LOOKBACK)).replace(tzinfo=None)
    sleeps = {s["id"]: s for s in emu.dataset.records(SLEEP.name)}
    days = set()
    for record in emu.dataset.records(endpoint.name):
        span = sleeps[record["sleep_id"]] if endpoint.partition_by_sleep else record
        start = parse_timestamp(span["start"])
        end = parse_timestamp(span["end"]) if span.get("end") else None
        overlaps = end is None or end > window_start
        updated = parse_timestamp(record["updated_at"])
        if overlaps and (cursor.high_water is None or updated > cursor.high_water):
            days.add(start.date())
    return [(r.first.isoformat(), r.last.isoformat()) for r in contiguous_ranges(days)]


@pytest.mark.parametrize("endpoint", COLLECTION_ENDPOINTS, ids=lambda e: e.name)
def test_a_first_tick_requests_the_whole_lookback_window(emu, whoop, endpoint):
    result = tick(emu, endpoint, whoop)
    assert isinstance(result, dg.SensorResult)
    assert ranges_of(result) == expected_ranges(emu, endpoint, SensorCursor())
    assert SensorCursor.parse(result.cursor).high_water is not None


@pytest.mark.parametrize("endpoint", COLLECTION_ENDPOINTS, ids=lambda e: e.name)
def test_an_idle_tick_launches_nothing_and_costs_one_request(emu, whoop, endpoint):
    first = tick(emu, endpoint, whoop)
    before = data_requests(emu)
    second = tick(emu, endpoint, whoop, cursor=first.cursor)
    assert isinstance(second, dg.SkipReason)
    assert data_requests(emu) - before == 1


def test_new_records_today_request_runs_for_exactly_the_changed_days(emu, whoop):
    first = tick(emu, CYCLE, whoop)
    emu.advance(timedelta(hours=26))
    result = tick(emu, CYCLE, whoop, cursor=first.cursor)
    assert isinstance(result, dg.SensorResult)
    assert ranges_of(result) == expected_ranges(emu, CYCLE, SensorCursor.parse(first.cursor))
    # The newest cycle (the current one) started today or, early in the UTC day, yesterday.
    newest_day = emu.dataset.records(CYCLE.name)[0]["start"][:10]
    assert ranges_of(result)[-1][1] == newest_day
    assert SensorCursor.parse(result.cursor).high_water > SensorCursor.parse(first.cursor).high_water


def test_a_ten_day_old_rescore_runs_that_day_only_and_advances_the_cursor(emu, whoop):
    first = tick(emu, CYCLE, whoop)
    day, victim = record_about_days_ago(emu, CYCLE.name, 10)
    emu.rescore(CYCLE.name, victim["id"])
    result = tick(emu, CYCLE, whoop, cursor=first.cursor)
    assert ranges_of(result) == [(day.isoformat(), day.isoformat())]
    rescored = next(r for r in emu.dataset.records(CYCLE.name) if r["id"] == victim["id"])
    assert SensorCursor.parse(result.cursor).high_water == parse_timestamp(rescored["updated_at"])


def test_a_rescored_recovery_runs_the_day_its_sleep_started(emu, whoop):
    first = tick(emu, RECOVERY, whoop)
    victim = emu.dataset.records(RECOVERY.name)[5]
    sleep = next(s for s in emu.dataset.records(SLEEP.name) if s["id"] == victim["sleep_id"])
    emu.rescore(RECOVERY.name, f"{victim['cycle_id']}")
    result = tick(emu, RECOVERY, whoop, cursor=first.cursor)
    day = sleep["start"][:10]
    assert ranges_of(result) == [(day, day)]


def test_a_first_recovery_tick_places_a_whole_window_with_one_sleep_read(emu, whoop):
    before = data_requests(emu)
    result = tick(emu, RECOVERY, whoop)
    assert ranges_of(result) == expected_ranges(emu, RECOVERY, SensorCursor())
    # One page of recoveries (14 days < 25 records) and one page of sleeps, never one read per sleep.
    assert data_requests(emu) - before == 2


def test_when_the_api_is_down_the_tick_skips_and_keeps_its_cursor(emu, whoop):
    first = tick(emu, CYCLE, whoop)
    emu.faults.add("server_error", path="/v2/cycle", times=100)
    emu.advance(timedelta(hours=26))
    result = tick(emu, CYCLE, whoop, cursor=first.cursor)
    assert isinstance(result, dg.SkipReason)
    assert "endpoint=cycle" in result.skip_message


def test_a_retried_tick_produces_the_same_run_keys(emu, whoop):
    first = tick(emu, CYCLE, whoop)
    emu.advance(timedelta(hours=26))
    again = tick(emu, CYCLE, whoop, cursor=first.cursor)
    once_more = tick(emu, CYCLE, whoop, cursor=first.cursor)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in once_more.run_requests]


def request_holding(result, day):
    """The run request whose range holds ``day`` (exactly one must)."""
    (request,) = [r for r in result.run_requests if r.tags[RANGE_START_TAG] <= day <= r.tags[RANGE_END_TAG]]
    return request


def test_a_later_rescore_of_the_same_day_gets_a_new_run_key(emu, whoop):
    first = tick(emu, CYCLE, whoop)
    day, victim = record_about_days_ago(emu, CYCLE.name, 3)
    emu.rescore(CYCLE.name, victim["id"])
    second = tick(emu, CYCLE, whoop, cursor=first.cursor)
    assert ranges_of(second) == [(day.isoformat(), day.isoformat())]
    emu.advance(timedelta(minutes=5))
    emu.rescore(CYCLE.name, victim["id"])
    third = tick(emu, CYCLE, whoop, cursor=second.cursor)
    # Five minutes can also bring the current cycle's hourly sync or a record's scoring: the
    # tick must run exactly what changed, the re-scored day among it.
    assert ranges_of(third) == expected_ranges(emu, CYCLE, SensorCursor.parse(second.cursor))
    again = request_holding(third, day.isoformat())
    assert request_holding(second, day.isoformat()).run_key != again.run_key


def test_the_requested_run_loads_its_range_in_one_run(emu, whoop, tmp_path):
    from whoop_dagster.defs.raw.assets import build_raw_assets
    from whoop_dagster.warehouse.duckdb import DuckDBWarehouse

    result = tick(emu, CYCLE, whoop)
    request = result.run_requests[0]
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    run = dg.materialize(
        build_raw_assets(PARTITIONS, "duckdb"),
        selection=request.asset_selection,
        tags=request.tags,
        resources={"whoop": whoop, "warehouse": warehouse},
    )
    assert run.success
    days = DayRange.from_keys(request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG])
    loaded = warehouse.read_frame("SELECT DISTINCT _partition_date FROM raw.cycle")
    assert {str(d)[:10] for d in loaded["_partition_date"]} <= {
        (days.first + timedelta(days=i)).isoformat() for i in range(days.days)
    }


def test_a_day_whose_sensor_run_failed_is_requested_again_by_the_next_tick(emu, whoop, tmp_path):
    # The cursor moves when a run is requested: a failed run must not leave its day stale for good.
    from whoop_dagster.defs.raw.assets import build_raw_assets
    from whoop_dagster.warehouse.duckdb import DuckDBWarehouse

    instance = dg.DagsterInstance.ephemeral()
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    def tick_on(cursor):
        with dg.build_sensor_context(cursor=cursor, resources={"whoop": whoop}, instance=instance) as context:
            return sensor_for(CYCLE, emu)(context)

    def run(request):
        return dg.materialize(
            build_raw_assets(PARTITIONS, "duckdb"),
            selection=request.asset_selection,
            tags=request.tags,
            resources={"whoop": whoop, "warehouse": warehouse},
            instance=instance,
            raise_on_error=False,
        )

    first = tick_on(None)
    day, victim = record_about_days_ago(emu, CYCLE.name, 3)
    emu.advance(timedelta(minutes=1))
    emu.rescore(CYCLE.name, victim["id"])
    second = tick_on(first.cursor)
    emu.faults.add("server_error", path="/v2/cycle", times=None, status=502)
    assert not run(request_holding(second, day.isoformat())).success
    emu.faults.clear()

    third = tick_on(second.cursor)
    assert isinstance(third, dg.SensorResult)
    assert third.cursor == second.cursor  # nothing new: only the failed day again
    retry = request_holding(third, day.isoformat())
    assert retry.run_key not in {r.run_key for r in second.run_requests}
    assert run(retry).success
    assert isinstance(tick_on(third.cursor), dg.SkipReason)
    loaded = warehouse.read_frame("SELECT payload FROM raw.cycle WHERE id = ?", [victim["id"]])
    rescored = next(r for r in emu.dataset.records(CYCLE.name) if r["id"] == victim["id"])
    assert json.loads(loaded["payload"][0]) == rescored


def test_a_tick_without_an_instance_retries_nothing_and_still_plans(emu, whoop):
    result = tick(emu, CYCLE, whoop)
    assert all("whoop/retry" not in request.tags for request in result.run_requests)

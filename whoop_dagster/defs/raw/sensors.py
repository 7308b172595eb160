"""Cursor sensors: one per partitioned endpoint, loading the partitions whose records changed.

The API filters on a record's time span, not on ``updated_at``: late re-scores are only found by re-reading
a lookback window. The run key carries the new high-water mark, so a retried tick never launches twice.
Each tick also requests again the lookback window's days whose latest load failed: the cursor
moves when a run is requested, so a failed run would otherwise leave its days behind.
"""

import os
from datetime import date, datetime, timedelta

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.clock import Clock, utc_now
from whoop_dagster.defs.raw.cursor import SensorCursor, changed_records, plan_tick
from whoop_dagster.defs.raw.extract import api_sleep_starts_batched, latest_versions, place_records
from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges
from whoop_dagster.defs.raw.tables import raw_asset_key
from whoop_dagster.resources import WhoopApiResource
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, Endpoint
from whoop_dagster.whoop_api.errors import WhoopError

DEFAULT_LOOKBACK_DAYS = 7
REAL_API_INTERVAL_SECONDS = 15 * 60
DEMO_INTERVAL_SECONDS = 60
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_request_for(endpoint: Endpoint, days: DayRange, cursor: SensorCursor) -> dg.RunRequest:
    """One single-run backfill of ``days``; the key names the version it loads."""
    return dg.RunRequest(
        run_key=f"{endpoint.name}:{days}:{cursor.serialize()}",
        asset_selection=[raw_asset_key(endpoint)],
        tags={
            RANGE_START_TAG: days.first.isoformat(),
            RANGE_END_TAG: days.last.isoformat(),
            "whoop/trigger": f"{endpoint.name}_sensor",
        },
    )


def retry_request_for(endpoint: Endpoint, days: DayRange, now: datetime) -> dg.RunRequest:
    """A new load of ``days``, whose latest load failed; the key names the tick, so each tick retries once."""
    return dg.RunRequest(
        run_key=f"{endpoint.name}:{days}:retry:{now.isoformat(timespec='minutes')}",
        asset_selection=[raw_asset_key(endpoint)],
        tags={
            RANGE_START_TAG: days.first.isoformat(),
            RANGE_END_TAG: days.last.isoformat(),
            "whoop/trigger": f"{endpoint.name}_sensor",
            "whoop/retry": "latest load failed",
        },
    )


def failed_days(
    context: dg.SensorEvaluationContext,
    endpoint: Endpoint,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    days: DayRange,
) -> set[date]:
    """The days of ``days`` whose latest load of ``endpoint`` failed (per the instance's partition status)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (unit tests): no history
        return set()
    keys = [(days.first + timedelta(days=i)).isoformat() for i in range(days.days)]
    statuses = instance.get_status_by_partition(raw_asset_key(endpoint), keys, partitions_def) or {}
    return {date.fromisoformat(key) for key, status in statuses.items() if status == dg.AssetPartitionStatus.FAILED}


def sensor_interval_seconds(demo_mode: bool) -> int:
    """``WHOOP_SENSOR_INTERVAL_SECONDS``, else 15 minutes against the real API and 1 minute in demo mode."""
    configured = os.getenv("WHOOP_SENSOR_INTERVAL_SECONDS")
    if configured:
        return int(configured)
    return DEMO_INTERVAL_SECONDS if demo_mode else REAL_API_INTERVAL_SECONDS


def lookback_days() -> int:
    """``WHOOP_SENSOR_LOOKBACK_DAYS`` (default 7): how far back a tick re-reads for late updates."""
    return int(os.getenv("WHOOP_SENSOR_LOOKBACK_DAYS", str(DEFAULT_LOOKBACK_DAYS)))


def build_endpoint_sensor(
    endpoint: Endpoint,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    *,
    interval_seconds: int,
    lookback: int,
    default_status: dg.DefaultSensorStatus,
    clock: Clock = utc_now,
) -> dg.SensorDefinition:
    """The ``<endpoint>_sensor`` for a partitioned collection.

    ``clock`` says what "now" is for the lookback window and the partitions that exist.
    """

    @dg.sensor(
        name=f"{endpoint.name}_sensor",
        description=f"Finds new and re-scored {endpoint.name} records (last {lookback} days) and loads "
        "only the partitions that changed.",
        target=[raw_asset_key(endpoint)],
        minimum_interval_seconds=interval_seconds,
        default_status=default_status,
    )
    def _sensor(context: dg.SensorEvaluationContext, whoop: WhoopApiResource) -> dg.SensorResult | dg.SkipReason:
        cursor = SensorCursor.parse(context.cursor)
        now = clock()
        keys = partitions_def.get_partition_keys(current_time=now)
        first_day, last_day = date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])
        try:
            with whoop.open_client() as client:
                # No `end`: the API's default is its own "now", so nothing just created is cut off.
                window_start = now - timedelta(days=lookback)
                records, _ = latest_versions(endpoint, client.iter_records(endpoint, start=window_start))
                changed = changed_records(records, cursor)
                # A recovery's sleep began up to a day before its cycle: read sleeps from a day earlier.
                lookup = (
                    api_sleep_starts_batched(client, window_start - timedelta(days=1))
                    if endpoint.partition_by_sleep
                    else None
                )
                placed = place_records(endpoint, changed, lookup) if changed else []
                requests = client.stats.requests
        except WhoopError as err:
            # Skip without a cursor: the next tick retries from the same high-water mark.
            return dg.SkipReason(f"{endpoint.name}: WHOOP API unavailable, will retry: {err}")
        plan = plan_tick(placed, cursor, first_day, last_day)
        planned = {day for days in plan.ranges for day in _days_of(days)}
        window = DayRange(max(window_start.date(), first_day), last_day)
        retries = contiguous_ranges(failed_days(context, endpoint, partitions_def, window) - planned)
        if not plan.ranges and not retries:
            return dg.SkipReason(f"{endpoint.name}: no records updated since {cursor.high_water} ({requests} request)")
        context.log.info(
            "%s: %d changed record(s) in %s; cursor → %s; days whose latest load failed, again: %s",
            endpoint.name,
            plan.changed_records,
            ", ".join(map(str, plan.ranges)) or "no day",
            plan.cursor.high_water,
            ", ".join(map(str, retries)) or "none",
        )
        return dg.SensorResult(
            run_requests=[run_request_for(endpoint, days, plan.cursor) for days in plan.ranges]
            + [retry_request_for(endpoint, days, now) for days in retries],
            cursor=plan.cursor.serialize(),
        )

    return _sensor


def _days_of(days: DayRange) -> list[date]:
    return [days.first + timedelta(days=i) for i in range(days.days)]


def build_raw_sensors(
    partitions_def: dg.TimeWindowPartitionsDefinition, demo_mode: bool, clock: Clock = utc_now
) -> list[dg.SensorDefinition]:
    """One cursor sensor per partitioned endpoint.

    RUNNING by default, except in branch deployments: they share the WHOOP app
    with prod, and a branch refreshing (rotating) the token would log prod out.
    """
    running = environment.current_deployment() is not environment.Deployment.BRANCH
    status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    return [
        build_endpoint_sensor(
            endpoint,
            partitions_def,
            interval_seconds=sensor_interval_seconds(demo_mode),
            lookback=lookback_days(),
            default_status=status,
            clock=clock,
        )
        for endpoint in COLLECTION_ENDPOINTS
    ]

"""One raw asset per WHOOP endpoint, built by one factory from the registry.

Collections load a partition range in one run and one API pass and replace its days in one transaction.
"""

import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import dagster as dg

from whoop_dagster.defs.pools import WAREHOUSE_POOL
from whoop_dagster.defs.raw.extract import (
    Extract,
    SleepStartLookup,
    api_sleep_starts,
    build_extract,
    chain_lookups,
    extract_range,
)
from whoop_dagster.defs.raw.partitions import PARTITION_COLUMN, DayRange
from whoop_dagster.defs.raw.tables import column_schema, raw_asset_key, raw_table
from whoop_dagster.resources import WhoopApiResource
from whoop_dagster.warehouse import SliceWindow, WarehouseError, WarehouseResource
from whoop_dagster.whoop_api.endpoints import (
    COLLECTION_ENDPOINTS,
    SINGLE_OBJECT_ENDPOINTS,
    SLEEP,
    Endpoint,
)

if TYPE_CHECKING:
    from whoop_dagster.whoop_api.client import ClientStats, WhoopClient

RAW_GROUP = "whoop_raw"
OWNERS = ["team:whoop-data"]


def build_raw_assets(partitions_def: dg.PartitionsDefinition, warehouse_kind: str) -> list[dg.AssetsDefinition]:
    """The six raw assets: four daily-partitioned collections and two unpartitioned objects."""
    return [
        *(build_collection_asset(e, partitions_def, warehouse_kind) for e in COLLECTION_ENDPOINTS),
        *(build_object_asset(e, warehouse_kind) for e in SINGLE_OBJECT_ENDPOINTS),
    ]


def _asset_metadata(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "dagster/column_schema": column_schema(endpoint),
        "dagster/table_name": f"raw.{endpoint.name}",
        "whoop/endpoint": endpoint.path,
        "whoop/scope": endpoint.scope,
    }


def build_collection_asset(
    endpoint: Endpoint, partitions_def: dg.PartitionsDefinition, warehouse_kind: str
) -> dg.AssetsDefinition:
    """A daily-partitioned raw asset for a paginated collection endpoint."""
    # Recoveries are placed by their sleep's start: read it from raw.sleep, which
    # is why raw/recovery depends on raw/sleep (same partitions).
    deps = [raw_asset_key(SLEEP)] if endpoint.partition_by_sleep else []

    # `backfill_policy` is still marked beta, and Dagster warns on every definition of it: once per
    # asset in every process that loads the code location (each run, each step). The single-run
    # backfill is the design (one API pass per range), so the warning is silenced here, where it is raised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        asset = dg.asset(
            key=raw_asset_key(endpoint),
            group_name=RAW_GROUP,
            description=f"{endpoint.description} One row per record from `GET {endpoint.path}`, "
            "partitioned by the UTC day of the record's start.",
            partitions_def=partitions_def,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=WAREHOUSE_POOL,
            kinds={"python", warehouse_kind},
            owners=OWNERS,
            deps=deps,
            metadata=_asset_metadata(endpoint),
        )

    @asset
    def _collection(
        context: dg.AssetExecutionContext, whoop: WhoopApiResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window  # works for one partition and for a range
        days = DayRange(window.start.date(), (window.end - timedelta(days=1)).date())
        extracted_at = datetime.now(timezone.utc)
        with whoop.open_client() as client:
            lookup = _recovery_sleep_lookup(warehouse, client, days) if endpoint.partition_by_sleep else None
            extract = extract_range(
                client, endpoint, days, run_id=context.run.run_id, extracted_at=extracted_at, sleep_starts=lookup
            )
            stats = client.stats
        table = raw_table(endpoint)
        warehouse.replace_slice(table, extract.frame, SliceWindow(PARTITION_COLUMN, days.first, days.end))
        context.log.info(
            "%s: wrote %d rows for %d day(s) %s (%d API requests, %d outside the range dropped)",
            endpoint.name,
            len(extract.frame),
            days.days,
            days,
            stats.requests,
            extract.outside_range,
        )
        return dg.MaterializeResult(metadata=_materialization_metadata(extract, stats, whoop, days))

    return _collection


def build_object_asset(endpoint: Endpoint, warehouse_kind: str) -> dg.AssetsDefinition:
    """An unpartitioned raw asset for a single-object endpoint, replaced whole on each run."""

    @dg.asset(
        key=raw_asset_key(endpoint),
        group_name=RAW_GROUP,
        description=f"{endpoint.description} From `GET {endpoint.path}`; replaced on every run.",
        pool=WAREHOUSE_POOL,
        kinds={"python", warehouse_kind},
        owners=OWNERS,
        metadata=_asset_metadata(endpoint),
    )
    def _single_object(
        context: dg.AssetExecutionContext, whoop: WhoopApiResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        extracted_at = datetime.now(timezone.utc)
        with whoop.open_client() as client:
            # The body object carries no user id; the client adds the profile's.
            record = dict(client.get_object(endpoint))
            stats = client.stats
        extract = build_extract(
            endpoint, [(None, record)], None, run_id=context.run.run_id, extracted_at=extracted_at, seen=1
        )
        warehouse.replace_slice(raw_table(endpoint), extract.frame, None)
        return dg.MaterializeResult(metadata=_materialization_metadata(extract, stats, whoop, None))

    return _single_object


def _recovery_sleep_lookup(warehouse: WarehouseResource, client: "WhoopClient", days: DayRange) -> SleepStartLookup:
    """Sleep starts from ``raw.sleep`` first, then (rarely, e.g. a sleep not loaded yet) from the API."""
    table = raw_table(SLEEP)

    def from_warehouse(sleep_ids: set[str]) -> Mapping[str, datetime]:
        if not sleep_ids:
            return {}
        ids = sorted(sleep_ids)
        placeholders = ", ".join([warehouse.placeholder()] * len(ids))
        try:
            if not warehouse.table_exists(table):
                return {}
            frame = warehouse.read_frame(
                f"SELECT {warehouse.quote('id')} AS id, {warehouse.quote('start')} AS start "
                f"FROM {warehouse.qualified(table)} WHERE {warehouse.quote('id')} IN ({placeholders})",
                ids,
            )
        except Exception as err:
            raise WarehouseError(
                f"could not read sleep starts from {warehouse.qualified(table)} to place the raw.recovery records "
                f"of partitions {days} ({type(err).__name__}: {err})"
            ) from err
        import pandas as pd

        return {str(row.id): pd.Timestamp(row.start).to_pydatetime() for row in frame.itertuples()}

    return chain_lookups(from_warehouse, api_sleep_starts(client))


def _materialization_metadata(
    extract: Extract, stats: "ClientStats", whoop: WhoopApiResource, days: DayRange | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(len(extract.frame)),
        "whoop/api_requests": dg.MetadataValue.int(stats.requests),
        "whoop/api_pages": dg.MetadataValue.int(stats.pages),
        "whoop/api_retries": dg.MetadataValue.int(stats.retries),
        "whoop/rate_limit_wait_seconds": dg.MetadataValue.float(float(stats.rate_limit_wait_seconds)),
        "whoop/records_seen": dg.MetadataValue.int(extract.records_seen),
        "whoop/records_outside_range": dg.MetadataValue.int(extract.outside_range),
        "whoop/demo_mode": dg.MetadataValue.bool(whoop.demo_mode),
    }
    if days is not None:
        metadata["whoop/partition_days"] = dg.MetadataValue.int(days.days)
        metadata["whoop/partition_range"] = dg.MetadataValue.text(str(days))
    if extract.min_updated_at is not None:
        metadata["whoop/min_updated_at"] = dg.MetadataValue.timestamp(
            extract.min_updated_at.replace(tzinfo=timezone.utc)
        )
        metadata["whoop/max_updated_at"] = dg.MetadataValue.timestamp(
            extract.max_updated_at.replace(tzinfo=timezone.utc)
        )
    return metadata

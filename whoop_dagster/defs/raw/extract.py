"""Extraction of one endpoint's records for a range of daily partitions: plain functions over a WHOOP client.

One paginated pass serves the whole range; each record lands in exactly one partition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.rows import parse_timestamp, partition_date_of, rows_to_frame, to_row
from whoop_dagster.whoop_api.endpoints import SLEEP, Endpoint
from whoop_dagster.whoop_api.errors import WhoopError

if TYPE_CHECKING:
    import pandas as pd

    from whoop_dagster.whoop_api.client import WhoopClient

#: Looks up sleep starts (sleep id → start) for recoveries; returns what it knows.
SleepStartLookup = Callable[[set[str]], Mapping[str, datetime]]


@dataclass
class Extract:
    """The rows of one extraction and what it observed."""

    frame: pd.DataFrame
    records_seen: int = 0
    outside_range: int = 0
    duplicates_dropped: int = 0
    min_updated_at: datetime | None = None
    max_updated_at: datetime | None = None
    rows_per_day: dict[date, int] = field(default_factory=dict)


def latest_versions(endpoint: Endpoint, records: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
    """One record per id, the latest ``updated_at`` winning; and how many were dropped.

    A record updated while we page can show up twice; keep the newer version.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    dropped = 0
    for record in records:
        key = endpoint.record_id(record)
        if key in latest:
            dropped += 1
            if str(record.get("updated_at", "")) <= str(latest[key].get("updated_at", "")):
                continue
        latest[key] = record
    return list(latest.values()), dropped


def api_sleep_starts(client: WhoopClient) -> SleepStartLookup:
    """A lookup that reads each unknown sleep by id from the API (one request per sleep)."""

    def lookup(sleep_ids: set[str]) -> Mapping[str, datetime]:
        starts = {}
        for sleep_id in sorted(sleep_ids):
            sleep = client.get_by_id(SLEEP, id=sleep_id)
            starts[sleep_id] = parse_timestamp(sleep["start"])
        return starts

    return lookup


def api_sleep_starts_batched(client: WhoopClient, window_start: datetime) -> SleepStartLookup:
    """Sleep starts for several unknown sleeps at once, with the fewest requests.

    One unknown sleep: one read by id. Several: one paginated read of the sleeps that start
    after ``window_start`` (usually one page for a sensor's week), then by id for any the
    window missed. A first sensor tick places a week of recoveries this way in one or two
    requests instead of one per sleep.
    """
    by_id = api_sleep_starts(client)

    def lookup(sleep_ids: set[str]) -> Mapping[str, datetime]:
        if len(sleep_ids) <= 1:
            return by_id(sleep_ids)
        starts = {
            str(sleep["id"]): parse_timestamp(sleep["start"])
            for sleep in client.iter_records(SLEEP, start=window_start)
            if str(sleep.get("id")) in sleep_ids
        }
        missing = sleep_ids - starts.keys()
        return {**starts, **(by_id(missing) if missing else {})}

    return lookup


def chain_lookups(*lookups: SleepStartLookup) -> SleepStartLookup:
    """Ask each lookup in turn for the sleep ids the previous ones did not know."""

    def lookup(sleep_ids: set[str]) -> Mapping[str, datetime]:
        found: dict[str, datetime] = {}
        for step in lookups:
            missing = sleep_ids - found.keys()
            if not missing:
                break
            found.update(step(missing))
        return found

    return lookup


def place_records(
    endpoint: Endpoint,
    records: list[Mapping[str, Any]],
    sleep_starts: SleepStartLookup | None = None,
) -> list[tuple[date, Mapping[str, Any]]]:
    """Each record with the partition day it belongs to."""
    starts: Mapping[str, datetime] = {}
    if endpoint.partition_by_sleep:
        if sleep_starts is None:
            raise ValueError(f"{endpoint.name} records need a sleep-start lookup to be placed")
        starts = sleep_starts({str(record.get("sleep_id")) for record in records})
    return [(partition_date_of(endpoint, record, starts), record) for record in records]


def extract_range(
    client: WhoopClient,
    endpoint: Endpoint,
    days: DayRange,
    *,
    run_id: str,
    extracted_at: datetime,
    sleep_starts: SleepStartLookup | None = None,
) -> Extract:
    """All records of ``endpoint`` that belong to ``days``, as raw table rows.

    Raises a :class:`WhoopError` naming the endpoint and partition range (and
    the record, for payload errors) when anything goes wrong.
    """
    start, end = days.api_window()
    try:
        records, duplicates = latest_versions(endpoint, client.iter_records(endpoint, start=start, end=end))
        placed = place_records(endpoint, records, sleep_starts)
    except WhoopError as err:
        raise err.with_context(partitions=str(days)) from err
    return build_extract(
        endpoint, placed, days, run_id=run_id, extracted_at=extracted_at, seen=len(records), duplicates=duplicates
    )


def build_extract(
    endpoint: Endpoint,
    placed: list[tuple[date | None, Mapping[str, Any]]],
    days: DayRange | None,
    *,
    run_id: str,
    extracted_at: datetime,
    seen: int,
    duplicates: int = 0,
) -> Extract:
    """Rows for the placed records that fall in ``days`` (all of them when ``days`` is None)."""
    rows = []
    per_day: dict[date, int] = {}
    updated = []
    for day, record in placed:
        if days is not None and day not in days:
            continue  # it belongs to a neighbouring partition, which loads it
        rows.append(to_row(endpoint, record, partition_date=day, extracted_at=extracted_at, run_id=run_id))
        if day is not None:
            per_day[day] = per_day.get(day, 0) + 1
        if record.get("updated_at"):
            updated.append(parse_timestamp(record["updated_at"]))
    return Extract(
        frame=rows_to_frame(endpoint, rows),
        records_seen=seen,
        outside_range=len(placed) - len(rows),
        duplicates_dropped=duplicates,
        min_updated_at=min(updated, default=None),
        max_updated_at=max(updated, default=None),
        rows_per_day=per_day,
    )

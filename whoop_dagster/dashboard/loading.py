"""What the app reads, cached for a while (a TTL), so a refresh costs the warehouse little and a
pipeline run is never kept waiting by the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import streamlit as st

from whoop_dagster.dashboard.dagster_status import AssetStatus, DagsterUnavailableError, fetch_asset_statuses
from whoop_dagster.dashboard.source import (
    TableQuery,
    WarehouseMissingError,
    WarehouseSource,
    fetch_rows,
    read_tables,
)
from whoop_dagster.dashboard.tabs import WAREHOUSE_TABS

if TYPE_CHECKING:
    import pandas as pd

#: How long a query result is reused before the warehouse is asked again.
CACHE_TTL_SECONDS = 60
#: The table whose dates bound the date filter: every day with a recovery record.
CALENDAR_TABLE = "marts.fact_daily_recovery"

QUERIES_BY_TAB: dict[str, dict[str, TableQuery]] = {tab.TITLE: tab.QUERIES for tab in WAREHOUSE_TABS}


@dataclass(frozen=True)
class DateBounds:
    """The first and last day the warehouse has data for."""

    first: date
    last: date


def data_bounds(source: WarehouseSource) -> DateBounds:
    """First and last ``date_day`` of the marts; :class:`WarehouseMissingError` when there are none."""
    with source.connection() as connection:
        try:
            rows = fetch_rows(connection, f"SELECT min(date_day), max(date_day) FROM {CALENDAR_TABLE}")
        except Exception as err:
            if "marts" in str(err).lower() or "does not exist" in str(err).lower():
                raise WarehouseMissingError(f"no {CALENDAR_TABLE} in the warehouse: run `make run` first") from err
            raise
    first, last = rows[0] if rows else (None, None)
    if first is None or last is None:
        raise WarehouseMissingError(f"{CALENDAR_TABLE} is empty: run `make run` first")
    return DateBounds(_as_date(first), _as_date(last))


def _as_date(value: object) -> date:
    import pandas as pd

    return pd.Timestamp(value).date()


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def cached_bounds(source_key: str, _source: WarehouseSource) -> DateBounds:
    """:func:`data_bounds`, cached per warehouse (``source_key``)."""
    return data_bounds(_source)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner="Reading the warehouse…")
def cached_tab_data(
    source_key: str, tab: str, start: date, end: date, _source: WarehouseSource
) -> dict[str, pd.DataFrame | None]:
    """One tab's tables for ``start``..``end`` over one short-lived connection, cached per warehouse and dates."""
    return read_tables(_source, QUERIES_BY_TAB[tab], start, end)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def cached_asset_statuses(url: str) -> tuple[list[AssetStatus] | None, str | None]:
    """The Dagster instance's asset statuses at ``url``, or (None, why not)."""
    try:
        return fetch_asset_statuses(url), None
    except DagsterUnavailableError as err:
        return None, str(err)


def clear_caches() -> None:
    """Forget every cached result (the sidebar's refresh button)."""
    cached_bounds.clear()
    cached_tab_data.clear()
    cached_asset_statuses.clear()

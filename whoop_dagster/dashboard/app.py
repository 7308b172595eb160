"""The WHOOP dashboard: ``make dashboard`` (``streamlit run whoop_dagster/dashboard/app.py``); never writes."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from whoop_dagster import environment
from whoop_dagster.dashboard import loading, ui
from whoop_dagster.dashboard.dagster_status import ui_url
from whoop_dagster.dashboard.source import (
    DashboardDataError,
    WarehouseBusyError,
    WarehouseMissingError,
    source_from_environment,
)
from whoop_dagster.dashboard.tabs import insights, metrics, quality, recovery, sleep, strain

#: Days shown when the app opens (ending on the latest day with data).
DEFAULT_DAYS = 90


def default_range(bounds: loading.DateBounds) -> tuple[date, date]:
    """The last :data:`DEFAULT_DAYS` days of data (all of it when there is less)."""
    return max(bounds.first, bounds.last - timedelta(days=DEFAULT_DAYS - 1)), bounds.last


def chosen_range(bounds: loading.DateBounds) -> tuple[date, date]:
    """The sidebar's date filter, kept within the data's bounds."""
    picked = st.sidebar.date_input(
        "Dates",
        value=default_range(bounds),
        min_value=bounds.first,
        max_value=bounds.last,
        key="dates",
        help="Every chart shows these days.",
    )
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return picked[0], picked[1]
    return default_range(bounds)  # half-picked range (one date so far): keep showing the default


def tab_data(source, tab: str, start: date, end: date) -> dict | None:
    """A tab's tables; on a busy warehouse the last ones read in this session, with a note."""
    remembered = st.session_state.setdefault("last_good", {})
    try:
        data = loading.cached_tab_data(source.key, tab, start, end, source)
    except WarehouseBusyError as err:
        if (tab, start, end) in remembered:
            st.warning(f"{err}. Showing what was read a moment ago.")
            return remembered[(tab, start, end)]
        st.warning(str(err))
        return None
    remembered[(tab, start, end)] = data
    return data


def main() -> None:
    st.set_page_config(page_title="WHOOP dashboard", page_icon="💚", layout="wide")
    st.title("WHOOP dashboard")
    deployment = environment.current_deployment()
    try:
        source = source_from_environment()
        bounds = loading.cached_bounds(source.key, source)
    except WarehouseMissingError as err:
        st.info(f"The warehouse has no data yet: {ui.RUN_PIPELINE_FIRST} ({err}).")
        return
    except DashboardDataError as err:
        st.error(f"Cannot read the {deployment.value} warehouse: {err}")
        return
    start, end = chosen_range(bounds)
    if st.sidebar.button("Refresh data", help=f"Results are cached for {loading.CACHE_TTL_SECONDS} s."):
        loading.clear_caches()
    st.sidebar.caption(f"Data from {bounds.first:%d %b %Y} to {bounds.last:%d %b %Y}")
    st.caption(f"{deployment.value} warehouse · {start:%d %b %Y} to {end:%d %b %Y}")

    tabs = st.tabs([recovery.TITLE, sleep.TITLE, strain.TITLE, metrics.TITLE, insights.TITLE, quality.TITLE])
    renderers = {
        recovery.TITLE: lambda data: recovery.render(data),
        sleep.TITLE: lambda data: sleep.render(data, start, end),
        strain.TITLE: lambda data: strain.render(data),
        metrics.TITLE: lambda data: metrics.render(data, start, end),
        insights.TITLE: lambda data: insights.render(data),
    }
    for tab, (title, render) in zip(tabs[:-1], renderers.items(), strict=True):
        with tab:
            data = tab_data(source, title, start, end)
            if data is not None:
                render(data)
    with tabs[-1]:
        url = ui_url()
        statuses, problem = loading.cached_asset_statuses(url)
        quality.render(statuses, url, problem)


main()

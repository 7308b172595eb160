"""Data quality: each asset's latest materialization, its checks and its freshness, read from the
Dagster instance through the webserver's GraphQL API (a note to start ``make dev`` when none answers)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.dagster_status import AssetStatus

TITLE = "Data quality"
QUERIES: dict = {}  # reads the Dagster instance, not the warehouse

FRESHNESS_COLOURS = {
    "HEALTHY": charts.ZONE_COLOURS["green"],
    "WARNING": charts.ZONE_COLOURS["yellow"],
    "DEGRADED": charts.ZONE_COLOURS["red"],
}


def status_table(statuses: list[AssetStatus], now: datetime) -> pd.DataFrame:
    """One row per asset: group, last materialization, its age in hours, checks passed/failed, freshness."""
    rows = []
    for status in sorted(statuses, key=lambda s: (s.group, s.key)):
        age = (now - status.last_materialized).total_seconds() / 3600 if status.last_materialized else None
        rows.append(
            {
                "asset": status.key,
                "group": status.group,
                "last materialized (UTC)": status.last_materialized.strftime("%Y-%m-%d %H:%M")
                if status.last_materialized
                else "never",
                "hours ago": None if age is None else round(age, 1),
                "checks passed": f"{status.passed_checks}/{len(status.checks)}" if status.checks else "—",
                "failed checks": ", ".join(status.failed_checks),
                "freshness": status.freshness.lower().replace("_", " "),
            }
        )
    return pd.DataFrame(rows)


def age_figure(table: pd.DataFrame, statuses: list[AssetStatus]) -> go.Figure:
    """Hours since each asset's latest materialization, coloured by its freshness status."""
    freshness = {status.key: status.freshness for status in statuses}
    frame = table.dropna(subset=["hours ago"]).sort_values("hours ago")
    fig = charts.figure("Hours since the latest materialization", height=max(320, 16 * len(frame) + 120))
    fig.add_bar(
        y=frame["asset"],
        x=frame["hours ago"],
        orientation="h",
        name="hours ago",
        marker_color=[FRESHNESS_COLOURS.get(freshness.get(key, ""), charts.NEUTRAL) for key in frame["asset"]],
    )
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_yaxes(tickfont={"size": 10})
    return fig


def checks_figure(statuses: list[AssetStatus]) -> go.Figure:
    """Latest check results per asset group: passed, failed, not run."""
    counts: dict[tuple[str, str], int] = {}
    for status in statuses:
        for result in status.checks.values():
            outcome = {"SUCCEEDED": "passed", "FAILED": "failed", "EXECUTION_FAILED": "failed"}.get(result, "not run")
            counts[(status.group, outcome)] = counts.get((status.group, outcome), 0) + 1
    groups = sorted({group for group, _ in counts})
    fig = charts.figure("Asset checks by group (latest result)", "checks")
    for outcome, colour in (("passed", "#16a34a"), ("failed", "#dc2626"), ("not run", "#94a3b8")):
        fig.add_bar(
            x=groups, y=[counts.get((group, outcome), 0) for group in groups], name=outcome, marker_color=colour
        )
    fig.update_layout(barmode="stack")
    return fig


def render(statuses: list[AssetStatus] | None, url: str, problem: str | None, now: datetime | None = None) -> None:
    """The instance's view of every asset, or how to get one."""
    if statuses is None:
        st.info(
            f"No Dagster UI answers at {url}: start `make dev` (or set `WHOOP_DAGSTER_UI_URL` to your "
            "Dagster UI), then refresh. Asset health, check results and freshness come from it."
        )
        if problem:
            st.caption(problem)
        return
    now = now or datetime.now(timezone.utc)
    table = status_table(statuses, now)
    failed = sum(len(status.failed_checks) for status in statuses)
    total_checks = sum(len(status.checks) for status in statuses)
    stale = sum(status.freshness == "DEGRADED" for status in statuses)
    columns = st.columns(4)
    columns[0].metric("Assets", len(statuses))
    columns[1].metric("Materialized", int((table["last materialized (UTC)"] != "never").sum()))
    columns[2].metric("Checks failing", f"{failed} of {total_checks}")
    columns[3].metric("Stale (freshness failed)", stale)
    st.caption(f"Latest state of the Dagster instance behind {url} (the date filter does not apply).")
    left, right = st.columns(2)
    with left:
        ui.chart(checks_figure(statuses), "quality-checks")
    with right:
        ui.chart(age_figure(table, statuses), "quality-age")
    st.dataframe(table, hide_index=True)

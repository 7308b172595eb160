"""Insights: days the anomaly model flagged, with the vitals that drove each flag, and the
behaviours that move next-day recovery where ``analysis.recovery_drivers`` exists."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.frames import first_column, has_columns, present, truthy, with_dates
from whoop_dagster.dashboard.source import TableQuery

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Insights"
ANOMALY_TABLE = "ml.recovery_anomalies"
DRIVERS_TABLE = "analysis.recovery_drivers"

QUERIES = {
    "anomalies": TableQuery(ANOMALY_TABLE),
    "recovery": TableQuery("marts.fact_daily_recovery", where="is_scored"),
    "drivers": TableQuery(DRIVERS_TABLE, date_column=None, order_by=None),
}

#: The drivers table is being built alongside this dashboard: its columns are read by the first name found.
DRIVER_NAMES = ("driver", "behaviour", "behavior", "feature", "name")
DRIVER_OUTCOMES = ("outcome", "target", "response")
DRIVER_EFFECTS = ("spearman_rho", "rho", "effect_size", "correlation")
DRIVER_CI_LOW = ("rho_ci_low", "ci_low", "ci_lower", "rho_ci_lower", "ci_95_low")
DRIVER_CI_HIGH = ("rho_ci_high", "ci_high", "ci_upper", "rho_ci_upper", "ci_95_high")
DRIVER_P = ("p_adjusted", "adjusted_p_value", "p_value_adjusted", "q_value", "p_value_bh")
VITAL_COLUMNS = ("hrv", "rhr", "respiratory_rate", "skin_temp", "spo2")


def flagged(anomalies: pd.DataFrame) -> pd.DataFrame:
    """The anomaly days, newest first."""
    frame = with_dates(anomalies)
    return frame[truthy(frame["is_anomaly"])].sort_values("date_day", ascending=False)


def anomaly_figure(anomalies: pd.DataFrame, recovery: pd.DataFrame | None) -> go.Figure:
    """The anomaly score per day with the flagged days marked (and recovery for context)."""
    frame = with_dates(anomalies)
    fig = charts.figure("Anomaly score (flagged days in red)", "score (root of summed z²)")
    fig.add_scatter(
        x=frame["date_day"], y=frame["anomaly_score"], mode="lines", name="anomaly score", line_color=charts.NEUTRAL
    )
    days = flagged(anomalies)
    if not days.empty:
        fig.add_scatter(
            x=days["date_day"],
            y=days["anomaly_score"],
            mode="markers",
            name="flagged",
            marker={"color": charts.ZONE_COLOURS["red"], "size": 11},
            customdata=days.get("drivers"),
            hovertemplate="%{x|%d %b}: %{customdata}",
        )
    if has_columns(recovery, "date_day", "recovery_score"):
        scores = with_dates(recovery)
        fig.add_scatter(
            x=scores["date_day"],
            y=scores["recovery_score"],
            mode="lines",
            name="recovery %",
            yaxis="y2",
            line={"color": charts.ACCENT, "width": 1},
        )
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 100], "title": "recovery %"})
    return fig


def driver_columns(drivers: pd.DataFrame) -> dict[str, str | None]:
    """The drivers table's columns by role (None where it has no such column)."""
    return {
        "name": first_column(drivers, DRIVER_NAMES),
        "outcome": first_column(drivers, DRIVER_OUTCOMES),
        "effect": first_column(drivers, DRIVER_EFFECTS),
        "low": first_column(drivers, DRIVER_CI_LOW),
        "high": first_column(drivers, DRIVER_CI_HIGH),
        "p": first_column(drivers, DRIVER_P),
    }


def drivers_figure(drivers: pd.DataFrame) -> go.Figure | None:
    """Each driver's effect (Spearman rho) with its confidence interval; findings in colour. None without columns."""
    roles = driver_columns(drivers)
    if roles["name"] is None or roles["effect"] is None:
        return None
    frame = drivers.dropna(subset=[roles["effect"]]).copy()
    if frame.empty:
        return None
    label = frame[roles["name"]].astype(str)
    if roles["outcome"]:
        label = label + " → " + frame[roles["outcome"]].astype(str)
    frame["label"] = label
    frame = frame.sort_values(roles["effect"])
    findings = truthy(frame["is_finding"]) if "is_finding" in frame else frame[roles["effect"]].notna() & False
    error = None
    if roles["low"] and roles["high"]:
        error = {
            "type": "data",
            "symmetric": False,
            "array": (frame[roles["high"]] - frame[roles["effect"]]).abs(),
            "arrayminus": (frame[roles["effect"]] - frame[roles["low"]]).abs(),
        }
    fig = charts.figure("Recovery drivers (Spearman rho, 95% interval)", height=max(320, 26 * len(frame) + 120))
    fig.add_bar(
        y=frame["label"],
        x=frame[roles["effect"]],
        orientation="h",
        error_x=error,
        name="effect",
        marker_color=[charts.ACCENT if found else "#cbd5e1" for found in findings],
    )
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_xaxes(title_text="rho (coloured: a finding after Benjamini-Hochberg)", range=[-1, 1])
    return fig


def render(data: dict[str, pd.DataFrame | None]) -> None:
    """Anomaly days with their drivers, then the recovery drivers."""
    anomalies, drivers = data["anomalies"], data["drivers"]
    st.subheader("Anomaly days")
    if anomalies is None:
        ui.missing_table(ANOMALY_TABLE, "Anomaly days")
    elif has_columns(anomalies, "date_day", "anomaly_score", "is_anomaly"):
        days = flagged(anomalies)
        st.metric("Days flagged in these dates", f"{len(days)} of {len(anomalies)}")
        ui.chart(anomaly_figure(anomalies, data["recovery"]), "insights-anomalies")
        if not days.empty:
            shown = present(days, ["date_day", "drivers", "anomaly_score", *VITAL_COLUMNS])
            table = days[shown].assign(date_day=days["date_day"].dt.date)
            st.dataframe(table, hide_index=True)
    else:
        ui.no_rows("Anomaly days")
    st.subheader("What moves your recovery")
    if drivers is None:
        ui.missing_table(DRIVERS_TABLE, "Recovery drivers")
        return
    fig = drivers_figure(drivers)
    if fig is None:
        ui.no_rows("Recovery drivers")
        return
    st.caption("Computed by the pipeline over the whole history (the date filter does not apply).")
    ui.chart(fig, "insights-drivers")
    roles = driver_columns(drivers)
    shown = [column for column in (*roles.values(), "is_finding") if column and column in drivers]
    st.dataframe(drivers[list(dict.fromkeys(shown))], hide_index=True)

"""Recovery: the score in its green/yellow/red zones, HRV and resting HR against the personal
baseline, and the forecast against what happened, with tomorrow's forecast."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.frames import has_columns, truthy, with_dates
from whoop_dagster.dashboard.source import TableQuery

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Recovery"
FORECAST_TABLE = "ml.recovery_forecast"

QUERIES = {
    "recovery": TableQuery("marts.fact_daily_recovery", where="is_scored"),
    "baseline": TableQuery("metrics.training_readiness_gap"),
    "forecast": TableQuery(FORECAST_TABLE),
    # The forecast row is for the day after the data ends, outside any chosen range.
    "next": TableQuery(FORECAST_TABLE, date_column=None, where="is_forecast"),
}


def zone_of(score: float) -> str:
    """WHOOP's colour of a recovery score."""
    return "green" if score >= 67 else "yellow" if score >= 34 else "red"


def recovery_figure(recovery: pd.DataFrame) -> go.Figure:
    """Daily recovery bars coloured by zone, over the three zone bands."""
    frame = with_dates(recovery).dropna(subset=["recovery_score"])
    zones = frame["recovery_zone"] if "recovery_zone" in frame else frame["recovery_score"].map(zone_of)
    fig = charts.figure("Recovery score", "%")
    charts.add_bands(fig, charts.RECOVERY_BANDS, charts.ZONE_COLOURS)
    fig.add_bar(
        x=frame["date_day"],
        y=frame["recovery_score"],
        marker_color=[charts.ZONE_COLOURS.get(zone, charts.NEUTRAL) for zone in zones],
        name="recovery",
    )
    fig.update_yaxes(range=[0, 100])
    return fig


def vitals_figure(recovery: pd.DataFrame, baseline: pd.DataFrame | None, measure: str, label: str) -> go.Figure:
    """One vital (HRV or resting HR) per day with the personal 30-day baseline it is judged against."""
    frame = with_dates(recovery).dropna(subset=[measure])
    fig = charts.figure(f"{label} against your 30-day baseline", label)
    fig.add_scatter(x=frame["date_day"], y=frame[measure], mode="lines+markers", name=label, line_color=charts.ACCENT)
    column = {"hrv_rmssd_milli": "hrv_baseline_30d", "resting_heart_rate": "rhr_baseline_30d"}[measure]
    if has_columns(baseline, "date_day", column):
        base = with_dates(baseline).dropna(subset=[column])
        fig.add_scatter(
            x=base["date_day"], y=base[column], mode="lines", name="baseline (30 days)", line_color=charts.NEUTRAL
        )
    return fig


def forecast_figure(forecast: pd.DataFrame) -> go.Figure:
    """The model's out-of-sample predictions against the recovery that followed."""
    frame = with_dates(forecast)
    frame = frame[~truthy(frame["is_forecast"])] if "is_forecast" in frame else frame
    fig = charts.figure("Forecast against actual recovery", "%")
    fig.add_scatter(x=frame["date_day"], y=frame["actual"], mode="lines", name="actual", line_color=charts.NEUTRAL)
    fig.add_scatter(
        x=frame["date_day"], y=frame["predicted"], mode="lines", name="forecast", line={"color": charts.SECOND}
    )
    fig.update_yaxes(range=[0, 100])
    return fig


def render(data: dict[str, pd.DataFrame | None]) -> None:
    """The tab's headline numbers and charts."""
    recovery, forecast, upcoming = data["recovery"], data["forecast"], data["next"]
    if not has_columns(recovery, "date_day", "recovery_score"):
        ui.no_rows("Recovery")
        return
    latest = with_dates(recovery).sort_values("date_day").iloc[-1]
    columns = st.columns(3)
    columns[0].metric(f"Recovery on {latest['date_day']:%a %d %b}", f"{latest['recovery_score']:.0f} %")
    columns[1].metric("Average in these dates", f"{recovery['recovery_score'].mean():.0f} %")
    if has_columns(upcoming, "date_day", "predicted"):
        ahead = with_dates(upcoming).sort_values("date_day").iloc[-1]
        columns[2].metric(f"Forecast for {ahead['date_day']:%a %d %b}", f"{ahead['predicted']:.0f} %")
    ui.chart(recovery_figure(recovery), "recovery-score")
    left, right = st.columns(2)
    with left:
        ui.chart(vitals_figure(recovery, data["baseline"], "hrv_rmssd_milli", "HRV (ms)"), "recovery-hrv")
    with right:
        ui.chart(vitals_figure(recovery, data["baseline"], "resting_heart_rate", "Resting HR (bpm)"), "recovery-rhr")
    if forecast is None:
        ui.missing_table(FORECAST_TABLE, "Forecast")
    elif has_columns(forecast, "date_day", "actual", "predicted"):
        ui.chart(forecast_figure(forecast), "recovery-forecast")
    else:
        ui.no_rows("Forecast")

"""Sleep: performance, stages per night, sleep debt, bedtime consistency, and tonight's forecast
where ``ml.sleep_performance_forecast`` exists."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.frames import first_column, has_columns, minutes_of_day, present, truthy, with_dates
from whoop_dagster.dashboard.source import TableQuery

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Sleep"
FORECAST_TABLE = "ml.sleep_performance_forecast"
STAGE_TABLE = "marts.dim_sleep_stage"

QUERIES = {
    "sleep": TableQuery("marts.fact_sleep", where="is_scored AND NOT is_nap", order_by="date_day, start_at_local"),
    # Whole table (one row per night): its date column is read defensively below.
    "forecast": TableQuery(FORECAST_TABLE, date_column=None, order_by=None),
    "stages": TableQuery(STAGE_TABLE, date_column=None, order_by=None),
}

#: fact_sleep's stage columns and how the chart names them, bottom to top.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("slow_wave_sleep_minutes", "Deep (slow wave)", "#1e3a8a"),
    ("rem_sleep_minutes", "REM", "#7c3aed"),
    ("light_sleep_minutes", "Light", "#60a5fa"),
    ("awake_minutes", "Awake", "#f59e0b"),
)
FORECAST_DATE_COLUMNS = ("date_day", "night_date", "sleep_date", "target_date")
FORECAST_VALUE_COLUMNS = ("predicted", "prediction", "predicted_performance_pct", "predicted_sleep_performance")
FORECAST_ACTUAL_COLUMNS = ("actual", "actual_performance_pct", "sleep_performance_pct")


def performance_figure(sleep: pd.DataFrame) -> go.Figure:
    """Sleep performance (slept against needed) and efficiency per night."""
    frame = with_dates(sleep)
    fig = charts.figure("Sleep performance", "%")
    fig.add_scatter(
        x=frame["date_day"],
        y=frame["sleep_performance_pct"],
        mode="lines+markers",
        name="performance",
        line_color=charts.ACCENT,
    )
    if "sleep_efficiency_pct" in frame:
        fig.add_scatter(
            x=frame["date_day"],
            y=frame["sleep_efficiency_pct"],
            mode="lines",
            name="efficiency",
            line_color=charts.NEUTRAL,
        )
    fig.update_yaxes(range=[0, 100])
    return fig


def stages_figure(sleep: pd.DataFrame) -> go.Figure:
    """Hours in each stage per night, stacked."""
    frame = with_dates(sleep)
    fig = charts.figure("Sleep stages per night", "hours")
    for column, label, colour in STAGES:
        if column in frame:
            fig.add_bar(x=frame["date_day"], y=frame[column] / 60, name=label, marker_color=colour)
    fig.update_layout(barmode="stack")
    return fig


def debt_figure(sleep: pd.DataFrame) -> go.Figure:
    """Sleep debt carried into each night, and the balance of sleep against need."""
    frame = with_dates(sleep)
    fig = charts.figure("Sleep debt and balance", "hours")
    fig.add_bar(x=frame["date_day"], y=frame["sleep_debt_minutes"] / 60, name="debt", marker_color=charts.SECOND)
    if "sleep_balance_minutes" in frame:
        fig.add_scatter(
            x=frame["date_day"],
            y=frame["sleep_balance_minutes"] / 60,
            mode="lines",
            name="slept minus needed",
            line_color=charts.NEUTRAL,
        )
    return fig


def bedtime_figure(sleep: pd.DataFrame) -> go.Figure:
    """Bedtime (local clock time) per night and WHOOP's consistency score."""
    frame = with_dates(sleep, "date_day", "start_at_local").dropna(subset=["start_at_local"])
    # Plot bedtimes on an evening-to-morning axis: minutes after noon, labelled as clock times.
    after_noon = minutes_of_day(frame["start_at_local"])
    fig = charts.figure("Bedtime consistency", "bedtime")
    fig.add_scatter(
        x=frame["date_day"],
        y=after_noon,
        mode="markers",
        name="bedtime",
        marker_color=charts.ACCENT,
        customdata=frame["start_at_local"].dt.strftime("%H:%M"),
        hovertemplate="%{customdata}",
    )
    ticks = list(range(6 * 60, 18 * 60 + 1, 120))  # 18:00 … 06:00
    fig.update_yaxes(tickvals=ticks, ticktext=[f"{(12 + t // 60) % 24:02d}:00" for t in ticks], autorange="reversed")
    if "sleep_consistency_pct" in frame:
        fig.add_scatter(
            x=frame["date_day"],
            y=frame["sleep_consistency_pct"],
            mode="lines",
            name="consistency %",
            yaxis="y2",
            line_color=charts.NEUTRAL,
        )
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 100], "title": "consistency %"})
    return fig


def forecast_columns(forecast: pd.DataFrame) -> tuple[str, str] | None:
    """(date column, prediction column) of the sleep forecast table, or None when it has no such columns."""
    date_column = first_column(forecast, FORECAST_DATE_COLUMNS)
    value_column = first_column(forecast, FORECAST_VALUE_COLUMNS)
    return (date_column, value_column) if date_column and value_column else None


def tonight(forecast: pd.DataFrame) -> tuple[pd.Timestamp, float] | None:
    """The forecast for the coming night: the forecast row, else the latest row with a prediction."""
    columns = forecast_columns(forecast)
    if columns is None or forecast.empty:
        return None
    date_column, value_column = columns
    frame = with_dates(forecast, date_column).dropna(subset=[value_column])
    if "is_forecast" in frame:
        ahead = frame[truthy(frame["is_forecast"])]
        frame = ahead if not ahead.empty else frame
    if frame.empty:
        return None
    row = frame.sort_values(date_column).iloc[-1]
    return row[date_column], float(row[value_column])


def forecast_figure(forecast: pd.DataFrame, start: object, end: object) -> go.Figure | None:
    """Predicted against actual sleep performance in the chosen dates, or None without the columns."""
    import pandas as pd

    columns = forecast_columns(forecast)
    actual_column = first_column(forecast, FORECAST_ACTUAL_COLUMNS)
    if columns is None or actual_column is None:
        return None
    date_column, value_column = columns
    frame = with_dates(forecast, date_column)
    frame = frame[(frame[date_column] >= pd.Timestamp(start)) & (frame[date_column] <= pd.Timestamp(end))]
    if frame.empty:
        return None
    frame = frame.sort_values(date_column)
    fig = charts.figure("Sleep performance forecast against actual", "%")
    fig.add_scatter(
        x=frame[date_column], y=frame[actual_column], mode="lines", name="actual", line_color=charts.NEUTRAL
    )
    fig.add_scatter(
        x=frame[date_column], y=frame[value_column], mode="lines", name="forecast", line_color=charts.SECOND
    )
    fig.update_yaxes(range=[0, 100])
    return fig


def render(data: dict[str, pd.DataFrame | None], start: object, end: object) -> None:
    """The tab's headline numbers and charts."""
    sleep, forecast = data["sleep"], data["forecast"]
    if not has_columns(sleep, "date_day", "sleep_performance_pct"):
        ui.no_rows("Sleep")
        return
    columns = st.columns(3)
    columns[0].metric("Average performance", f"{sleep['sleep_performance_pct'].mean():.0f} %")
    if "total_sleep_hours" in sleep:
        columns[1].metric("Average sleep", f"{sleep['total_sleep_hours'].mean():.1f} h")
    upcoming = tonight(forecast) if forecast is not None else None
    if upcoming is not None:
        columns[2].metric(f"Forecast for the night of {upcoming[0]:%a %d %b}", f"{upcoming[1]:.0f} %")
    ui.chart(performance_figure(sleep), "sleep-performance")
    if present(sleep, [column for column, _, _ in STAGES]):
        ui.chart(stages_figure(sleep), "sleep-stages")
    stages = data["stages"]
    if has_columns(stages, "description"):
        with st.expander("What the stages mean"):
            st.dataframe(stages, hide_index=True)
    left, right = st.columns(2)
    with left:
        if "sleep_debt_minutes" in sleep:
            ui.chart(debt_figure(sleep), "sleep-debt")
    with right:
        if "start_at_local" in sleep:
            ui.chart(bedtime_figure(sleep), "sleep-bedtime")
    if forecast is None:
        ui.missing_table(FORECAST_TABLE, "Tonight's sleep forecast")
        return
    fig = forecast_figure(forecast, start, end)
    if fig is None:
        ui.no_rows("Sleep performance forecast")
    else:
        ui.chart(fig, "sleep-forecast")

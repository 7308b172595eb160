"""Metrics: the six custom metrics of the dbt ``metrics`` schema, each with its definition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.frames import has_columns, present, with_dates
from whoop_dagster.dashboard.source import TableQuery

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Metrics"


def momentum_figure(frame: pd.DataFrame) -> go.Figure:
    frame = with_dates(frame)
    fig = charts.figure("Recovery momentum", "recovery %")
    for column, label, colour in (
        ("recovery_avg_3d", "3-day mean", charts.SECOND),
        ("recovery_avg_14d", "14-day mean", charts.NEUTRAL),
    ):
        if column in frame:
            fig.add_scatter(x=frame["date_day"], y=frame[column], mode="lines", name=label, line_color=colour)
    if "momentum_3d_vs_14d" in frame:
        fig.add_bar(
            x=frame["date_day"], y=frame["momentum_3d_vs_14d"], name="3-day minus 14-day", marker_color=charts.ACCENT
        )
    return fig


def efficiency_figure(frame: pd.DataFrame) -> go.Figure:
    fig = charts.figure("Strain-recovery efficiency", "next-day recovery %")
    bands = frame.get("strain_band")
    for band, colour in charts.STRAIN_COLOURS.items():
        rows = frame if bands is None else frame[bands == band]
        if rows.empty:
            continue
        fig.add_scatter(
            x=rows["day_strain"],
            y=rows["next_day_recovery_score"],
            mode="markers",
            name=band.replace("_", " "),
            marker_color=colour,
        )
        if bands is None:
            break
    fig.update_xaxes(title_text="day strain")
    fig.update_layout(hovermode="closest")
    return fig


def readiness_figure(frame: pd.DataFrame) -> go.Figure:
    frame = with_dates(frame)
    fig = charts.figure("Training readiness gap", "strain")
    fig.add_scatter(
        x=frame["date_day"],
        y=frame["target_strain"],
        mode="lines",
        name="strain readiness affords",
        line_color=charts.NEUTRAL,
    )
    if "day_strain" in frame:
        fig.add_scatter(
            x=frame["date_day"], y=frame["day_strain"], mode="markers", name="strain taken", marker_color=charts.SECOND
        )
    return fig


def volatility_figure(frame: pd.DataFrame) -> go.Figure:
    frame = with_dates(frame)
    fig = charts.figure("Recovery volatility", "standard deviation (points)")
    for column, label, colour in (
        ("recovery_stddev_7d", "7 days", charts.SECOND),
        ("recovery_stddev_30d", "30 days", charts.NEUTRAL),
    ):
        if column in frame:
            fig.add_scatter(x=frame["date_day"], y=frame[column], mode="lines", name=label, line_color=colour)
    return fig


def balance_figure(frame: pd.DataFrame) -> go.Figure:
    frame = with_dates(frame)
    fig = charts.figure("Autonomic balance", "index (100 = usual)")
    fig.add_hrect(y0=90, y1=110, fillcolor=charts.NEUTRAL, opacity=0.1, line_width=0, layer="below")
    fig.add_scatter(
        x=frame["date_day"],
        y=frame["balance_index"],
        mode="lines+markers",
        name="balance index",
        line_color=charts.ACCENT,
    )
    return fig


def seasonal_figure(frame: pd.DataFrame) -> go.Figure:
    frame = frame.sort_values(present(frame, ["season_year", "first_day"]))
    labels = [f"{season} {year}" for season, year in zip(frame["season"], frame["season_year"], strict=True)]
    fig = charts.figure("Seasonal adaptation", "recovery vs your all-time mean (points)")
    fig.add_bar(
        x=labels,
        y=frame["recovery_vs_personal_mean"],
        marker_color=[
            charts.ZONE_COLOURS["green"] if v >= 0 else charts.ZONE_COLOURS["red"]
            for v in frame["recovery_vs_personal_mean"].fillna(0)
        ],
        name="recovery",
    )
    return fig


@dataclass(frozen=True)
class Metric:
    """One custom metric: where it lives, what it means, how it is drawn."""

    name: str
    title: str
    definition: str
    required: tuple[str, ...]
    figure: Callable[[pd.DataFrame], go.Figure]
    query: TableQuery


METRICS: tuple[Metric, ...] = (
    Metric(
        "recovery_momentum",
        "Recovery momentum",
        "Is recovery trending up or down? The mean of the last 3 days against the mean of the last 14 "
        "(days without a score skipped): *improving* when the 3-day mean is more than 5 points above, "
        "*declining* when 5 below.",
        ("date_day", "recovery_avg_3d"),
        momentum_figure,
        TableQuery("metrics.recovery_momentum"),
    ),
    Metric(
        "strain_recovery_efficiency",
        "Strain-recovery efficiency",
        "How well you recover from the load you take: the next day's recovery after each day's strain, "
        "against your own mean next-day recovery after days in the same strain band.",
        ("day_strain", "next_day_recovery_score"),
        efficiency_figure,
        TableQuery("metrics.strain_recovery_efficiency"),
    ),
    Metric(
        "training_readiness_gap",
        "Training readiness gap",
        "The strain your HRV and resting heart rate say you are ready for (6 + 12 x readiness, from "
        "both against their 30-day baselines) against the strain you took: more than 3 above is "
        "*overreaching*, more than 3 below *under-using*.",
        ("date_day", "target_strain"),
        readiness_figure,
        TableQuery("metrics.training_readiness_gap"),
    ),
    Metric(
        "recovery_volatility",
        "Recovery volatility",
        "How much recovery swings: its standard deviation over the last 7 and 30 days. Below 10 points "
        "over 7 days is *stable*, below 20 *variable*, above that *volatile*.",
        ("date_day", "recovery_stddev_7d"),
        volatility_figure,
        TableQuery("metrics.recovery_volatility"),
    ),
    Metric(
        "autonomic_balance",
        "Autonomic balance",
        "HRV divided by resting heart rate, against its own mean of the previous 60 days (index 100 = "
        "usual). Above 110 leans *parasympathetic* (rested), below 90 *sympathetic* (stressed); the band "
        "shows 90 to 110.",
        ("date_day", "balance_index"),
        balance_figure,
        TableQuery("metrics.autonomic_balance"),
    ),
    Metric(
        "seasonal_adaptation",
        "Seasonal adaptation",
        "How each season (meteorological, northern hemisphere) compares with your all-time means: recovery, "
        "HRV, resting heart rate, strain and sleep. Seasons that overlap the chosen dates are shown.",
        ("season", "season_year", "recovery_vs_personal_mean"),
        seasonal_figure,
        # A season is in range when it overlaps the chosen dates.
        TableQuery("metrics.seasonal_adaptation", date_column=None, order_by="season_year"),
    ),
)

QUERIES = {metric.name: metric.query for metric in METRICS}


def seasons_in_range(frame: pd.DataFrame, start: object, end: object) -> pd.DataFrame:
    """Seasons whose observed days overlap ``start``..``end``."""
    import pandas as pd

    if not {"first_day", "last_day"} <= set(frame.columns):
        return frame
    dated = with_dates(frame, "first_day", "last_day")
    keep = (dated["first_day"] <= pd.Timestamp(end)) & (dated["last_day"] >= pd.Timestamp(start))
    return frame[keep.to_numpy()]


def render(data: dict[str, pd.DataFrame | None], start: object, end: object) -> None:
    """Each metric: its definition, then its chart (or why there is none)."""
    for metric in METRICS:
        st.subheader(metric.title)
        st.markdown(metric.definition)
        frame = data[metric.name]
        if frame is None:
            ui.missing_table(metric.query.table, metric.title)
            continue
        if metric.name == "seasonal_adaptation":
            frame = seasons_in_range(frame, start, end)
        if has_columns(frame, *metric.required):
            ui.chart(metric.figure(frame), f"metric-{metric.name}")
        else:
            ui.no_rows(metric.title)

"""Strain & workouts: day strain in WHOOP's bands, workouts by activity type, time in heart-rate zones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from whoop_dagster.dashboard import charts, ui
from whoop_dagster.dashboard.frames import first_column, has_columns, present, with_dates
from whoop_dagster.dashboard.source import TableQuery

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Strain & workouts"
ACTIVITY_TABLE = "marts.dim_activity_type"

QUERIES = {
    "strain": TableQuery("marts.fact_daily_strain", where="day_strain IS NOT NULL"),
    "workouts": TableQuery("marts.fact_workout", order_by="date_day, start_at_local"),
    "sports": TableQuery("marts.dim_sport", date_column=None, order_by=None),
    "activity_types": TableQuery(ACTIVITY_TABLE, date_column=None, order_by=None),
}

ZONES: tuple[tuple[str, str, str], ...] = (
    ("zone_zero_minutes", "Zone 0", "#cbd5e1"),
    ("zone_one_minutes", "Zone 1", "#93c5fd"),
    ("zone_two_minutes", "Zone 2", "#22c55e"),
    ("zone_three_minutes", "Zone 3", "#eab308"),
    ("zone_four_minutes", "Zone 4", "#f97316"),
    ("zone_five_minutes", "Zone 5", "#dc2626"),
)
STRAIN_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 10, "light"),
    (10, 14, "moderate"),
    (14, 18, "strenuous"),
    (18, 21, "all_out"),
)
#: Columns that may join fact_workout to dim_activity_type, and that may name its category and label.
ACTIVITY_KEYS = ("activity_type_key", "activity_type_id", "sport_id", "sport_key")
ACTIVITY_CATEGORIES = ("activity_category", "category", "activity_type_category")
ACTIVITY_NAMES = ("activity_name", "activity_type_name", "name")


def strain_category(strain: float) -> str:
    """WHOOP's strain band of a day strain."""
    return "light" if strain < 10 else "moderate" if strain < 14 else "strenuous" if strain < 18 else "all_out"


def strain_figure(strain: pd.DataFrame) -> go.Figure:
    """Day strain per day, coloured by band."""
    frame = with_dates(strain)
    bands = frame["strain_category"] if "strain_category" in frame else frame["day_strain"].map(strain_category)
    fig = charts.figure("Day strain", "strain (0 to 21)")
    charts.add_bands(fig, STRAIN_BANDS, charts.STRAIN_COLOURS)
    fig.add_bar(
        x=frame["date_day"],
        y=frame["day_strain"],
        marker_color=[charts.STRAIN_COLOURS.get(band, charts.NEUTRAL) for band in bands],
        name="day strain",
    )
    fig.update_yaxes(range=[0, 21])
    return fig


def label_activities(
    workouts: pd.DataFrame, sports: pd.DataFrame | None, activity_types: pd.DataFrame | None
) -> pd.DataFrame:
    """``workouts`` with ``activity`` (name) and ``category`` columns.

    From ``dim_activity_type`` when it exists and shares a key with the workouts; otherwise from
    ``dim_sport``; otherwise the sport name the API gave. A workout never drops out for lack of a match.
    """
    out = workouts.copy()
    out["activity"] = out.get("sport_name", out.get("sport_key", "unknown"))
    out["category"] = "other"
    if has_columns(sports, "sport_key", "sport_category") and "sport_key" in out:
        named = sports.set_index("sport_key")
        out["category"] = out["sport_key"].map(named["sport_category"]).fillna("other")
        if "sport_name" in named:
            out["activity"] = out["sport_key"].map(named["sport_name"]).fillna(out["activity"])
    if activity_types is not None and not activity_types.empty:
        key = next((k for k in ACTIVITY_KEYS if k in out and k in activity_types), None)
        category = first_column(activity_types, ACTIVITY_CATEGORIES)
        if key and category:
            types = activity_types.drop_duplicates(key).set_index(key)
            out["category"] = out[key].map(types[category]).fillna(out["category"])
            name = first_column(activity_types, ACTIVITY_NAMES)
            if name:
                out["activity"] = out[key].map(types[name]).fillna(out["activity"])
    out["activity"] = out["activity"].fillna("unknown").astype(str)
    out["category"] = out["category"].fillna("other").astype(str)
    return out


def activity_figure(labelled: pd.DataFrame) -> go.Figure:
    """Workout minutes and counts per activity type, coloured by category."""
    minutes = "duration_minutes" if "duration_minutes" in labelled else None
    grouped = (
        labelled.groupby(["category", "activity"])
        .agg(workouts=("activity", "size"), minutes=(minutes or "activity", "sum" if minutes else "size"))
        .reset_index()
        .sort_values("minutes", ascending=True)
    )
    fig = charts.figure("Workouts by activity type", height=max(300, 28 * len(grouped) + 100))
    palette = ["#0ea5e9", "#22c55e", "#f97316", "#a855f7", "#eab308", "#ef4444", "#14b8a6", "#64748b"]
    for index, (category, rows) in enumerate(grouped.groupby("category", sort=True)):
        fig.add_bar(
            y=rows["activity"],
            x=rows["minutes"],
            orientation="h",
            name=category,
            marker_color=palette[index % len(palette)],
            customdata=rows["workouts"],
            hovertemplate="%{y}: %{x:.0f} min in %{customdata} workouts",
        )
    fig.update_xaxes(title_text="minutes" if minutes else "workouts")
    fig.update_layout(barmode="stack", hovermode="closest")
    return fig


def zones_figure(workouts: pd.DataFrame) -> go.Figure:
    """Workout minutes in each heart-rate zone per week, stacked."""
    frame = with_dates(workouts)
    columns = present(frame, [column for column, _, _ in ZONES])
    weekly = frame.set_index("date_day")[columns].resample("W-MON", label="left", closed="left").sum()
    fig = charts.figure("Time in heart-rate zones (per week)", "minutes")
    for column, label, colour in ZONES:
        if column in weekly:
            fig.add_bar(x=weekly.index, y=weekly[column], name=label, marker_color=colour)
    fig.update_layout(barmode="stack")
    return fig


def render(data: dict[str, pd.DataFrame | None]) -> None:
    """The tab's headline numbers and charts."""
    strain, workouts = data["strain"], data["workouts"]
    if not has_columns(strain, "date_day", "day_strain"):
        ui.no_rows("Strain")
        return
    columns = st.columns(3)
    columns[0].metric("Average day strain", f"{strain['day_strain'].mean():.1f}")
    columns[1].metric("Workouts", f"{0 if workouts is None else len(workouts)}")
    if has_columns(workouts, "duration_minutes"):
        columns[2].metric("Workout time", f"{workouts['duration_minutes'].sum() / 60:.1f} h")
    ui.chart(strain_figure(strain), "strain-day")
    if not has_columns(workouts, "date_day"):
        ui.no_rows("Workouts")
        return
    if data["activity_types"] is None:
        st.caption(f"Activity types from `marts.dim_sport` (`{ACTIVITY_TABLE}` is not in the warehouse yet).")
    left, right = st.columns(2)
    with left:
        ui.chart(activity_figure(label_activities(workouts, data["sports"], data["activity_types"])), "strain-activity")
    with right:
        if present(workouts, [column for column, _, _ in ZONES]):
            ui.chart(zones_figure(workouts), "strain-zones")

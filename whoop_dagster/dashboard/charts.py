"""Plotly building blocks shared by the tabs: colours, bands and one layout."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

#: WHOOP's recovery colours.
ZONE_COLOURS = {"green": "#16a34a", "yellow": "#eab308", "red": "#dc2626"}
#: Recovery zone bands: (low, high, colour name), as WHOOP draws them (red < 34, yellow 34-66, green >= 67).
RECOVERY_BANDS: tuple[tuple[float, float, str], ...] = ((0, 33.5, "red"), (33.5, 66.5, "yellow"), (66.5, 100, "green"))
STRAIN_COLOURS = {"light": "#93c5fd", "moderate": "#3b82f6", "strenuous": "#1d4ed8", "all_out": "#1e3a8a"}
NEUTRAL = "#64748b"
ACCENT = "#0ea5e9"
SECOND = "#f97316"


def figure(title: str, y_title: str | None = None, height: int = 360) -> go.Figure:
    """An empty figure with the dashboard's layout."""
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        # Below the plot: above it, a long legend collides with the title in a half-width column.
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        hovermode="x unified",
    )
    if y_title:
        fig.update_yaxes(title_text=y_title)
    return fig


def add_bands(fig: go.Figure, bands: Sequence[tuple[float, float, str]], colours: dict[str, str]) -> go.Figure:
    """Shade horizontal bands (e.g. the recovery zones) behind the data."""
    for low, high, name in bands:
        fig.add_hrect(y0=low, y1=high, fillcolor=colours[name], opacity=0.08, line_width=0, layer="below")
    return fig

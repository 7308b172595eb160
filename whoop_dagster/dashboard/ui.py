"""Streamlit pieces every tab uses: a chart, and the notes shown instead of one."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

RUN_PIPELINE_FIRST = "run `make run` first"


def chart(fig: go.Figure, key: str) -> None:
    """A Plotly chart across the tab's width (static toolbar, no selection events)."""
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def missing_table(table: str, what: str) -> None:
    """The note that replaces a chart whose optional table the pipeline has not built (yet)."""
    st.info(f"{what}: `{table}` is not in the warehouse yet (a newer pipeline builds it); the chart is hidden.")


def no_rows(what: str) -> None:
    """The note that replaces a chart with nothing to show in the chosen dates."""
    st.caption(f"{what}: no data in the selected dates.")

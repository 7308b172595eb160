"""The dashboard as a person meets it, through Streamlit's ``AppTest``: every tab, the date filter,
and what it says when there is nothing (yet) to show."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from whoop_dagster.dashboard.tabs import TABS

WAREHOUSE_TABS = {"Recovery": 3, "Sleep": 4, "Strain & workouts": 3, "Metrics": 6, "Insights": 1}


def chart_specs(block: Any) -> list[dict[str, Any]]:
    """The Plotly figures (as JSON) in a tab or the whole page."""
    return [json.loads(chart.proto.spec) for chart in block.get("plotly_chart")]


def titles(specs: list[dict[str, Any]]) -> list[str]:
    return [spec["layout"]["title"]["text"] for spec in specs]


def texts(at: AppTest, kind: str) -> list[str]:
    return [element.value for element in getattr(at, kind)]


@pytest.fixture(scope="module")
def opened(pipeline_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> AppTest:
    """The app opened once on the pipeline's warehouse (module-wide: most tests only look)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WHOOP_DEPLOYMENT", "local")
    mp.setenv("WHOOP_DUCKDB_PATH", str(pipeline_warehouse))
    mp.setenv("WHOOP_DAGSTER_UI_URL", "http://127.0.0.1:9")
    from whoop_dagster_tests.dashboard.conftest import APP

    try:
        yield AppTest.from_file(str(APP), default_timeout=120).run()
    finally:
        mp.undo()


def test_the_app_shows_six_tabs_in_order_without_an_exception(opened):
    assert not opened.exception, [e.value for e in opened.exception]
    assert not opened.error, texts(opened, "error")
    assert [tab.label for tab in opened.tabs] == [tab.TITLE for tab in TABS]


@pytest.mark.parametrize(("tab", "minimum"), WAREHOUSE_TABS.items())
def test_every_warehouse_tab_renders_its_plotly_charts(opened, tab, minimum):
    (block,) = [candidate for candidate in opened.tabs if candidate.label == tab]
    specs = chart_specs(block)
    assert len(specs) >= minimum, f"{tab}: {titles(specs)}"
    for spec in specs:
        assert any(trace.get("x") is not None or trace.get("y") is not None for trace in spec["data"]), spec["layout"]


def test_the_recovery_tab_draws_zones_and_the_forecast_for_tomorrow(opened):
    (block,) = [tab for tab in opened.tabs if tab.label == "Recovery"]
    specs = {spec["layout"]["title"]["text"]: spec for spec in chart_specs(block)}
    score = specs["Recovery score"]
    assert len(score["layout"]["shapes"]) == 3  # red, yellow and green bands
    colours = set(score["data"][0]["marker"]["color"])
    assert colours <= {"#16a34a", "#eab308", "#dc2626"}
    assert len(colours) >= 2
    assert "Forecast against actual recovery" in specs
    labels = [metric.label for metric in block.metric]
    assert any(label.startswith("Forecast for") for label in labels), labels


def test_the_metrics_tab_defines_each_of_the_six_metrics(opened):
    (block,) = [tab for tab in opened.tabs if tab.label == "Metrics"]
    assert [s.value for s in block.subheader] == [
        "Recovery momentum",
        "Strain-recovery efficiency",
        "Training readiness gap",
        "Recovery volatility",
        "Autonomic balance",
        "Seasonal adaptation",
    ]
    definitions = [m.value for m in block.markdown]
    assert len(definitions) >= 6
    assert all(len(text) > 60 for text in definitions[:6])


def test_missing_optional_tables_hide_their_chart_with_a_note(opened, pipeline_warehouse):
    with duckdb.connect(str(pipeline_warehouse), read_only=True) as connection:
        tables = {
            f"{s}.{t}" for s, t in connection.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        }
    notes = " ".join(texts(opened, "info"))
    for table in ("ml.sleep_performance_forecast", "analysis.recovery_drivers"):
        assert (table in notes) == (table not in tables), notes


def test_the_data_quality_tab_says_to_start_make_dev_without_a_dagster_ui(opened):
    (block,) = [tab for tab in opened.tabs if tab.label == "Data quality"]
    assert any("start `make dev`" in info.value for info in block.info)
    assert not chart_specs(block)


def scored_days(path: Path, start: date, end: date) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        query = "select count(*) from marts.fact_daily_recovery where is_scored and date_day between ? and ?"
        return connection.execute(query, [start, end]).fetchone()[0]


def test_the_date_filter_changes_what_every_chart_shows(opened, pipeline_warehouse):
    start, end = opened.date_input[0].value
    assert (end - start).days + 1 == 90  # the last 90 days when the app opens
    (recovery,) = [tab for tab in opened.tabs if tab.label == "Recovery"]
    assert len(chart_specs(recovery)[0]["data"][0]["x"]) == scored_days(pipeline_warehouse, start, end)

    narrower = (end - timedelta(days=13), end)
    at = opened.date_input[0].set_value(narrower).run()
    assert not at.exception
    (recovery,) = [tab for tab in at.tabs if tab.label == "Recovery"]
    shown = chart_specs(recovery)[0]["data"][0]["x"]
    assert len(shown) == scored_days(pipeline_warehouse, *narrower) >= 12
    assert min(shown)[:10] == narrower[0].isoformat()
    assert max(shown)[:10] == end.isoformat()
    (sleep,) = [tab for tab in at.tabs if tab.label == "Sleep"]
    nights = chart_specs(sleep)[0]["data"][0]["x"]
    assert all(narrower[0].isoformat() <= day[:10] <= end.isoformat() for day in nights)
    assert f"{narrower[0]:%d %b %Y}" in " ".join(texts(at, "caption"))


def test_a_missing_warehouse_says_run_make_run_first(dashboard, tmp_path):
    at = dashboard(tmp_path / "nowhere" / "whoop.duckdb")
    assert not at.exception
    assert any("run `make run` first" in text for text in texts(at, "info"))
    assert not at.tabs


def test_an_empty_warehouse_says_run_make_run_first(dashboard, tmp_path):
    path = tmp_path / "whoop.duckdb"
    duckdb.connect(str(path)).close()
    at = dashboard(path)
    assert not at.exception
    assert any("run `make run` first" in text for text in texts(at, "info"))


def test_a_warehouse_without_ml_tables_still_shows_every_tab(dashboard, warehouse_copy):
    with duckdb.connect(str(warehouse_copy)) as connection:
        connection.execute("drop schema ml cascade")
    at = dashboard(warehouse_copy)
    assert not at.exception, [e.value for e in at.exception]
    notes = " ".join(texts(at, "info"))
    assert "ml.recovery_forecast" in notes
    assert "ml.recovery_anomalies" in notes
    (recovery,) = [tab for tab in at.tabs if tab.label == "Recovery"]
    assert "Recovery score" in titles(chart_specs(recovery))

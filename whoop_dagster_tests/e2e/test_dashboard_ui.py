"""The dashboard as a person uses it after ``make run``: ``make dashboard``'s server in headless Chromium
(Playwright driving Debian's chromium), every tab, the date filter, and the data-quality tab fed by
the running ``dagster dev``. Screenshots of every tab go to ``artifacts/e2e/dashboard-*.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from whoop_dagster_tests.e2e.dagster_dev import DagsterDev
from whoop_dagster_tests.e2e.streamlit_app import Dashboard, running_dashboard

pytestmark = pytest.mark.e2e

TABS = ("Recovery", "Sleep", "Strain & workouts", "Metrics", "Insights", "Data quality")
VIEWPORT = {"width": 1400, "height": 1000}
CHART = ".js-plotly-plot"


@pytest.fixture(scope="module")
def dashboard(main_run_state, dagster_ui: DagsterDev, artifacts_dir: Path) -> Iterator[Dashboard]:
    env = {
        "WHOOP_DEPLOYMENT": "local",
        "DAGSTER_HOME": str(main_run_state.dagster_home),
        "WHOOP_DUCKDB_PATH": str(main_run_state.duckdb_path),
        "WHOOP_DAGSTER_UI_URL": dagster_ui.url,
    }
    with running_dashboard(env=env, log_path=artifacts_dir / "dashboard.log") as app:
        yield app


@pytest.fixture(scope="module")
def page(dashboard: Dashboard, chromium_browser):
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(dashboard.url)
    page.get_by_role("tab", name="Recovery").wait_for(timeout=60_000)
    yield page
    context.close()


def open_tab(page, name: str):
    """Click the tab and return its panel once its charts have drawn."""
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator('[role="tabpanel"]:visible')
    panel.locator(CHART).first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # let Plotly finish its transitions before the screenshot
    return panel


def bar_count(panel) -> int:
    """Bars of the panel's first chart (one per day in the recovery chart)."""
    return panel.locator(CHART).first.locator("g.point").count()


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_its_charts_in_chromium_without_an_exception(page, tab, artifacts_dir):
    panel = open_tab(page, tab)
    assert panel.locator(CHART).count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0
    slug = re.sub(r"[^a-z]+", "-", tab.lower()).strip("-")
    path = page.screenshot(path=str(artifacts_dir / f"dashboard-{slug}.png"))
    assert path


def test_the_data_quality_tab_shows_the_instances_assets(page):
    panel = open_tab(page, "Data quality")
    text = panel.inner_text()
    assert "raw/cycle" in text
    assert "ml/recovery_forecast" in text
    assert "make dev" not in text  # the UI answered: no note to start it


def test_the_date_filter_changes_what_the_charts_show(page, artifacts_dir):
    """As a person would: type the new first day into the date field, then click away."""
    panel = open_tab(page, "Recovery")
    before = bar_count(panel)
    end = date.fromisoformat(page.locator('[data-testid="stDateInput"] input[type=date]').nth(1).input_value())
    last_week = end - timedelta(days=6)
    page.locator('[role="spinbutton"][aria-label="year, Dates start date"]').click()
    page.keyboard.type(f"{last_week:%Y%m%d}")  # year, month and day segments, each advancing to the next
    page.get_by_role("heading", name="WHOOP dashboard").click()
    page.get_by_text(f"{last_week:%d %b %Y} to {end:%d %b %Y}").wait_for(timeout=60_000)
    after = bar_count(open_tab(page, "Recovery"))
    assert 1 <= after <= 7 < before
    page.screenshot(path=str(artifacts_dir / "dashboard-recovery-last-week.png"))

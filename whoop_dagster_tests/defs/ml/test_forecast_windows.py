"""The main job publishes both forecasts whatever the date it runs: their gates on `make run`'s windows.

``make run`` loads the last :data:`~whoop_dagster.environment.DEMO_DAYS` days; the emulator draws
every day afresh, so each date gives the models other data. Windows spread over a year, plus
the instants where the gates once failed, each pass both gates. ``make forecast-windows``
runs 120 windows over two years.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from whoop_dagster.emulator import Emulator, EmulatorConfig
from whoop_dagster.environment import DEMO_DAYS
from whoop_dagster_tests.defs.dbt.history_windows import Window, spread_windows
from whoop_dagster_tests.defs.ml.forecast_windows import build_windows, gate_failures
from whoop_dagster_tests.support.clock import frozen_now

pytestmark = [pytest.mark.slow, pytest.mark.time_sensitive]

#: Instants whose window once failed a gate: predictions of the unclipped ridge past 100 in
#: early 2024 (180 days), the 7-day mean beating the model on some 90-day windows of July 2025.
ONCE_FAILED = ("2024-01-07T10:38", "2024-03-14T01:58", "2025-07-02T13:58", "2025-07-12T06:38")


def windows(end: datetime) -> list[Window]:
    spread = spread_windows(8, end, lengths=(DEMO_DAYS,))
    hard = [
        Window(len(spread) + k, datetime.fromisoformat(text).replace(tzinfo=timezone.utc), DEMO_DAYS)
        for k, text in enumerate(ONCE_FAILED)
    ]
    return spread + hard


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Window]]:
    end = frozen_now()
    chosen = windows(end)
    first = min(w.first for w in chosen)
    emu = Emulator(EmulatorConfig(seed=7, days=(end.date() - first).days + 30, now=end))
    return build_windows(emu, chosen, tmp_path_factory.mktemp("forecast_windows")), chosen


def test_the_windows_span_a_year_and_the_known_hard_dates(built):
    _, chosen = built
    assert len(chosen) == 12
    assert (max(w.last for w in chosen) - min(w.last for w in chosen)) >= timedelta(days=300)
    assert {w.days for w in chosen} == {DEMO_DAYS}


def test_both_forecasts_pass_their_gates_in_every_window(built):
    path, chosen = built
    assert gate_failures(path, chosen) == {}

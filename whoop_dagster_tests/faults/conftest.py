"""Fixtures of the fault suite, and the printing of its summary table (see ``summary``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from whoop_dagster_tests.faults.harness import HISTORY_DAYS, FaultLab
from whoop_dagster_tests.faults.summary import SummaryRow, print_summary, publish
from whoop_dagster_tests.support.whoop import emulator


@pytest.fixture(scope="session")
def fault_summary() -> Iterator[list[SummaryRow]]:
    """This worker's summary rows, published to ``artifacts/`` when its session ends."""
    rows: list[SummaryRow] = []
    yield rows
    if rows:
        publish(rows)


@pytest.fixture
def lab(tmp_path: Path, caplog: pytest.LogCaptureFixture, fault_summary: list[SummaryRow]) -> Iterator[FaultLab]:
    """A fresh emulator, token file and DuckDB file; every logger captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    with emulator(days=HISTORY_DAYS) as emu:
        yield FaultLab(emu, tmp_path, caplog, fault_summary)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Without xdist. Under xdist only the controller prints, and it does not load this file:
    # the root conftest calls `print_summary` too (it prints once either way).
    print_summary(terminalreporter)

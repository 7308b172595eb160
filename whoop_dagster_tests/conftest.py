"""Session-wide test setup shared by every test package."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> str:
    """The dbt manifest that loading the definitions reads, prepared once per session if missing or stale.

    Cheap when it is up to date (`make prepare` already ran): only file times are compared.
    """
    from whoop_dagster.defs.dbt.prepare import prepare_if_stale

    return prepare_if_stale("local")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's table (the xdist controller never loads faults/conftest.py)."""
    from whoop_dagster_tests.faults.summary import print_summary

    print_summary(terminalreporter)

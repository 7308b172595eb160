"""Session-wide test setup shared by every test package."""

from __future__ import annotations

import os

import pytest

from whoop_dagster_tests.support.clock import DEFAULT_INSTANT, ENV_VAR, INSTANTS, parse_instant


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--now",
        default=None,
        help=f"the instant time-sensitive tests run at: ISO 8601 UTC or one of {', '.join(INSTANTS)} "
        f"(sets ${ENV_VAR}; default {DEFAULT_INSTANT})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """``--now`` becomes ``WHOOP_TEST_NOW`` before any test module is imported (and in child processes)."""
    instant = config.getoption("--now")
    if instant:
        os.environ[ENV_VAR] = parse_instant(instant).isoformat()


def pytest_report_header(config: pytest.Config) -> str:
    from whoop_dagster_tests.support.clock import frozen_now

    return f"time-sensitive tests run at {frozen_now().isoformat()} (--now / ${ENV_VAR})"


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

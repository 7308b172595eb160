"""End-to-end fixtures: ``dagster dev`` on the main run's instance, its GraphQL API, headless Chromium.

These tests need the state ``make run`` leaves behind (``DAGSTER_HOME`` with a run of the
pipeline job, and the DuckDB warehouse), the Debian ``chromium`` package, and a few
minutes: they run only when selected with ``-m e2e`` (``make e2e``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from whoop_dagster import environment
from whoop_dagster.jobs import PIPELINE_JOB_NAME
from whoop_dagster_tests.e2e.browser import find_chromium
from whoop_dagster_tests.e2e.dagster_dev import DagsterDev, running_dagster_dev
from whoop_dagster_tests.e2e.graphql import GraphQLError

E2E_MARKER = "e2e: `dagster dev` + headless Chromium against the main run's DAGSTER_HOME (run with `make e2e`)"
ARTIFACTS = environment.PROJECT_ROOT / "artifacts" / "e2e"

#: How long teardown waits for queued or running runs (sensor or automation runs the
#: daemon launched) before stopping `dagster dev`: stopping interrupts a running run, as
#: Ctrl-C on `make dev` would, and the instance then shows it failed.
DRAIN_TIMEOUT_SECONDS = 60.0
IN_FLIGHT_STATUSES = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]

IN_FLIGHT_RUNS = """
query InFlightRuns($statuses: [RunStatus!]) {
  runsOrError(filter: {statuses: $statuses}) {
    __typename
    ... on Runs { results { runId jobName status } }
  }
}
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", E2E_MARKER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip e2e tests unless the marker expression asks for them: a plain ``pytest`` never starts a browser."""
    if "e2e" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="end-to-end test: run it with `make e2e` (pytest -m e2e)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@dataclass(frozen=True)
class MainRunState:
    """Where ``make run`` left its instance and warehouse."""

    dagster_home: Path
    duckdb_path: Path


@pytest.fixture(scope="session")
def main_run_state() -> MainRunState:
    """The run's ``DAGSTER_HOME`` and warehouse (env vars, else the repo's defaults); skips if the job never ran."""
    home = environment.dagster_home().resolve()
    warehouse = environment.duckdb_path().resolve()
    hint = "run the main job first (`make run`, or `whoop-dagster demo` with the same DAGSTER_HOME)"
    if not (home / "dagster.yaml").is_file():
        pytest.skip(f"no Dagster instance at {home}: {hint}")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs_count(dg.RunsFilter(job_name=PIPELINE_JOB_NAME))
    if runs == 0:
        pytest.skip(f"no run of {PIPELINE_JOB_NAME} in {home}: {hint}")
    if not warehouse.is_file():
        pytest.skip(f"no warehouse at {warehouse}: {hint}")
    return MainRunState(dagster_home=home, duckdb_path=warehouse)


@pytest.fixture(scope="session")
def defs() -> dg.Definitions:
    """The code location's definitions, loaded here as ``dagster dev`` loads them: the source of every expectation."""
    from whoop_dagster.definitions import defs

    return defs


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def dagster_ui(main_run_state: MainRunState, artifacts_dir: Path) -> Iterator[DagsterDev]:
    """``dagster dev`` on 127.0.0.1 against the main run's instance, code location loaded; stopped afterwards."""
    with running_dagster_dev(
        dagster_home=main_run_state.dagster_home,
        duckdb_path=main_run_state.duckdb_path,
        log_path=artifacts_dir / "dagster-dev.log",
        cwd=environment.PROJECT_ROOT,
    ) as dev:
        yield dev
        drain_runs(dev, DRAIN_TIMEOUT_SECONDS)


def drain_runs(dev: DagsterDev, timeout: float) -> None:
    """Wait (bounded) until no run is queued or in flight, so stopping interrupts nothing."""
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            answer = dev.graphql.query(IN_FLIGHT_RUNS, statuses=IN_FLIGHT_STATUSES)["runsOrError"]
        except (OSError, GraphQLError):
            return  # the webserver is already gone: nothing left to wait for
        runs = answer.get("results", [])
        if not runs:
            return
        time.sleep(2)
    warnings.warn(
        f"stopping dagster dev with runs still queued or running (interrupted or left queued): {runs}",
        stacklevel=1,
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail("Chromium not found: run `bash scripts/e2e_prereqs.sh` (installs Debian's `chromium`)")
    return path

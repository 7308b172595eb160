"""End-to-end fixtures: ``dagster dev`` on the main run's instance, its GraphQL API, headless Chromium.

These tests need the state ``make run`` leaves behind (``DAGSTER_HOME`` with a run of the
pipeline job, and the DuckDB warehouse), the Debian ``chromium`` package, and a few
minutes: they run only when selected with ``-m e2e`` (``make e2e``).
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from whoop_dagster import environment
from whoop_dagster.instance_storage import open_instance
from whoop_dagster.jobs import PIPELINE_JOB_NAME
from whoop_dagster.pool_slots import release_abandoned_slots
from whoop_dagster_tests.e2e.dagster_dev import DagsterDev, running_dagster_dev
from whoop_dagster_tests.e2e.graphql import GraphQLError
from whoop_dagster_tests.e2e.queries import (
    CANCEL_BACKFILL,
    IN_FLIGHT_RUNS,
    PARTITION_BACKFILL,
    TERMINATE_RUNS,
)

E2E_MARKER = (
    "e2e: `dagster dev` + headless Chromium against the main run's DAGSTER_HOME, and the README's commands "
    "as printed (run with `make e2e`)"
)
ARTIFACTS = environment.PROJECT_ROOT / "artifacts" / "e2e"

#: Root in a container has no user-namespace sandbox; nothing else leaves loopback anyway.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

#: How long teardown waits for the runs it cancels to stop before stopping ``dagster dev``.
CANCEL_TIMEOUT_SECONDS = 90.0
IN_FLIGHT_STATUSES = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]
BACKFILL_IN_FLIGHT_STATUSES = {"REQUESTED", "CANCELING", "FAILING"}


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
    """The run's ``DAGSTER_HOME`` and warehouse (env vars, else the repo's defaults); fails if the job never ran."""
    home = environment.dagster_home().resolve()
    warehouse = environment.duckdb_path().resolve()
    hint = "run the main job first (`make run`, or `whoop-dagster demo` with the same DAGSTER_HOME)"
    # Fail, not skip: `make e2e` runs `make run` first, and an all-skipped e2e run must not pass CI.
    if not (home / "dagster.yaml").is_file():
        pytest.fail(f"no Dagster instance at {home}: {hint}")
    with open_instance(home) as instance:
        runs = instance.get_runs_count(dg.RunsFilter(job_name=PIPELINE_JOB_NAME))
    if runs == 0:
        pytest.fail(f"no run of {PIPELINE_JOB_NAME} in {home}: {hint}")
    if not warehouse.is_file():
        pytest.fail(f"no warehouse at {warehouse}: {hint}")
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
    """``dagster dev`` on 127.0.0.1 against the main run's instance, code location loaded; stopped afterwards.

    Its daemon does what it does under ``make dev``: the endpoint sensors' first ticks queue
    loads, the automation sensor rebuilds models after them. Before stopping, teardown cancels
    whatever of that (and of the tests' backfills) is still queued or running, through the API
    the UI's "Terminate" and "Cancel backfill" buttons use: no run is left interrupted (FAILURE),
    STARTED or holding a pool slot, and no backfill left in progress, in the user's instance.
    """
    release_pool_slots(main_run_state.dagster_home)
    try:
        with running_dagster_dev(
            dagster_home=main_run_state.dagster_home,
            duckdb_path=main_run_state.duckdb_path,
            log_path=artifacts_dir / "dagster-dev.log",
            cwd=environment.PROJECT_ROOT,
        ) as dev:
            try:
                yield dev
            finally:
                cancel_work_in_flight(dev, CANCEL_TIMEOUT_SECONDS)
    finally:
        release_pool_slots(main_run_state.dagster_home)


def cancel_work_in_flight(dev: DagsterDev, timeout: float) -> None:
    """Cancel the tests' unfinished backfills and every queued or running run; wait (bounded) until
    none is left in flight.

    Canceled runs record their unmaterialized assets as skipped by a user, not failed, so
    the UI shows no asset as failed because the test stopped ``dagster dev``, and their
    pool slots are given back.
    """
    deadline = time.monotonic() + timeout
    canceled: dict[str, str] = {}
    refused: dict[str, str] = {}
    runs: list[dict[str, Any]] = []
    backfills: list[str] = []
    while time.monotonic() < deadline:
        try:
            backfills = [backfill_id for backfill_id in dev.launched_backfills if backfill_in_flight(dev, backfill_id)]
            for backfill_id in backfills:
                if backfill_id not in canceled:
                    dev.graphql.query(CANCEL_BACKFILL, id=backfill_id, timeout=30)
                    canceled[backfill_id] = "backfill"
            answer = dev.graphql.query(IN_FLIGHT_RUNS, statuses=IN_FLIGHT_STATUSES, timeout=10)["runsOrError"]
            runs = answer.get("results", [])
            new = [run for run in runs if run["runId"] not in canceled]
            if new:
                answer = dev.graphql.query(TERMINATE_RUNS, runIds=[run["runId"] for run in new], timeout=30)
                results = answer["terminateRuns"].get("terminateRunResults", [])
                # A run between queue and start may refuse; it is asked again on the next pass.
                for run, result in zip(new, results, strict=False):
                    if result["__typename"] == "TerminateRunSuccess":
                        canceled[run["runId"]] = run["jobName"]
                    else:
                        refused[run["runId"]] = f"{result['__typename']}: {result.get('message')}"
        except (OSError, GraphQLError):
            return  # the webserver is already gone: nothing left to cancel through it
        if not runs and not backfills:
            break
        time.sleep(1)
    if canceled:
        print(f"\ncanceled {len(canceled)} run(s)/backfill(s) still in flight at the end: {canceled}")
    if refused:
        print(f"runs that refused to terminate at first: {refused}")
    if runs or backfills:
        warnings.warn(
            f"stopping dagster dev with work still in flight after canceling: runs {runs} (last refusals:"
            f" {refused}), backfills {backfills}",
            stacklevel=1,
        )


def release_pool_slots(dagster_home: Path) -> None:
    """Give back pool slots still claimed by finished runs, or by runs whose process is gone.

    A run canceled or interrupted while a step held the ``warehouse_writer`` slot can leave the
    claim behind; every later warehouse step (the backfill here, the next ``make run``) would
    then wait for it forever. The project's own remedy, as ``make run`` applies it.
    """
    with open_instance(dagster_home) as instance:
        freed = release_abandoned_slots(instance)
    if freed:
        print(f"\nfreed the pool slots still claimed by run(s) {freed}")


def backfill_in_flight(dev: DagsterDev, backfill_id: str) -> bool:
    answer = dev.graphql.query(PARTITION_BACKFILL, id=backfill_id, timeout=10)["partitionBackfillOrError"]
    return answer.get("status") in BACKFILL_IN_FLIGHT_STATUSES


#: Debian's chromium, which Playwright drives (`playwright install` cannot download a browser here).
CHROMIUM = "/usr/bin/chromium"


def find_chromium() -> str | None:
    """Path of the system Chromium, or None."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail("Chromium not found: run `bash scripts/e2e_prereqs.sh` (installs Debian's `chromium`)")
    return path


@pytest.fixture(scope="session")
def chromium_browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium driven by Playwright (Debian's browser: `playwright install` cannot download one here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

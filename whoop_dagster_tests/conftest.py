"""Session-wide test setup shared by every test package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from whoop_dagster import environment
from whoop_dagster.defs.dbt.project import PREPARE_COMMAND, SOURCE_DBT_PROJECT_DIR, dbt_project, manifest_is_stale
from whoop_dagster_tests.support.clock import DEFAULT_INSTANT, ENV_VAR, INSTANTS, parse_instant

BIN = Path(sys.executable).parent
TESTS_ROOT = Path(__file__).parent

#: The modules that take longest on 2 cores (``pytest --durations``), longest first. They start
#: first, so that pytest-xdist's workers (``-n 3 --dist loadfile --no-loadscope-reorder``, as
#: `make test` runs them) finish together: a long module picked up last keeps one worker busy
#: alone. The other modules follow in collection order.
LONGEST_FIRST: tuple[str, ...] = (
    "faults/test_campaign.py",
    "warehouse/test_concurrent_runs.py",
    "defs/dbt/test_execution.py",
    "defs/dbt/test_deploy_targets.py",
    "defs/dbt/test_project.py",
    "test_demo.py",
    "defs/dbt/test_dbt_build.py",
    "dashboard/test_concurrency.py",
    "defs/analysis/test_recovery_drivers_asset.py",
    "defs/raw/test_raw_assets.py",
    "warehouse/test_dbt_waits_for_duckdb.py",
    "faults/test_warehouse_faults.py",
    "test_instance_storage.py",
    "defs/dbt/test_history_edges.py",
    "defs/dbt/test_blocking_checks.py",
    "defs/dbt/test_incremental.py",
)


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of :data:`LONGEST_FIRST` first, in its order; the rest keep theirs."""
    rank = {module: position for position, module in enumerate(LONGEST_FIRST)}

    def module_rank(item: pytest.Item) -> int:
        module = item.path.relative_to(TESTS_ROOT).as_posix() if item.path.is_relative_to(TESTS_ROOT) else ""
        return rank.get(module, len(rank))

    items.sort(key=module_rank)  # stable: tests within a module, and the other modules, keep their order


def pytest_report_header(config: pytest.Config) -> str:
    from whoop_dagster_tests.support.clock import frozen_now

    return f"time-sensitive tests run at {frozen_now().isoformat()} (--now / ${ENV_VAR})"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """The dbt manifest that loading the definitions reads, prepared as `make prepare` does.

    Runs ``dagster-dbt project prepare-and-package`` for the local target once per session when the
    manifest is missing or older than a dbt file; cheap when `make prepare` already ran. The lock
    keeps pytest-xdist's workers from preparing at the same time.
    """
    manifest = SOURCE_DBT_PROJECT_DIR / "target" / "manifest.json"
    manifest.parent.mkdir(exist_ok=True)
    with FileLock(str(manifest.parent / ".prepare.lock"), timeout=600):
        if manifest_is_stale(dbt_project("local")):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_", "SNOWFLAKE_", "DAGSTER_CLOUD"))}
            _, *arguments = PREPARE_COMMAND.split()
            result = subprocess.run(
                [str(BIN / "dagster-dbt"), *arguments],
                cwd=environment.PROJECT_ROOT,
                # dagster-dbt runs `dbt` from PATH: this venv's, as in an activated venv.
                env={**env, "WHOOP_DEPLOYMENT": "local", "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"`{PREPARE_COMMAND}` failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
            manifest.touch()  # dbt may leave an unchanged manifest's time alone
    return manifest


@pytest.fixture(scope="session")
def pipeline_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's pipeline warehouse (``support/pipeline_warehouse``), built once; read it, never write it."""
    from whoop_dagster_tests.support.pipeline_warehouse import pipeline_warehouse

    return pipeline_warehouse(tmp_path_factory)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's table and the campaign's figures (the xdist controller never loads faults/conftest.py)."""
    from whoop_dagster_tests.faults import campaign_summary
    from whoop_dagster_tests.faults.summary import print_summary

    print_summary(terminalreporter)
    campaign_summary.print_summary(terminalreporter)

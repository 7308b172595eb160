"""The code location's executor: Dagster's default one, step processes forked from a server that preloaded the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.definitions import defs
from whoop_dagster.executor import DEFAULT_START_METHOD, build_executor, with_default_start_method

DAGSTER = Path(sys.executable).parent / "dagster"

#: A code location with one asset that reports which process imported its module and which runs it.
LOCATION = """
import json, os
from pathlib import Path

import dagster as dg

from whoop_dagster.executor import build_executor

IMPORTED_BY = os.getpid()


@dg.asset
def where_it_ran() -> None:
    report = {"imported_by": IMPORTED_BY, "step": os.getpid(), "parent": os.getppid()}
    Path(os.environ["WHERE_IT_RAN"]).write_text(json.dumps(report))


defs = dg.Definitions(assets=[where_it_ran], executor=build_executor(["where_location"]))
"""


PRELOADED = ["whoop_dagster.definitions"]


def test_every_job_runs_on_the_projects_executor() -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == dg.multi_or_in_process_executor.name
    assert DEFAULT_START_METHOD in build_executor().description


@pytest.mark.parametrize(
    ("run_config", "resolved"),
    [
        (
            {"multiprocess": {"max_concurrent": 2}},
            {"multiprocess": {"max_concurrent": 2, "start_method": {"forkserver": {"preload_modules": PRELOADED}}}},
        ),
        ({"multiprocess": {"start_method": {"spawn": {}}}}, {"multiprocess": {"start_method": {"spawn": {}}}}),
        ({"in_process": {}}, {"in_process": {}}),
    ],
)
def test_the_run_config_keeps_its_say_only_the_default_start_changes(run_config, resolved) -> None:
    if DEFAULT_START_METHOD != "forkserver" and "max_concurrent" in run_config["multiprocess"]:
        resolved = {"multiprocess": {"max_concurrent": 2, "start_method": {"spawn": {}}}}
    assert with_default_start_method(run_config) == resolved


def _run(tmp_path: Path, *config: str) -> dict[str, int]:
    (tmp_path / "where_location.py").write_text(LOCATION)
    report = tmp_path / "where.json"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # On the path of every process, as an installed code location is: the fork server imports it by name.
    env = {**os.environ, "DAGSTER_HOME": str(home), "WHERE_IT_RAN": str(report), "PYTHONPATH": str(tmp_path)}
    command = [str(DAGSTER), "asset", "materialize", "-m", "where_location", "-d", str(tmp_path)]
    command += ["--select", "where_it_ran", *config]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(report.read_text())


@pytest.mark.skipif(DEFAULT_START_METHOD != "forkserver", reason="no forkserver on this platform")
def test_a_step_process_is_forked_from_a_server_that_imported_the_code(tmp_path: Path) -> None:
    forked = _run(tmp_path)
    assert forked["imported_by"] == forked["parent"]  # the forkserver imported the code location once
    assert forked["step"] != forked["imported_by"]  # the step did not import it again

    spawned = _run(
        tmp_path,
        "--config-json",
        json.dumps({"execution": {"config": {"multiprocess": {"start_method": {"spawn": {}}}}}}),
    )
    assert spawned["imported_by"] == spawned["step"]  # a spawned step imports everything itself

"""What the deploy workflow relies on: branch targets never name prod, and the packaged project loads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from whoop_dagster.defs.dbt.project import PREPARE_COMMAND, SOURCE_DBT_PROJECT_DIR, dbt_executable
from whoop_dagster_tests.defs.dbt.fresh_clone import BIN, clone_env, copy_repository

ROOT = SOURCE_DBT_PROJECT_DIR.parent

#: Dummy prod settings: loading the prod definitions reads them but connects to nothing.
PROD_ENV = {
    "WHOOP_DEPLOYMENT": "prod",
    "SNOWFLAKE_ACCOUNT": "test-account",
    "SNOWFLAKE_USER": "test_user",
    "SNOWFLAKE_PASSWORD": "test-password",
    "WHOOP_CLIENT_ID": "test-client",
    "WHOOP_CLIENT_SECRET": "test-secret",
}


def _parse(target: str, target_path: Path, **env: str) -> dict:
    """``dbt parse`` of ``target`` into ``target_path`` (no connection is opened) and the manifest it wrote."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SNOWFLAKE_", "DAGSTER_CLOUD", "WHOOP_"))}
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--target",
            target,
            "--profiles-dir",
            ".",
            "--target-path",
            str(target_path),
            "--no-partial-parse",
        ],
        cwd=SOURCE_DBT_PROJECT_DIR,
        env={**clean, **env},
        check=True,
        timeout=300,
    )
    return json.loads((target_path / "manifest.json").read_text())


def test_a_branch_target_without_a_database_writes_to_the_prs_clone(tmp_path: Path):
    manifest = _parse("branch", tmp_path / "target", DAGSTER_CLOUD_PULL_REQUEST_ID="42")

    databases = {node["database"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert databases == {"WHOOP_BRANCH_42"}


PROBE = """
import json
from whoop_dagster.definitions import defs
from whoop_dagster.defs.dbt.assets import build_dbt_assets
from whoop_dagster.defs.dbt.project import dbt_project
models = build_dbt_assets()
print(json.dumps({
    "project_dir": str(dbt_project().project_dir),
    "target": defs.resources["dbt"].target,
    "kinds": sorted({kind for spec in models.specs for kind in spec.kinds}),
    "keys": len(models.keys),
}))
"""


def _probe(cwd: Path, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_prepare_and_package_for_prod_ships_a_project_that_loads_alone(tmp_path: Path):
    """The deploy workflow's step, then a build that holds the Python package and nothing beside it."""
    clone = copy_repository(tmp_path / "clone")
    _, *arguments = PREPARE_COMMAND.split()
    prepared = subprocess.run(
        [str(BIN / "dagster-dbt"), *arguments],
        cwd=clone,
        env=clone_env(clone, WHOOP_DEPLOYMENT="prod"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stdout[-4000:]
    packaged = clone / "whoop_dagster" / "dbt_project"
    manifest = json.loads((packaged / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "snowflake"
    assert (packaged / "profiles.yml").exists()

    shutil.rmtree(clone / "whoop_dbt")
    loaded = _probe(tmp_path, clone_env(clone, DAGSTER_HOME=str(tmp_path), **PROD_ENV))
    assert loaded["project_dir"] == str(packaged)
    assert loaded["target"] == "prod"
    assert loaded["kinds"] == ["dbt", "snowflake"]
    assert loaded["keys"] > 20


def test_a_local_clone_uses_the_repos_dbt_project_and_packages_nothing(tmp_path: Path):
    loaded = _probe(ROOT, clone_env(ROOT, DAGSTER_HOME=str(tmp_path)))
    assert loaded["project_dir"] == str(SOURCE_DBT_PROJECT_DIR)
    assert loaded["target"] == "local"
    assert loaded["kinds"] == ["dbt", "duckdb"]
    assert not (ROOT / "whoop_dagster" / "dbt_project").exists()

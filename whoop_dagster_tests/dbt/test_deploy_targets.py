"""What the deploy workflow relies on: branch targets never name prod, and the packaged project loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from whoop_dagster.defs.dbt.prepare import package
from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR, dbt_executable

ROOT = SOURCE_DBT_PROJECT_DIR.parent


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


def test_a_branch_target_without_a_database_writes_to_the_pull_requests_clone(tmp_path: Path):
    manifest = _parse("branch", tmp_path / "target", DAGSTER_CLOUD_PULL_REQUEST_ID="42")

    databases = {node["database"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert databases == {"WHOOP_BRANCH_42"}


def test_the_packaged_project_is_what_an_installed_build_loads(tmp_path: Path):
    source = tmp_path / "repo" / "whoop_dbt"
    (source / "target").mkdir(parents=True)
    for item in ("dbt_project.yml", "profiles.yml"):
        (source / item).write_text((SOURCE_DBT_PROJECT_DIR / item).read_text())
    (source / "target" / "manifest.json").write_text('{"nodes": {}}')
    (source / "target" / "run_results.json").write_text("{}")
    (source / "logs").mkdir()
    (source / "logs" / "dbt.log").write_text("")

    packaged = package(source, tmp_path / "pkg" / "dbt_project")

    assert (packaged / "dbt_project.yml").exists()
    assert (packaged / "target" / "manifest.json").read_text() == '{"nodes": {}}'
    assert not (packaged / "target" / "run_results.json").exists()
    assert not (packaged / "logs").exists()


PROBE = """
import sys
from whoop_dagster.defs.dbt import project
print(project.DBT_PROJECT_DIR)
"""


def test_a_clone_uses_the_repositorys_dbt_project():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert Path(result.stdout.strip()) == SOURCE_DBT_PROJECT_DIR

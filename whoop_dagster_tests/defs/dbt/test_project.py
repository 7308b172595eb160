"""The dbt project in a fresh clone: `dagster dev` prepares its manifest; everything else says how to.

Both run real processes on a copy of the repository that has no ``whoop_dbt/target``, as a clone
has after ``pip install -e ".[dev]"`` and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from whoop_dagster.defs.dbt.project import (
    PREPARE_COMMAND,
    SOURCE_DBT_PROJECT_DIR,
    WhoopDbtProject,
    manifest_is_stale,
)
from whoop_dagster_tests.defs.dbt.fresh_clone import BIN, clone_env, copy_repository
from whoop_dagster_tests.defs.dbt.test_dbt_definitions import FIXED_MODEL_KEYS
from whoop_dagster_tests.e2e.dagster_dev import running_dagster_dev

ASSET_KEYS = "query AssetKeys { assetNodes { assetKey { path } groupName } }"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    clone = copy_repository(tmp_path / "clone")
    assert not (clone / "whoop_dbt" / "target").exists()
    return clone


def test_loading_with_no_manifest_outside_dagster_dev_says_how_to_prepare(clone: Path, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-c", "import whoop_dagster.definitions"],
        cwd=clone,
        env=clone_env(clone, DAGSTER_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "ManifestNotPreparedError" in result.stderr
    assert f"dbt manifest not found at {clone / 'whoop_dbt' / 'target' / 'manifest.json'}" in result.stderr
    assert PREPARE_COMMAND in result.stderr


def test_bare_dagster_dev_in_a_fresh_clone_prepares_and_loads_dbt_assets(clone: Path, tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    # No -m: `dagster dev` at the repository root finds the code location in workspace.yaml.
    with running_dagster_dev(
        dagster_home=home,
        duckdb_path=tmp_path / "warehouse" / "whoop.duckdb",
        log_path=tmp_path / "dagster_dev.log",
        cwd=clone,
        load_timeout=300,
        module=None,
        base_env=clone_env(clone),
    ) as dev:
        nodes = dev.graphql.query(ASSET_KEYS)["assetNodes"]

    groups = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in nodes}
    assert set(groups) >= FIXED_MODEL_KEYS
    assert all(groups[key] == key.split("/")[0] for key in FIXED_MODEL_KEYS)
    assert (clone / "whoop_dbt" / "target" / "manifest.json").exists()  # prepared by prepare_if_dev()


@pytest.fixture
def prepared_copy(tmp_path: Path, dbt_manifest: Path) -> WhoopDbtProject:
    """A copy of whoop_dbt with the session's manifest, dated after every source file."""
    copy = tmp_path / "whoop_dbt"
    shutil.copytree(SOURCE_DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    (copy / "target").mkdir()
    shutil.copy(dbt_manifest, copy / "target" / "manifest.json")
    return WhoopDbtProject(project_dir=copy, target="local")


def test_dagster_dev_does_not_parse_again_while_no_dbt_file_changed(prepared_copy, monkeypatch):
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    manifest = Path(prepared_copy.manifest_path)
    before = manifest.stat().st_mtime_ns
    prepared_copy.prepare_if_dev()
    assert manifest.stat().st_mtime_ns == before


def test_dagster_dev_parses_again_after_a_model_changed(prepared_copy, monkeypatch):
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    manifest = Path(prepared_copy.manifest_path)
    model = Path(prepared_copy.project_dir) / "models" / "staging" / "stg_cycle.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    # Date the manifest before the edit rather than the model after it: a model dated in the
    # future would stay newer than the manifest dbt writes now, and the project would stay stale.
    edited_at = model.stat().st_mtime
    os.utime(manifest, (edited_at - 10, edited_at - 10))
    assert manifest_is_stale(prepared_copy)
    prepared_copy.prepare_if_dev()
    assert manifest.stat().st_mtime > edited_at - 10
    assert not manifest_is_stale(prepared_copy)
    parsed = json.loads(manifest.read_text())
    assert "-- edited" in parsed["nodes"]["model.whoop_dbt.stg_cycle"]["raw_code"]


def test_only_dbt_sources_newer_than_the_manifest_make_it_stale(tmp_path):
    from types import SimpleNamespace

    manifest = tmp_path / "target" / "manifest.json"
    for path in (manifest, tmp_path / "models" / "marts" / "m.sql", tmp_path / "logs" / "dbt.log"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    project = SimpleNamespace(manifest_path=manifest, project_dir=str(tmp_path))
    prepared_at = manifest.stat().st_mtime
    os.utime(tmp_path / "models" / "marts" / "m.sql", (prepared_at - 60, prepared_at - 60))
    for output in (tmp_path / "target" / "run" / "x.sql", tmp_path / "logs" / "dbt.log", tmp_path / ".user.yml"):
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("newer")
        os.utime(output, (prepared_at + 60, prepared_at + 60))
    assert not manifest_is_stale(project)
    os.utime(tmp_path / "models" / "marts" / "m.sql", (prepared_at + 60, prepared_at + 60))
    assert manifest_is_stale(project)

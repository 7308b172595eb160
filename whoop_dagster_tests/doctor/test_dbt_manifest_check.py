"""The doctor's dbt-manifest check on a copy of the project: missing, stale, mismatched, up to date."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR
from whoop_dagster.doctor.dbt_manifest import check_manifest


@pytest.fixture
def project_copy(tmp_path: Path, dbt_manifest: Path) -> DbtProject:
    """A copy of whoop_dbt with the prepared manifest, dated after every source file."""
    copy = tmp_path / "whoop_dbt"
    shutil.copytree(SOURCE_DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    (copy / "target").mkdir()
    shutil.copy(dbt_manifest, copy / "target" / "manifest.json")
    return DbtProject(project_dir=copy, target="local")


def test_an_up_to_date_manifest_passes(project_copy):
    assert check_manifest(project_copy).passed


def test_a_missing_manifest_says_how_to_prepare_it(project_copy):
    Path(project_copy.manifest_path).unlink()
    result = check_manifest(project_copy)
    assert result.failure == "manifest_missing"
    assert "prepare-and-package" in result.fix


def test_a_model_edited_after_preparing_makes_it_stale(project_copy):
    model = Path(project_copy.project_dir) / "models" / "staging" / "stg_cycle.sql"
    later = Path(project_copy.manifest_path).stat().st_mtime + 10
    os.utime(model, (later, later))
    assert check_manifest(project_copy).failure == "manifest_stale"


def test_a_model_missing_from_the_manifest_is_named(project_copy):
    (Path(project_copy.project_dir) / "models" / "marts" / "fact_new_thing.sql").write_text("select 1 as x\n")
    manifest_path = Path(project_copy.manifest_path)
    manifest_path.write_text(json.dumps(json.loads(manifest_path.read_text())))  # re-dated after the model
    result = check_manifest(project_copy)
    assert result.failure == "manifest_mismatch"
    assert "fact_new_thing" in result.result

"""The ``dbt`` resource knows this environment's dbt Core version without running ``dbt --version``."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import dagster_dbt.core.resource
import pytest
from packaging import version

from whoop_dagster.defs.dbt.assets import build_dbt_resource
from whoop_dagster.defs.dbt.cli_resource import WhoopDbtCliResource, runs_this_environments_dbt
from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR, dbt_executable


def test_this_environments_dbt_reports_what_dbt_version_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    expected = version.parse(re.search(r"(\d+\.\d+\.\d+)", printed).group(1))

    def no_second_dbt_process(*args: object, **kwargs: object) -> bytes:
        raise AssertionError(f"dbt --version was run: {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_second_dbt_process)
    resource = build_dbt_resource("local")

    assert runs_this_environments_dbt(resource.dbt_executable)
    assert resource._cli_version == expected


def test_another_dbt_executable_is_still_asked_its_version(tmp_path: Path) -> None:
    # A dbt from elsewhere (another environment, dbt Fusion) may run another version: ask it.
    other_dbt = tmp_path / "dbt"
    other_dbt.write_text("#!/bin/sh\necho 'Core:\n  - installed: 2.0.0-preview.1'\n")
    other_dbt.chmod(other_dbt.stat().st_mode | stat.S_IXUSR)

    resource = WhoopDbtCliResource(project_dir=str(SOURCE_DBT_PROJECT_DIR), dbt_executable=str(other_dbt))

    assert not runs_this_environments_dbt(str(other_dbt))
    assert resource._cli_version == version.parse("2.0.0")

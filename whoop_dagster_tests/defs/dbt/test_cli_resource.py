"""The ``dbt`` resource knows this environment's dbt Core version without running ``dbt --version``."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import dagster_dbt.core.resource
import pytest
from dagster_dbt import DbtCliInvocation, DbtCliResource
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


@pytest.fixture
def dbt_resource_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WhoopDbtCliResource:
    """The local ``dbt`` resource, its invocations' artifacts under ``tmp_path`` (with the prepared parse state)."""
    target = tmp_path / "dbt_target"
    target.mkdir()
    shutil.copy(SOURCE_DBT_PROJECT_DIR / "target" / "partial_parse.msgpack", target)
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    return build_dbt_resource("local")


def _record_order(monkeypatch: pytest.MonkeyPatch, adapter: Callable[..., object] | None = None) -> list[str]:
    """Record when dagster-dbt starts dbt and when it builds its metadata adapter (``adapter`` replaces that)."""
    order: list[str] = []
    start_dbt = DbtCliInvocation.run.__func__
    build_adapter = adapter or DbtCliResource._initialize_dbt_core_adapter

    def run(cls: type[DbtCliInvocation], *args: object, **kwargs: object) -> DbtCliInvocation:
        order.append("dbt started")
        return start_dbt(cls, *args, **kwargs)

    def initialize(self: DbtCliResource, args: list[str]) -> object:
        order.append("adapter built")
        return build_adapter(self, args)

    monkeypatch.setattr(DbtCliInvocation, "run", classmethod(run))
    monkeypatch.setattr(DbtCliResource, "_initialize_dbt_core_adapter", initialize)
    return order


def test_dbt_starts_before_the_metadata_adapter_is_built(dbt_resource_in_tmp, monkeypatch) -> None:
    order = _record_order(monkeypatch)

    invocation = dbt_resource_in_tmp.cli_then_adapter(["ls", "--resource-type", "model"])

    assert order == ["dbt started", "adapter built"]
    assert invocation.adapter is not None
    assert invocation.adapter.type() == "duckdb"
    assert invocation.is_successful()
    # dbt's own log file keeps dbt's text format; only the output dagster-dbt reads is JSON.
    first_line = (invocation.target_path / "dbt.log").read_text().lstrip().splitlines()[0]
    assert not first_line.startswith("{"), first_line


def test_an_adapter_that_cannot_be_built_leaves_dbt_running(dbt_resource_in_tmp, monkeypatch) -> None:
    def broken(self: DbtCliResource, args: list[str]) -> object:
        raise RuntimeError("no adapter today")

    order = _record_order(monkeypatch, adapter=broken)

    invocation = dbt_resource_in_tmp.cli_then_adapter(["ls", "--resource-type", "model"])

    assert order == ["dbt started", "adapter built"]
    assert invocation.adapter is None  # no row counts or column types, as with dagster-dbt's own `cli`
    assert invocation.is_successful()
    # and `cli` itself still builds the adapter before it starts dbt
    order.clear()
    dbt_resource_in_tmp.cli(["ls", "--resource-type", "model"]).wait()
    assert order == ["adapter built", "dbt started"]

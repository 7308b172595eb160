"""The ``dbt`` resource: dagster-dbt's :class:`~dagster_dbt.DbtCliResource`, with less work before dbt starts.

Before every dbt command, ``DbtCliResource.cli`` does two things in the Dagster process, and only
then starts dbt:

1. It asks the executable for its version (``dbt --version``) to tell dbt Core from dbt Fusion.
   That is a second dbt process per step: 4.2 s here, 3 s of CPU, because ``dbt --version``
   imports dbt's CLI, every installed adapter plugin (the Snowflake connector among them) and asks
   PyPI for the latest release. When the executable is the dbt Core installed in this very Python
   environment, its version is already known in-process, so the resource answers from there; any
   other executable (a dbt on PATH from another environment, dbt Fusion) is still asked.
2. It builds the dbt adapter it later queries row counts and column types through (loading the
   project, the profile and dbt's macros: 1.2-1.4 s here). The adapter is not used before dbt's
   first results arrive, and on DuckDB not before dbt exits (the file has one writer), so
   :meth:`WhoopDbtCliResource.cli_then_adapter` starts dbt first and builds the same adapter, with
   dagster-dbt's own code, while dbt runs.

dbt's file log (``dbt.log`` beside each invocation's artifacts) stays in dbt's default text format:
dagster-dbt sets ``DBT_LOG_FORMAT=json`` for the output it reads, which dbt also applies to the
file log unless told otherwise, and writing every debug event as JSON cost 0.4 s per build here.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION
from packaging import version

if TYPE_CHECKING:
    from collections.abc import Iterator

#: dbt's own default file-log format (``--log-format-file``), which dbt would otherwise take from
#: the JSON format dagster-dbt asks for on standard output.
FILE_LOG_FLAGS = ("--log-format-file", "debug")

#: Set while :meth:`WhoopDbtCliResource.cli_then_adapter` starts dbt: build the adapter afterwards.
_adapter_after_start: ContextVar[bool] = ContextVar("adapter_after_start", default=False)


class WhoopDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that skips ``dbt --version`` for this environment's own dbt Core and can
    build its metadata adapter while dbt runs (:meth:`cli_then_adapter`)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # DBT_PYTHON_VERSION: dagster-dbt's own reading of the importable dbt Core (None without it).
        if DBT_PYTHON_VERSION is not None and runs_this_environments_dbt(self.dbt_executable):
            return DBT_PYTHON_VERSION
        return super()._cli_version

    def cli_then_adapter(
        self, args: Sequence[str], *, context: dg.AssetExecutionContext | None = None
    ) -> DbtCliInvocation:
        """Start ``dbt <args>`` as :meth:`cli` does, then build dagster-dbt's metadata adapter while it runs.

        The invocation is the one ``cli`` returns, with the adapter ``cli`` would have built first.
        As in ``cli``, an adapter that cannot be built is logged and leaves the row counts and
        column types out; dbt itself runs either way.
        """
        token = _adapter_after_start.set(True)
        try:
            invocation = self.cli(list(args), context=context)
        finally:
            _adapter_after_start.reset(token)
        if not invocation.is_fusion:  # the Fusion engine has no dbt Core adapter
            invocation.adapter = self._adapter_or_none(args, invocation.project_dir)
        return invocation

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        if _adapter_after_start.get():
            return None  # cli_then_adapter builds it once dbt has started
        return super()._initialize_dbt_core_adapter(args)

    def _adapter_or_none(self, args: Sequence[str], project_dir: Path) -> Any:
        try:
            with _working_directory(project_dir):  # where `cli` builds it: relative profile paths resolve the same
                return super()._initialize_dbt_core_adapter(args)
        except Exception:  # as `cli` does: no row counts or column types, but dbt's run goes on
            dg.get_dagster_logger().warning(
                "An error was encountered when creating a handle to the dbt adapter in Dagster.", exc_info=True
            )
            return None


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def runs_this_environments_dbt(executable: str) -> bool:
    """Whether ``executable`` is the ``dbt`` script installed beside this Python (same scripts folder)."""
    found = shutil.which(executable)
    if found is None:
        return False
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    return Path(found).resolve().parent == scripts and Path(found).name == "dbt"

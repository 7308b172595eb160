"""The ``dbt`` resource: dagster-dbt's :class:`~dagster_dbt.DbtCliResource`, told the version it runs.

Before every dbt command, ``DbtCliResource.cli`` asks the executable for its version
(``dbt --version``) to tell dbt Core from dbt Fusion. That is a second dbt process per step:
4.2 s here, 3 s of CPU, because ``dbt --version`` imports dbt's CLI, every installed adapter
plugin (the Snowflake connector among them) and asks PyPI for the latest release. When the
executable is the dbt Core installed in this very Python environment, its version is already
known in-process, so the resource answers from there; any other executable (a dbt on PATH from
another environment, dbt Fusion) is still asked.
"""

from __future__ import annotations

import shutil
import sysconfig
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION
from packaging import version


class WhoopDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that skips ``dbt --version`` for this environment's own dbt Core."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # DBT_PYTHON_VERSION: dagster-dbt's own reading of the importable dbt Core (None without it).
        if DBT_PYTHON_VERSION is not None and runs_this_environments_dbt(self.dbt_executable):
            return DBT_PYTHON_VERSION
        return super()._cli_version


def runs_this_environments_dbt(executable: str) -> bool:
    """Whether ``executable`` is the ``dbt`` script installed beside this Python (same scripts folder)."""
    found = shutil.which(executable)
    if found is None:
        return False
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    return Path(found).resolve().parent == scripts and Path(found).name == "dbt"

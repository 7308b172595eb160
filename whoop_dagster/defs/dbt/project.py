"""The dbt project ``whoop_dbt`` as Dagster sees it: paths, target, and the prepared manifest.

Nothing here runs at import. :func:`dbt_project` builds the :class:`~dagster_dbt.DbtProject`
on first call (and caches it); it never parses dbt. The manifest it points at,
``whoop_dbt/target/manifest.json``, is prepared at build time by
``python -m whoop_dagster.defs.dbt.prepare`` (see :mod:`whoop_dagster.defs.dbt.prepare`).
"""

from __future__ import annotations

import shutil
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from whoop_dagster import environment

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

#: The dbt project in the repository, a sibling of the Python package.
SOURCE_DBT_PROJECT_DIR: Path = environment.PROJECT_ROOT / "whoop_dbt"

#: The copy shipped inside the Python package for Dagster+ builds, which install the package
#: and nothing beside it (``python -m whoop_dagster.defs.dbt.prepare --package``).
PACKAGED_DBT_PROJECT_DIR: Path = Path(__file__).resolve().parents[2] / "dbt_project"

#: The dbt project the definitions use: the repository's when present (a clone, ``make``, CI),
#: else the packaged copy (a deployed build).
DBT_PROJECT_DIR: Path = (
    SOURCE_DBT_PROJECT_DIR
    if (SOURCE_DBT_PROJECT_DIR / "dbt_project.yml").exists() or not PACKAGED_DBT_PROJECT_DIR.exists()
    else PACKAGED_DBT_PROJECT_DIR
)

#: Where ``dbt parse`` writes the manifest that the definitions load.
MANIFEST_PATH: Path = DBT_PROJECT_DIR / "target" / "manifest.json"


class ManifestNotPreparedError(RuntimeError):
    """The dbt manifest has not been prepared (``python -m whoop_dagster.defs.dbt.prepare``)."""


@cache
def dbt_project(target: str | None = None) -> DbtProject:
    """The dbt project for ``target`` (default: :func:`whoop_dagster.environment.dbt_target`).

    ``profiles.yml`` lives in the project itself; the target is named like the deployment.
    """
    from dagster_dbt import DbtProject

    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target or environment.dbt_target(),
    )


def require_manifest(path: Path = MANIFEST_PATH) -> Path:
    """The prepared manifest's path, or an error that says how to prepare it."""
    if not path.exists():
        raise ManifestNotPreparedError(
            f"dbt manifest not found at {path}. Prepare it once per build with "
            "`python -m whoop_dagster.defs.dbt.prepare` (`make prepare`); loading the definitions never parses dbt."
        )
    return path


def dbt_executable() -> str:
    """The ``dbt`` executable: on PATH, else the one installed next to this Python."""
    found = shutil.which("dbt")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def warehouse_kind(target: str) -> str:
    """The warehouse a dbt target writes to, as a Dagster kind (``duckdb`` or ``snowflake``)."""
    return "duckdb" if target == "local" else "snowflake"

"""The dbt project ``whoop_dbt`` as a dagster-dbt :class:`~dagster_dbt.DbtProject`, and its prepared manifest."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from whoop_dagster import environment

#: The dbt project in the repository, a sibling of the Python package.
SOURCE_DBT_PROJECT_DIR: Path = environment.PROJECT_ROOT / "whoop_dbt"

#: The copy of the dbt project, with its manifest, that deployed builds ship inside the Python
#: package (they install the package and nothing beside it). Made by ``prepare-and-package``.
PACKAGED_DBT_PROJECT_DIR: Path = Path(__file__).resolve().parents[2] / "dbt_project"

#: The command that prepares the manifest, for error messages and docs.
PREPARE_COMMAND = "dagster-dbt project prepare-and-package --file whoop_dagster/defs/dbt/project.py"


class ManifestNotPreparedError(RuntimeError):
    """The dbt manifest has not been prepared (outside ``dagster dev``, nothing parses dbt at load)."""


class WhoopDbtProject(DbtProject):
    """dagster-dbt's project, but under ``dagster dev`` it parses only when a dbt file changed.

    ``dagster dev`` loads the definitions in every process it starts (code server, each run
    worker, each step process), and :meth:`~dagster_dbt.DbtProject.prepare_if_dev` runs
    ``dbt parse`` in every one of them. An edited model is still picked up on the next load:
    its file is newer than the manifest.
    """

    def prepare_if_dev(self) -> None:
        if manifest_is_stale(self):
            super().prepare_if_dev()


@cache
def _dbt_project(target: str, packaged: bool) -> DbtProject:
    # A deployed build has no repository beside the package: only the packaged copy exists.
    # dagster-dbt itself prefers the packaged copy whenever it exists, except under `dagster dev`.
    project_dir = SOURCE_DBT_PROJECT_DIR if SOURCE_DBT_PROJECT_DIR.exists() else PACKAGED_DBT_PROJECT_DIR
    return WhoopDbtProject(
        project_dir=project_dir,
        # Local runs use the repository's project: packaging it there would make every process
        # but `dagster dev` run a copy that goes stale the moment a model is edited.
        packaged_project_dir=PACKAGED_DBT_PROJECT_DIR if packaged else None,
        # profiles.yml lives in the project (profiles_dir defaults to the project dir in use).
        target=target,
    )


def dbt_project(target: str | None = None) -> DbtProject:
    """The dbt project for ``target`` (default: :func:`whoop_dagster.environment.dbt_target`).

    Branch and prod deployments package the project into ``whoop_dagster/dbt_project``; local
    runs, tests and CI use ``whoop_dbt`` itself. Cached per target; reads no manifest.
    """
    resolved = target or environment.dbt_target()
    return _dbt_project(resolved, packaged=environment.current_deployment().uses_snowflake)


def require_manifest(project: DbtProject) -> Path:
    """The project's prepared manifest, or an error that says how to prepare it."""
    if not project.manifest_path.exists():
        raise ManifestNotPreparedError(
            f"dbt manifest not found at {project.manifest_path}. Outside `dagster dev` it is prepared "
            f"at build time: run `{PREPARE_COMMAND}` at the repository root (or `make prepare`)."
        )
    return project.manifest_path


#: Folders of a dbt project that hold build output, not sources.
_OUTPUT_FOLDERS = frozenset({"target", "logs", "dbt_packages"})


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than a source file of the dbt project."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    prepared_at = manifest.stat().st_mtime
    return any(path.stat().st_mtime > prepared_at for path in _source_files(Path(project.project_dir)))


def _source_files(project_dir: Path) -> Iterator[Path]:
    """The dbt project's files, without descending into its output folders (thousands of files)."""
    for folder, subfolders, files in os.walk(project_dir):
        if Path(folder) == project_dir:
            subfolders[:] = [name for name in subfolders if name not in _OUTPUT_FOLDERS]
        for name in files:
            if name != ".user.yml":  # dbt's own per-user file, rewritten by every invocation
                yield Path(folder, name)


def dbt_executable() -> str:
    """The ``dbt`` executable: on PATH, else the one installed next to this Python (an unactivated venv)."""
    found = shutil.which("dbt")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def warehouse_kind(target: str) -> str:
    """The warehouse a dbt target writes to, as a Dagster kind (``duckdb`` or ``snowflake``)."""
    return "duckdb" if target == "local" else "snowflake"


#: This deployment's project. `dagster-dbt project prepare-and-package --file` prepares (and, for
#: branch and prod, packages) the DbtProject objects it finds at module level, hence this name;
#: the definitions call :func:`dbt_project` instead.
whoop_dbt_project: DbtProject = dbt_project()

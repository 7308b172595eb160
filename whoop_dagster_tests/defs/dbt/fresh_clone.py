"""A copy of the repository as a fresh clone has it: no prepared manifest, no packaged project.

Python run with :func:`clone_env` imports ``whoop_dagster`` from the copy (``PYTHONPATH`` comes
before the editable install), so the copy's ``whoop_dbt`` is the one its definitions use.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from whoop_dagster import environment

BIN = Path(sys.executable).parent

#: What a clone holds that loading the code location can touch.
_COPIED = ("pyproject.toml", "setup.py", "workspace.yaml", "whoop_dagster", "whoop_dbt")
#: Build output and caches a working tree may hold but a fresh clone does not.
_NOT_IN_A_CLONE = ("__pycache__", "target", "logs", "dbt_packages", ".user.yml", "dbt_project")


def copy_repository(destination: Path) -> Path:
    """Copy the repository's code (not its build output) to ``destination``; return it."""
    destination.mkdir(parents=True)
    for name in _COPIED:
        source = environment.PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns(*_NOT_IN_A_CLONE))
        else:
            shutil.copy2(source, destination / name)
    return destination


def clone_env(clone: Path, **extra: str) -> dict[str, str]:
    """The environment of a user in an activated venv at the clone's root, plus ``extra``.

    The deployment's and Dagster+'s variables of this process are left out, and so is
    ``DAGSTER_IS_DEV_CLI`` (set only by ``dagster dev`` itself).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WHOOP_", "SNOWFLAKE_", "DAGSTER_CLOUD", "DBT_")) and key != "DAGSTER_IS_DEV_CLI"
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(clone)
    return {**env, **extra}

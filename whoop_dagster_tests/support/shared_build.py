"""Expensive test data built once per test session and shared by every pytest-xdist worker.

A warehouse that a real ``dbt build`` made takes seconds to minutes; session fixtures that
only read it build it once here, whichever worker asks first, and the others wait for it. A
test that writes takes its own copy (:func:`copy_warehouse`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

#: The name a warehouse file must keep: DuckDB names the catalog after the file, and the
#: prepared dbt manifest records the catalog ``whoop``.
WAREHOUSE_FILE = "whoop.duckdb"


def shared_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder all xdist workers of this session share (the session's own folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.getenv("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name`` after ``build(folder)`` ran in it, once per session across all workers.

    Read what it holds, never write it. A build that failed is tried again by the next caller.
    """
    shared = shared_directory(tmp_path_factory)
    root = shared / name
    with FileLock(str(shared / f".{name}.lock")):
        done = root / ".built"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left
            root.mkdir()
            build(root)
            done.touch()
    return root


def copy_warehouse(source: Path, folder: Path) -> Path:
    """A copy of the DuckDB file ``source`` in ``folder`` (created), under the same file name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WAREHOUSE_FILE
    shutil.copyfile(source, path)
    return path

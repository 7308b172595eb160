"""Prepare the dbt manifest at build time: ``python -m whoop_dagster.defs.dbt.prepare``.

Runs ``dbt parse`` for the deployment's dbt target (``WHOOP_DBT_TARGET`` or
``WHOOP_DEPLOYMENT``, see :func:`whoop_dagster.environment.dbt_target`) and writes
``whoop_dbt/target/manifest.json`` plus ``partial_parse.msgpack``, which later dbt runs reuse.
The Snowflake targets render their connection settings from env vars with harmless defaults,
so parsing needs no credentials and no network.

Run it in ``make``, in CI and in the deploy workflow — the one step the definitions rely on:
loading them only reads the manifest and never parses dbt.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from whoop_dagster.defs.dbt.project import (
    DBT_PROJECT_DIR,
    PACKAGED_DBT_PROJECT_DIR,
    SOURCE_DBT_PROJECT_DIR,
    dbt_executable,
    dbt_project,
)

#: Folders of the dbt project that hold build output, not sources.
_OUTPUT_FOLDERS = frozenset({"target", "logs", "dbt_packages"})

logger = logging.getLogger(__name__)


def prepare(target: str | None = None) -> str:
    """Parse the dbt project for ``target`` and return the manifest's path."""
    from dagster_dbt import DbtCliResource

    project = dbt_project(target)
    (
        DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        .cli(["parse", "--quiet"], target_path=project.target_path)
        .wait()
    )
    return str(project.manifest_path)


def manifest_is_stale(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """True when the manifest is missing or older than any source file of the dbt project."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists():
        return True
    prepared_at = manifest.stat().st_mtime
    for path in project_dir.rglob("*"):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in _OUTPUT_FOLDERS or not path.is_file():
            continue
        if path.stat().st_mtime > prepared_at:
            return True
    return False


def prepare_if_stale(target: str | None = None) -> str:
    """:func:`prepare` unless the manifest is newer than every dbt source file (one process at a time)."""
    from filelock import FileLock

    (DBT_PROJECT_DIR / "target").mkdir(exist_ok=True)
    with FileLock(str(DBT_PROJECT_DIR / "target" / ".prepare.lock"), timeout=600):
        if manifest_is_stale():
            return prepare(target)
    return str(dbt_project(target).manifest_path)


def package(source: Path = SOURCE_DBT_PROJECT_DIR, destination: Path = PACKAGED_DBT_PROJECT_DIR) -> Path:
    """Copy the dbt project with its prepared manifest into the Python package (for deployed builds).

    Build output other than the manifest and the partial-parse file stays behind.
    """
    import shutil

    if not (source / "target" / "manifest.json").exists():
        raise FileNotFoundError(f"no manifest in {source / 'target'}: prepare before packaging")
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*_OUTPUT_FOLDERS, ".user.yml"))
    (destination / "target").mkdir()
    for name in ("manifest.json", "partial_parse.msgpack"):
        if (source / "target" / name).exists():
            shutil.copy2(source / "target" / name, destination / "target" / name)
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prepare the whoop_dbt manifest (dbt parse).")
    parser.add_argument("--target", help="dbt target (default: from WHOOP_DBT_TARGET / WHOOP_DEPLOYMENT)")
    parser.add_argument(
        "--if-stale", action="store_true", help="only when a dbt source file is newer than the manifest"
    )
    parser.add_argument(
        "--package",
        action="store_true",
        help=f"also copy the project and its manifest into the Python package ({PACKAGED_DBT_PROJECT_DIR.name}/)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = prepare_if_stale(args.target) if args.if_stale else prepare(args.target)
    logger.info("dbt manifest prepared: %s", manifest)
    if args.package:
        logger.info("dbt project packaged: %s", package())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check 6: the dbt manifest the definitions load is there and matches the project's files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from whoop_dagster.defs.dbt.project import PREPARE_COMMAND, dbt_project, manifest_is_stale
from whoop_dagster.doctor.report import CheckResult, failed, passed

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

CHECK = "dbt manifest"
PREPARE = f"run `make prepare` ({PREPARE_COMMAND})"


def project_models(project_dir: Path) -> set[str]:
    """Names of the models the project's files define (one ``.sql`` file per model under ``models/``)."""
    return {path.stem for path in (project_dir / "models").rglob("*.sql")}


def manifest_models(manifest: dict) -> set[str]:
    """Names of the models of this project in a manifest."""
    project = manifest.get("metadata", {}).get("project_name")
    return {
        node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("package_name") == project
    }


def check_manifest(project: DbtProject | None = None) -> CheckResult:
    """Present, parseable, newer than every dbt file, and holding exactly the project's models."""
    project = project or dbt_project()
    manifest_path, project_dir = Path(project.manifest_path), Path(project.project_dir)
    if not manifest_path.is_file():
        return failed(CHECK, "manifest_missing", f"no manifest at {manifest_path}", PREPARE)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return failed(CHECK, "manifest_unreadable", f"{manifest_path}: {type(err).__name__}: {err}", PREPARE)
    on_disk, in_manifest = project_models(project_dir), manifest_models(manifest)
    if on_disk != in_manifest:
        differences = []
        if on_disk - in_manifest:
            differences.append(f"not in the manifest: {', '.join(sorted(on_disk - in_manifest))}")
        if in_manifest - on_disk:
            differences.append(f"no longer in the project: {', '.join(sorted(in_manifest - on_disk))}")
        return failed(CHECK, "manifest_mismatch", f"{manifest_path}: {'; '.join(differences)}", PREPARE)
    if manifest_is_stale(project):
        return failed(CHECK, "manifest_stale", f"{manifest_path} is older than a file of {project_dir.name}/", PREPARE)
    version = manifest.get("metadata", {}).get("dbt_version", "?")
    return passed(CHECK, f"{manifest_path}: {len(in_manifest)} models, dbt {version}, up to date with the project")

"""The dbt project's asset specs and check specs, read from the manifest without dagster-dbt.

``import dagster_dbt`` imports dbt-core and costs over a second — more than everything else the
code location loads — although nothing dbt-specific is needed before dbt runs. So loading builds
the specs here, from the manifest JSON, exactly as dagster-dbt's ``@dbt_assets`` with
:class:`~whoop_dagster.defs.dbt.translator.WhoopDbtTranslator` would: same keys, deps,
descriptions, metadata, code versions, tags and checks (blocking = error severity), with the
project's rules from :mod:`whoop_dagster.defs.dbt.layers`. dagster-dbt is imported only in the
step that runs dbt (:mod:`whoop_dagster.defs.dbt.execution`).

``whoop_dagster_tests/dbt/test_specs.py`` compares every field with what dagster-dbt builds from
the same manifest, so an upgrade of dagster-dbt that changes its output fails a test, not a run.
Only dagster-dbt's in-process metadata (the manifest, translator and project objects, which the
UI never sees) is not reproduced.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg

from whoop_dagster.defs.dbt.layers import ASSET_RESOURCE_TYPES, apply_layer_rules, layer_asset_key

#: dagster-dbt's metadata keys: the node's unique id, the dbt project id, the materialization.
UNIQUE_ID_METADATA_KEY = "dagster_dbt/unique_id"
PROJECT_ID_METADATA_KEY = "dagster_dbt/project_id"
MATERIALIZATION_METADATA_KEY = "dagster-dbt/materialization_type"
#: Metadata under this prefix is dbt bookkeeping; dagster-dbt keeps it off the deps on sources.
_DBT_METADATA_NAMESPACE = "dagster_dbt/"


@dataclass(frozen=True)
class DbtManifest:
    """A dbt ``manifest.json``, with the lookups the specs need."""

    raw: Mapping[str, Any]

    @classmethod
    def read(cls, path: Path) -> DbtManifest:
        """Load a prepared manifest (``python -m whoop_dagster.defs.dbt.prepare`` writes it)."""
        return cls(json.loads(path.read_text()))

    def node(self, unique_id: str) -> Mapping[str, Any]:
        """A node or source by unique id."""
        for section in ("nodes", "sources"):
            found = self.raw.get(section, {}).get(unique_id)
            if found is not None:
                return found
        raise KeyError(f"{unique_id} is not in the dbt manifest")

    @property
    def adapter_type(self) -> str | None:
        return self.raw.get("metadata", {}).get("adapter_type")

    @property
    def project_id(self) -> str | None:
        return self.raw.get("metadata", {}).get("project_id")

    @property
    def project_name(self) -> str | None:
        return self.raw.get("metadata", {}).get("project_name")

    def asset_node_ids(self) -> list[str]:
        """Unique ids of the models, seeds and snapshots that become assets (not ephemeral models)."""
        return [unique_id for unique_id, props in self.raw["nodes"].items() if _is_asset_node(props)]

    @cached_property
    def child_map(self) -> Mapping[str, Sequence[str]]:
        return self.raw.get("child_map") or {}

    def upstream_ids(self, props: Mapping[str, Any]) -> set[str]:
        """Parents that are assets or sources; through ephemeral models and metrics to theirs."""
        upstream: set[str] = set()
        queue = list(props.get("depends_on", {}).get("nodes", []))
        seen: set[str] = set()
        while queue:
            parent_id = queue.pop()
            if parent_id in seen:
                continue
            seen.add(parent_id)
            parent = self.node(parent_id)
            if _is_non_asset(parent):
                queue.extend(parent.get("depends_on", {}).get("nodes", []))
            elif parent["resource_type"] in (*ASSET_RESOURCE_TYPES, "source"):
                upstream.add(parent_id)
        return upstream

    def attached_node_id(self, test: Mapping[str, Any]) -> str | None:
        """The node a test checks: its attached node, its only parent, or its ``meta.dagster.ref``."""
        attached = test.get("attached_node")
        parents = test["depends_on"]["nodes"]
        if len(parents) == 1:
            attached = parents[0]
        ref = ((test.get("config", {}).get("meta") or test.get("meta") or {}).get("dagster") or {}).get("ref")
        if ref:
            wanted = (ref["name"], ref.get("package") or self.project_name, ref.get("version"))
            attached = next(
                (
                    unique_id
                    for unique_id, props in self.raw["nodes"].items()
                    if (props["name"], props["package_name"], props.get("version")) == wanted
                ),
                None,
            )
        return attached or None


def _is_non_asset(props: Mapping[str, Any]) -> bool:
    resource_type = props["resource_type"]
    return resource_type in ("metric", "semantic_model", "saved_query", "function") or (
        resource_type == "model" and props.get("config", {}).get("materialized") == "ephemeral"
    )


def _is_asset_node(props: Mapping[str, Any]) -> bool:
    return props["resource_type"] in ASSET_RESOURCE_TYPES and not _is_non_asset(props)


def asset_key_of(props: Mapping[str, Any]) -> dg.AssetKey:
    """The asset key of a node: ``[layer, name]``; a source keeps dagster-dbt's ``[source_name, table]``."""
    if props["resource_type"] != "source":
        return layer_asset_key(props)
    meta = props.get("config", {}).get("meta") or props.get("meta") or {}
    configured = (meta.get("dagster") or {}).get("asset_key")
    return dg.AssetKey(configured or [props["source_name"], props["name"]])


def _description(props: Mapping[str, Any]) -> str:
    code = textwrap.indent(props.get("raw_sql") or props.get("raw_code", ""), "    ")
    summary = props.get("description") or f"dbt {props['resource_type']} {props['name']}"
    return "\n\n".join(filter(None, [summary, f"#### Raw SQL:\n```sql\n{code}\n```"]))


def _code_version(props: Mapping[str, Any]) -> str | None:
    code = props.get("raw_sql") or props.get("raw_code")
    if code:
        # dagster-dbt's code version: a fingerprint of the SQL, not a security measure.
        return hashlib.sha1(code.encode("utf-8")).hexdigest()  # noqa: S324
    return props.get("checksum", {}).get("checksum")


def _table_metadata(props: Mapping[str, Any], adapter_type: str | None) -> dict[str, Any]:
    """Materialization, column schema, table name and storage kind, as dagster-dbt records them."""
    columns = props.get("columns", {})
    schema = (
        dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=name,
                    type=column.get("data_type") or "?",
                    description=column.get("description"),
                    tags=dict.fromkeys(column.get("tags", []), ""),
                )
                for name, column in columns.items()
            ]
        )
        if columns
        else None
    )
    is_source = props.get("resource_type") == "source"
    parts = [props.get("database"), props.get("schema"), props.get("alias"), props.get("name") if is_source else None]
    table_name = ".".join(part for part in parts if part) or None
    materialized = props.get("config", {}).get("materialized")
    # The keys of Dagster's TableMetadataSet (not exported by `dagster`); unset values are left out.
    metadata = {
        MATERIALIZATION_METADATA_KEY: materialized,
        "dagster/column_schema": schema,
        "dagster/table_name": table_name,
        "dagster/storage_kind": adapter_type,
    }
    return {key: value for key, value in metadata.items() if value is not None}


def _tags(props: Mapping[str, Any]) -> dict[str, str]:
    """dbt tags as Dagster tag keys with empty values (invalid keys dropped, as dagster-dbt does)."""
    # dagster-dbt's own check (dagster._utils.tags is not public API, but it is what it calls).
    from dagster._utils.tags import is_valid_tag_key

    return {tag: "" for tag in props.get("tags", []) if is_valid_tag_key(tag)}


@dataclass(frozen=True)
class DbtSpecBuilder:
    """Builds the specs of one manifest for one warehouse kind (``duckdb`` or ``snowflake``)."""

    manifest: DbtManifest
    warehouse_kind: str
    partitioned_sources: Sequence[dg.AssetKey] = ()

    def asset_specs(self) -> list[dg.AssetSpec]:
        """One spec per model, seed and snapshot."""
        return [self.asset_spec(unique_id) for unique_id in self.manifest.asset_node_ids()]

    def asset_spec(self, unique_id: str) -> dg.AssetSpec:
        props = self.manifest.node(unique_id)
        metadata = {
            **_table_metadata(props, self.manifest.adapter_type),
            UNIQUE_ID_METADATA_KEY: unique_id,
        }
        if self.manifest.project_id:
            metadata[PROJECT_ID_METADATA_KEY] = dg.MetadataValue.text(self.manifest.project_id)
        spec = dg.AssetSpec(
            key=asset_key_of(props),
            # Sorted (dagster-dbt iterates a set): the same definition in every process.
            deps=[self._dep(parent_id) for parent_id in sorted(self.manifest.upstream_ids(props))],
            description=_description(props),
            metadata=metadata,
            skippable=True,
            code_version=_code_version(props),
            tags=_tags(props),
        )
        return apply_layer_rules(spec, props, self.warehouse_kind, self.partitioned_sources)

    def _dep(self, parent_id: str) -> dg.AssetDep:
        parent = self.manifest.node(parent_id)
        if parent["resource_type"] != "source":
            return dg.AssetDep(asset_key_of(parent))
        # dagster-dbt describes the table of a source on the dep (its enable_source_metadata).
        metadata = {
            key: value
            for key, value in _table_metadata(parent, self.manifest.adapter_type).items()
            if not key.startswith(_DBT_METADATA_NAMESPACE)
        }
        return dg.AssetDep(asset_key_of(parent), metadata=metadata)

    def check_specs(self) -> list[dg.AssetCheckSpec]:
        """One check per dbt test on a model, seed or snapshot; blocking when its severity is error."""
        found: dict[dg.AssetCheckKey, dg.AssetCheckSpec] = {}
        for unique_id in self.manifest.asset_node_ids():
            asset_key = asset_key_of(self.manifest.node(unique_id))
            for spec in self._checks_of(unique_id, asset_key):
                found.setdefault(spec.key, spec)
        return list(found.values())

    def _checks_of(self, unique_id: str, asset_key: dg.AssetKey) -> Iterator[dg.AssetCheckSpec]:
        for test_id in self.manifest.child_map.get(unique_id, []):
            if not test_id.startswith("test."):
                continue
            test = self.manifest.node(test_id)
            attached = self.manifest.attached_node_id(test)
            if attached is None or asset_key_of(self.manifest.node(attached)) != asset_key:
                continue
            parents = self.manifest.raw.get("parent_map", {}).get(test_id, [])
            additional = {asset_key_of(self.manifest.node(parent)) for parent in parents} - {asset_key}
            severity = (test.get("config", {}).get("severity") or "error").lower()
            yield dg.AssetCheckSpec(
                name=test["name"],
                asset=asset_key,
                description=test.get("meta", {}).get("description"),
                additional_deps=sorted(additional, key=lambda key: key.path),
                metadata={UNIQUE_ID_METADATA_KEY: test_id},
                blocking=severity == "error",
            )

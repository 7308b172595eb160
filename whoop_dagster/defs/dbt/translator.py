"""The dagster-dbt translator with the project's rules, used where dbt runs.

The rules themselves live in :mod:`whoop_dagster.defs.dbt.layers`; loading the code location
builds the dbt assets from them without dagster-dbt (:mod:`whoop_dagster.defs.dbt.specs`).
This translator applies the same functions for what dagster-dbt does at run time (the keys of
dbt events, check keys, selection), and ``whoop_dagster_tests/dbt/test_specs.py`` proves the
two give identical assets and checks. dbt tests become asset checks; error-severity tests are
**blocking** (dagster-dbt's default).

Imports ``dagster_dbt`` at module level: import this module only inside functions that run dbt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from whoop_dagster.defs.dbt.layers import (
    ASSET_RESOURCE_TYPES,
    LAYER_POLICIES,
    LAYERS,
    UnknownLayerError,
    apply_layer_rules,
    layer_asset_key,
    layer_of,
)

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

__all__ = ["LAYERS", "LAYER_POLICIES", "UnknownLayerError", "WhoopDbtTranslator", "layer_of"]


class WhoopDbtTranslator(DagsterDbtTranslator):
    """The rules of :mod:`~whoop_dagster.defs.dbt.layers`.

    ``warehouse_kind`` is ``duckdb`` or ``snowflake`` (from the dbt target).
    """

    def __init__(
        self,
        warehouse_kind: str,
        partitioned_sources: Sequence[dg.AssetKey] = (),
        settings: DagsterDbtTranslatorSettings | None = None,
    ) -> None:
        super().__init__(settings or DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.warehouse_kind = warehouse_kind
        self.partitioned_sources = tuple(partitioned_sources)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return layer_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_group_name(dbt_resource_props)
        return layer_of(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] not in ASSET_RESOURCE_TYPES:
            return spec
        return apply_layer_rules(spec, props, self.warehouse_kind, self.partitioned_sources)

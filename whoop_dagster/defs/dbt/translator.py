"""The one place of the dbt layer rules: key, group, owners, kinds, freshness and automation of each node.

A node's layer is its folder under ``models/`` (seeds: ``staging``, snapshots: ``intermediate``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from whoop_dagster.defs.dbt.automation import dbt_model_condition, dbt_root_condition

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

LAYERS: tuple[str, ...] = ("staging", "intermediate", "marts", "metrics")

#: Layer of the resource types that do not live under models/.
_LAYER_OF_RESOURCE_TYPE = {"seed": "staging", "snapshot": "intermediate"}


@dataclass(frozen=True)
class LayerPolicy:
    """What every asset of a layer shares."""

    owners: tuple[str, ...]
    warn_after: timedelta
    fail_after: timedelta

    @property
    def freshness_policy(self) -> dg.FreshnessPolicy:
        return dg.FreshnessPolicy.time_window(fail_window=self.fail_after, warn_window=self.warn_after)


#: New raw data lands at least daily (a new cycle, sleep and recovery every day), and each
#: landing rebuilds its dependents, so a model older than a day means the pipeline is stuck.
#: Each layer allows an hour more than the one below it for the runs in between.
LAYER_POLICIES: Mapping[str, LayerPolicy] = {
    "staging": LayerPolicy(("team:analytics-engineering",), timedelta(hours=13), timedelta(hours=26)),
    "intermediate": LayerPolicy(("team:analytics-engineering",), timedelta(hours=14), timedelta(hours=27)),
    "marts": LayerPolicy(("team:analytics-engineering",), timedelta(hours=15), timedelta(hours=28)),
    "metrics": LayerPolicy(
        ("team:analytics-engineering", "team:data-science"), timedelta(hours=16), timedelta(hours=29)
    ),
}


class UnknownLayerError(ValueError):
    """A dbt node lives outside the known layer folders."""


def layer_of(props: Mapping[str, Any]) -> str:
    """The layer of a dbt model, seed or snapshot (raises for anything else)."""
    resource_type = props["resource_type"]
    if resource_type in _LAYER_OF_RESOURCE_TYPE:
        return _LAYER_OF_RESOURCE_TYPE[resource_type]
    fqn: Sequence[str] = props.get("fqn", ())
    folder = fqn[1] if len(fqn) > 2 else None  # fqn = [project, folder, ..., name]
    if resource_type == "model" and folder in LAYERS:
        return folder
    raise UnknownLayerError(
        f"dbt {resource_type} {props.get('unique_id')} is not under models/{{{','.join(LAYERS)}}}/: "
        "put it in a layer folder so it gets a key, a group, owners and a freshness policy"
    )


class WhoopDbtTranslator(DagsterDbtTranslator):
    """The layer rules, for one warehouse.

    ``warehouse_kind`` is ``duckdb`` or ``snowflake`` (from the dbt target);
    ``partitioned_sources`` are the daily-partitioned raw assets, whose missing days must not
    hold the models back (see :mod:`whoop_dagster.defs.dbt.automation`).
    """

    def __init__(self, warehouse_kind: str, partitioned_sources: Sequence[dg.AssetKey] = ()) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.warehouse_kind = warehouse_kind
        self.model_condition = dbt_model_condition(partitioned_sources)
        self.root_condition = dbt_root_condition()
        # dagster-dbt asks for a node's spec once per node that depends on it or tests it; it
        # memoizes its own part, and this memoizes the layer rules on top, per manifest.
        self._layered_specs: dict[tuple[int, str, int], dg.AssetSpec] = {}

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Also what dagster-dbt names the assets of dbt events by, hence here and not only in get_asset_spec.
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_group_name(dbt_resource_props)
        return layer_of(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        memo_id = (id(manifest), unique_id, id(project))
        if memo_id not in self._layered_specs:
            self._layered_specs[memo_id] = self._layered_spec(manifest, unique_id, project)
        return self._layered_specs[memo_id]

    def _layered_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        layer = layer_of(props)
        policy = LAYER_POLICIES[layer]
        return spec.replace_attributes(
            owners=list(policy.owners),
            kinds={"dbt", self.warehouse_kind},
            freshness_policy=policy.freshness_policy,
            automation_condition=self.model_condition if spec.deps else self.root_condition,
        ).merge_attributes(tags={"whoop/layer": layer})

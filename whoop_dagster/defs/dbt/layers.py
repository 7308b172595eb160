"""The project's rules for dbt assets, in plain Dagster: layer, key, group, owners, kinds, freshness, automation.

- **Layer** of a node: its folder under ``models/`` (``staging``, ``intermediate``, ``marts``,
  ``metrics``); seeds belong to ``staging`` and snapshots to ``intermediate``.
- **Key** ``[layer, name]`` (``staging/stg_cycle``, ``marts/fact_sleep``); sources keep
  dagster-dbt's default ``[source_name, table]``, i.e. ``raw/cycle`` — the raw assets' keys.
- **Group** = layer, **owners** per layer, **kinds** ``{dbt, duckdb|snowflake}`` from the target.
- **Freshness**: a time window per layer (raw data arrives daily; each layer allows a little more).
- **Automation**: :func:`~whoop_dagster.defs.dbt.automation.dbt_model_condition` for nodes with
  parents, :func:`~whoop_dagster.defs.dbt.automation.dbt_root_condition` for those without
  (``dim_date``, seeds), which nothing upstream would ever trigger.

Why a module of its own: the code location builds its dbt assets from the manifest with these
rules (:mod:`whoop_dagster.defs.dbt.specs`) without importing ``dagster_dbt`` (and with it
dbt-core, over a second of load time); the dagster-dbt translator used when dbt runs
(:mod:`whoop_dagster.defs.dbt.translator`) applies the very same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dagster as dg

from whoop_dagster.defs.dbt.automation import dbt_model_condition, dbt_root_condition

LAYERS: tuple[str, ...] = ("staging", "intermediate", "marts", "metrics")

#: The resource types that become assets (dagster-dbt's ASSET_RESOURCE_TYPES).
ASSET_RESOURCE_TYPES: tuple[str, ...] = ("model", "seed", "snapshot")

KIND_TAG_PREFIX = "dagster/kind/"

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


def layer_asset_key(props: Mapping[str, Any]) -> dg.AssetKey:
    """``[layer, name]`` for a model, seed or snapshot."""
    return dg.AssetKey([layer_of(props), props["name"]])


def apply_layer_rules(
    spec: dg.AssetSpec,
    props: Mapping[str, Any],
    warehouse_kind: str,
    partitioned_sources: Sequence[dg.AssetKey],
) -> dg.AssetSpec:
    """``spec`` of a model, seed or snapshot with its layer's group, owners, kinds, freshness, automation and tag."""
    layer = layer_of(props)
    policy = LAYER_POLICIES[layer]
    condition = dbt_model_condition(partitioned_sources) if spec.deps else dbt_root_condition()
    return spec.replace_attributes(
        group_name=layer,
        owners=list(policy.owners),
        kinds={"dbt", warehouse_kind},
        freshness_policy=policy.freshness_policy,
        automation_condition=condition,
        # Kinds live in the tags as `dagster/kind/<kind>`: drop the manifest's, keep the rest.
        tags={**{k: v for k, v in spec.tags.items() if not k.startswith(KIND_TAG_PREFIX)}, "whoop/layer": layer},
    )

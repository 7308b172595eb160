"""Which dbt nodes a step runs: the ``--select`` for the assets and checks Dagster selected.

The same rules as dagster-dbt's ``@dbt_assets`` (``get_subset_selection_for_context``), on the
specs of :mod:`whoop_dagster.defs.dbt.specs`: everything selected → the op's default selection
(readable, and dbt's eager indirect selection also runs singular tests); a subset → the
selected models by fully qualified name, with dbt running their tests through indirect
selection, plus any selected test whose model is not selected; and when a check of a selected
model is *not* selected, every test explicitly with indirect selection turned off.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import dagster as dg

from whoop_dagster.defs.dbt.specs import UNIQUE_ID_METADATA_KEY, DbtManifest

#: The op tag that holds the dbt selection of the whole asset (dagster-dbt's tag name).
DBT_SELECT_TAG = "dagster_dbt/select"
DEFAULT_SELECT = "fqn:*"


def _fqn(manifest: DbtManifest, metadata: Mapping[str, Any] | None) -> str:
    return ".".join(manifest.node((metadata or {})[UNIQUE_ID_METADATA_KEY])["fqn"])


def dbt_selection_args(
    assets_def: dg.AssetsDefinition,
    selected_assets: AbstractSet[dg.AssetKey],
    selected_checks: AbstractSet[dg.AssetCheckKey],
    manifest: DbtManifest,
    default_select: str = DEFAULT_SELECT,
) -> list[str]:
    """dbt CLI selection arguments that run exactly what Dagster selected of ``assets_def`` (the whole definition)."""
    all_assets = set(assets_def.keys)
    all_checks = set(assets_def.check_keys)
    if selected_assets == all_assets and selected_checks == all_checks:
        return ["--select", default_select]

    models = [_fqn(manifest, assets_def.specs_by_key[key].metadata) for key in sorted(selected_assets, key=str)]
    check_specs = {spec.key: spec for spec in assets_def.check_specs}

    def tests(keys: AbstractSet[dg.AssetCheckKey]) -> list[str]:
        return [_fqn(manifest, check_specs[key].metadata) for key in sorted(keys, key=str)]

    excluded_on_selected = {key for key in all_checks - selected_checks if key.asset_key in selected_assets}
    on_unselected = {key for key in selected_checks if key.asset_key not in selected_assets}
    if excluded_on_selected:
        return ["--select", " ".join([*models, *tests(selected_checks)]), "--indirect-selection", "empty"]
    return ["--select", " ".join([*models, *tests(on_unselected)])]

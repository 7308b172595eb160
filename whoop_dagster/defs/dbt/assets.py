"""The dbt models as Dagster assets, and the ``dbt`` resource.

Factories, cached: importing this module does nothing but import; building the assets reads
the prepared manifest (never parses dbt) and imports neither dagster-dbt nor dbt
(:mod:`whoop_dagster.defs.dbt.specs` builds the specs dagster-dbt would). Every dbt test
becomes an asset check, and error-severity tests are *blocking*: ``dbt build`` skips
everything downstream of a failed one inside the run, the step then fails, so downstream
Dagster assets (ML) do not run either, and later automation waits until the check passes again.
"""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the `DbtBuildConfig` run config) at definition time.
from collections.abc import Iterator
from functools import cache
from typing import Any

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.dbt.project import MANIFEST_PATH, dbt_executable, require_manifest, warehouse_kind
from whoop_dagster.defs.dbt.resource import WhoopDbtResource
from whoop_dagster.defs.dbt.selection import DBT_SELECT_TAG, DEFAULT_SELECT
from whoop_dagster.defs.dbt.specs import DbtManifest, DbtSpecBuilder

#: Every step that writes the warehouse runs in this pool (limit 1 locally: DuckDB has one
#: writer per file). The raw assets use the same name (whoop_dagster/defs/raw/assets.py).
WAREHOUSE_POOL = "warehouse_writer"

DBT_ASSETS_NAME = "whoop_dbt_models"


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt step."""

    full_refresh: bool = False
    #: Column-level lineage on each model's materialization. Off by default: dagster-dbt parses
    #: every model's SQL with sqlglot for it, which took 16 s of a 44 s dbt step here (row counts
    #: and column types, always recorded, take about 11 s). Turn it on for a run in the launchpad.
    column_lineage: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The dbt command of a run: ``build`` (models, seeds, snapshots *and* tests), optionally full refresh."""
    return ["build", "--full-refresh"] if config.full_refresh else ["build"]


def partitioned_raw_keys() -> list[dg.AssetKey]:
    """Keys of the daily-partitioned raw assets, from the endpoint registry."""
    from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS

    return [dg.AssetKey(["raw", endpoint.name]) for endpoint in COLLECTION_ENDPOINTS]


@cache
def build_dbt_assets(target: str | None = None) -> dg.AssetsDefinition:
    """Every dbt model, seed and snapshot of ``whoop_dbt`` as one multi-asset (subsettable), tests as checks."""
    builder = DbtSpecBuilder(
        DbtManifest.read(require_manifest(MANIFEST_PATH)),
        warehouse_kind=warehouse_kind(target or environment.dbt_target()),
        partitioned_sources=partitioned_raw_keys(),
    )

    @dg.multi_asset(
        name=DBT_ASSETS_NAME,
        specs=builder.asset_specs(),
        check_specs=builder.check_specs(),
        can_subset=True,
        required_resource_keys={"dbt"},
        op_tags={DBT_SELECT_TAG: DEFAULT_SELECT},
        pool=WAREHOUSE_POOL,
    )
    def whoop_dbt_models(context: dg.AssetExecutionContext, config: DbtBuildConfig) -> Iterator[Any]:
        from whoop_dagster.defs.dbt.execution import run_dbt  # dagster-dbt and dbt, only in the step

        yield from run_dbt(context, context.resources.dbt, dbt_build_args(config), column_lineage=config.column_lineage)

    return whoop_dbt_models


def build_dbt_resource(target: str | None = None) -> WhoopDbtResource:
    """The ``dbt`` resource for a dbt target (default: the deployment's)."""
    return WhoopDbtResource(target=target or environment.dbt_target(), dbt_executable=dbt_executable())

"""The dbt models as Dagster assets, and the dbt CLI resource.

Factories, cached: importing this module does nothing but import; building the assets reads
the prepared manifest (never parses dbt). Every dbt test becomes an asset check, and
error-severity tests are *blocking*: ``dbt build`` skips everything downstream of a failed
one inside the run, the step then fails, so downstream Dagster assets (ML) do not run either,
and later automation waits until the check passes again.

Imports ``dagster_dbt`` at module level: :mod:`whoop_dagster.defs.dbt` imports this module
only inside its build function.
"""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the `DbtBuildConfig` run config, the `DbtCliResource` resource) at definition time.
from collections.abc import Iterator
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from whoop_dagster.defs.dbt.project import dbt_executable, dbt_project, require_manifest, warehouse_kind
from whoop_dagster.defs.dbt.translator import WhoopDbtTranslator

#: Every step that writes the warehouse runs in this pool (limit 1 locally: DuckDB has one
#: writer per file). The raw assets use the same name (whoop_dagster/defs/raw/assets.py).
WAREHOUSE_POOL = "warehouse_writer"

DBT_ASSETS_NAME = "whoop_dbt_models"


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt step."""

    full_refresh: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The dbt command of a run: ``build`` (models, seeds, snapshots *and* tests), optionally full refresh."""
    return ["build", "--full-refresh"] if config.full_refresh else ["build"]


def partitioned_raw_keys() -> list[dg.AssetKey]:
    """Keys of the daily-partitioned raw assets, from the endpoint registry."""
    from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS

    return [dg.AssetKey(["raw", endpoint.name]) for endpoint in COLLECTION_ENDPOINTS]


@cache
def build_dbt_translator(target: str | None = None) -> WhoopDbtTranslator:
    """The project's translator for a dbt target (default: the deployment's)."""
    project = dbt_project(target)
    return WhoopDbtTranslator(
        warehouse_kind=warehouse_kind(project.target or "local"), partitioned_sources=partitioned_raw_keys()
    )


@cache
def build_dbt_assets(target: str | None = None) -> dg.AssetsDefinition:
    """Every dbt model, seed and snapshot of ``whoop_dbt`` as one multi-asset (subsettable)."""
    project = dbt_project(target)

    @dbt_assets(
        manifest=require_manifest(project),
        project=project,
        dagster_dbt_translator=build_dbt_translator(target),
        name=DBT_ASSETS_NAME,
        pool=WAREHOUSE_POOL,
    )
    def whoop_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        try:
            yield from (
                dbt.cli(dbt_build_args(config), context=context).stream().fetch_row_counts().fetch_column_metadata()
            )
        finally:
            release_in_process_duckdb()

    return whoop_dbt_models


def release_in_process_duckdb() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open in this process after the dbt step.

    ``fetch_row_counts``/``fetch_column_metadata`` query through the dbt adapter inside the
    Dagster process, and dbt-duckdb caches that database handle at class level. With the
    in-process executor (``make run``) the next step's own DuckDB connection, opened with a
    different configuration, would then fail ("Can't open a connection to same database file
    with a different configuration"). A no-op for Snowflake targets.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing to release
        return
    # Close the environment's database first: cursors that dagster-dbt's adapter still holds
    # keep it alive otherwise, and `close_all_connections` only drops the class reference.
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def build_dbt_resource(target: str | None = None) -> DbtCliResource:
    """The dbt CLI resource for a dbt target (default: the deployment's)."""
    return DbtCliResource(project_dir=dbt_project(target), dbt_executable=dbt_executable())

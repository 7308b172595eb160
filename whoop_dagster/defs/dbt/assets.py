"""The dbt models as one ``@dbt_assets`` multi-asset (dbt tests as checks), and the ``dbt`` resource.

Factories cached per dbt target: importing builds nothing; building reads the prepared manifest.
"""

# No `from __future__ import annotations` here: Dagster reads the asset function's annotations
# (the `DbtCliResource` and the `DbtBuildConfig` run config) at definition time.
from collections.abc import Iterator
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from whoop_dagster import environment
from whoop_dagster.defs.dbt.cli_resource import FILE_LOG_FLAGS, WhoopDbtCliResource
from whoop_dagster.defs.dbt.execution import stream_dbt
from whoop_dagster.defs.dbt.project import dbt_executable, dbt_project, require_manifest, warehouse_kind
from whoop_dagster.defs.dbt.translator import WhoopDbtTranslator
from whoop_dagster.defs.pools import WAREHOUSE_POOL

DBT_ASSETS_NAME = "whoop_dbt_models"

#: Every model, seed and snapshot of the project (and, through them, their tests).
DBT_SELECT = "fqn:*"


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt step."""

    full_refresh: bool = False
    #: Column-level lineage on each model's materialization. Off by default: dagster-dbt parses
    #: every model's SQL with sqlglot for it, which takes longer than the models' row counts and
    #: column types (always recorded) together. Turn it on for a run in the launchpad.
    column_lineage: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The dbt command of a run: ``build`` (models, seeds, snapshots *and* tests), optionally full refresh."""
    return ["build", "--full-refresh"] if config.full_refresh else ["build"]


def partitioned_raw_keys() -> list[dg.AssetKey]:
    """Keys of the daily-partitioned raw assets, from the endpoint registry."""
    from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS

    return [dg.AssetKey(["raw", endpoint.name]) for endpoint in COLLECTION_ENDPOINTS]


def build_dbt_translator(target: str) -> WhoopDbtTranslator:
    """The project's translator for a dbt target (its kind: ``duckdb`` or ``snowflake``)."""
    return WhoopDbtTranslator(warehouse_kind=warehouse_kind(target), partitioned_sources=partitioned_raw_keys())


def build_dbt_assets(target: str | None = None) -> dg.AssetsDefinition:
    """Every dbt model, seed and snapshot of ``whoop_dbt`` as one subsettable multi-asset, tests as checks.

    ``target`` defaults to :func:`whoop_dagster.environment.dbt_target`. Under ``dagster dev`` the
    manifest is prepared first; elsewhere a missing one raises
    :class:`~whoop_dagster.defs.dbt.project.ManifestNotPreparedError` with the command that prepares it.
    """
    return _build_dbt_assets(target or environment.dbt_target())


@cache
def _build_dbt_assets(target: str) -> dg.AssetsDefinition:
    project = dbt_project(target)
    project.prepare_if_dev()

    @dbt_assets(
        manifest=require_manifest(project),
        project=project,
        dagster_dbt_translator=build_dbt_translator(target),
        select=DBT_SELECT,
        name=DBT_ASSETS_NAME,
        pool=WAREHOUSE_POOL,
    )
    def whoop_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        yield from stream_dbt(context, dbt, dbt_build_args(config), column_lineage=config.column_lineage)

    return whoop_dbt_models


def build_dbt_resource(target: str | None = None) -> DbtCliResource:
    """The ``dbt`` resource for a dbt target (default: the deployment's)."""
    return WhoopDbtCliResource(
        project_dir=dbt_project(target), dbt_executable=dbt_executable(), global_config_flags=list(FILE_LOG_FLAGS)
    )

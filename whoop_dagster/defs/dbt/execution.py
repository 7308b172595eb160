"""The dbt step: run ``dbt build`` for the selected models and tests, report them to Dagster.

Imported only inside the step (it imports dagster-dbt, and dagster-dbt imports dbt-core). dbt
runs through dagster-dbt's ``DbtCliResource`` with the manifest and the project's translator,
and its events become the step's outputs and check results: a model dbt built → its asset's
output (with row counts and column types), a test → the result of its asset check when that
check was selected, else an observation (dbt's indirect selection ran it). dbt's non-zero exit
(a failed error-severity test) fails the step after every event was reported, so blocking
checks stop downstream assets, and ``dbt build`` itself skips the models below a failed test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from whoop_dagster.defs.dbt.assets import partitioned_raw_keys
from whoop_dagster.defs.dbt.project import dbt_project, require_manifest, warehouse_kind
from whoop_dagster.defs.dbt.resource import WhoopDbtResource
from whoop_dagster.defs.dbt.selection import DBT_SELECT_TAG, DEFAULT_SELECT, dbt_selection_args
from whoop_dagster.defs.dbt.specs import DbtManifest
from whoop_dagster.defs.dbt.translator import WhoopDbtTranslator


@cache
def build_dbt_translator(target: str) -> WhoopDbtTranslator:
    """The dagster-dbt translator for a dbt target: the same rules the specs were built with."""
    return WhoopDbtTranslator(warehouse_kind=warehouse_kind(target), partitioned_sources=partitioned_raw_keys())


def run_dbt(
    context: dg.AssetExecutionContext, dbt: WhoopDbtResource, args: Sequence[str], *, column_lineage: bool = False
) -> Iterator[Any]:
    """Run ``dbt <args>`` for what ``context`` selected; yield outputs, check results and observations.

    Each model's output carries its row count and column types; ``column_lineage`` adds
    column-level lineage (slow: dagster-dbt parses every model's SQL).
    """
    project = dbt_project(dbt.target)
    manifest = DbtManifest.read(require_manifest())
    assets_def = context.assets_def
    selection = dbt_selection_args(
        assets_def,
        context.selected_asset_keys,
        context.selected_asset_check_keys,
        manifest,
        default_select=context.op_execution_context.op.tags.get(DBT_SELECT_TAG, DEFAULT_SELECT),
    )
    context.log.info(f"dbt {' '.join([*args, *selection])} (target {dbt.target})")
    cli = DbtCliResource(project_dir=project, dbt_executable=dbt.dbt_executable)
    invocation = cli.cli(
        [*args, *selection],
        manifest=dict(manifest.raw),
        dagster_dbt_translator=build_dbt_translator(dbt.target),
        target_path=invocation_target_path(Path(project.project_dir), context),
    )
    try:
        events = invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=column_lineage)
        for event in events:
            yield from step_events(context, event)
    finally:
        release_in_process_duckdb()


def invocation_target_path(project_dir: Path, context: dg.AssetExecutionContext) -> Path:
    """This invocation's own dbt target folder, named after the step and run (as dagster-dbt names it)."""
    # dagster-dbt honours DBT_TARGET_PATH for the folder the invocations live in; so do we.
    root = Path(os.getenv("DBT_TARGET_PATH", "target"))
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    return (root if root.is_absolute() else project_dir / root) / name


def step_events(context: dg.AssetExecutionContext, event: Any) -> Iterator[Any]:
    """A dagster-dbt event (as an op would get it) as the events of this multi-asset step."""
    if isinstance(event, dg.AssetMaterialization):
        if event.asset_key in context.selected_asset_keys:
            output_name = context.assets_def.get_output_name_for_asset_key(event.asset_key)
            yield dg.Output(None, output_name=output_name, metadata=event.metadata)
        else:
            context.log.warning(f"dbt built {event.asset_key.to_user_string()}, which this step did not select")
            yield dg.AssetObservation(asset_key=event.asset_key, metadata=event.metadata)
    elif isinstance(event, dg.AssetCheckEvaluation):
        check_key = dg.AssetCheckKey(event.asset_key, event.check_name)
        if check_key in context.selected_asset_check_keys:
            yield dg.AssetCheckResult(
                asset_key=event.asset_key,
                check_name=event.check_name,
                passed=event.passed,
                severity=event.severity,
                metadata=event.metadata,
            )
        else:
            # dbt's indirect selection ran a test whose check is not part of this step (what
            # dagster-dbt does too): keep its result as an observation of the asset.
            yield dg.AssetObservation(
                asset_key=event.asset_key,
                metadata=event.metadata,
                description=f"dbt test {event.check_name} ran by dbt's indirect selection; its check was not selected",
            )
    else:
        yield event


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

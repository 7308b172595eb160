"""The dbt step: ``dbt build`` through dagster-dbt, with row counts and column types on every model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

from whoop_dagster.defs.dbt.cli_resource import WhoopDbtCliResource


def stream_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str], *, column_lineage: bool = False
) -> Iterator[Any]:
    """Run ``dbt <args>`` for what ``context`` selected; yield its outputs and check results.

    Each model's output carries its row count and column types; ``column_lineage`` adds
    column-level lineage (slow: dagster-dbt parses every model's SQL for it).
    """
    invocation = start_dbt(context, dbt, args)
    try:
        if holds_events_until_dbt_exits(invocation):
            # dagster-dbt queries a DuckDB warehouse only after dbt has exited (the file has one
            # writer), so it yields nothing before then anyway. Waiting here first, with dbt's
            # output buffered, spares the metadata threads from polling a still-running dbt:
            # their wait for the next event is a busy loop, which takes the cores dbt needs.
            invocation.is_successful()
            yield from models_then_tests(invocation, column_lineage=column_lineage)
        else:
            yield from invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=column_lineage)
    finally:
        release_in_process_duckdb()


def start_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str]) -> DbtCliInvocation:
    """Start ``dbt <args>``; the project's resource builds its metadata adapter while dbt runs."""
    if isinstance(dbt, WhoopDbtCliResource):
        return dbt.cli_then_adapter(args, context=context)
    return dbt.cli(list(args), context=context)  # a stock DbtCliResource: its adapter first, then dbt


def models_then_tests(invocation: DbtCliInvocation, *, column_lineage: bool) -> Iterator[Any]:
    """Yield a finished invocation's model outputs (row count, column types), then its test results.

    dagster-dbt's ``fetch_column_metadata`` queries the columns of every event's relation, tests
    included (a test has no relation: one failing query per test), and each metadata pass waits
    for its next event in a busy loop. Handing them the models alone leaves that work out. Test
    results follow all models, so each check evaluates this run's materialization of its model;
    if dbt failed, its error is raised after every event it produced.
    """
    events: list[Any] = []
    failure: Exception | None = None
    try:
        events.extend(invocation.stream())
    except Exception as error:  # dbt failed: its events still count, the error is raised after them
        failure = error
    models = [event for event in events if isinstance(event, (dg.Output, dg.AssetMaterialization))]
    # One pass after the other, each over a finished list: chained, the column pass's thread pool
    # would spin (a busy loop on an empty queue) for as long as the row-count pass runs.
    with_row_counts = list(DbtEventIterator(iter(models), invocation).fetch_row_counts())
    yield from DbtEventIterator(iter(with_row_counts), invocation).fetch_column_metadata(
        with_column_lineage=column_lineage
    )
    yield from (event for event in events if not isinstance(event, (dg.Output, dg.AssetMaterialization)))
    if failure is not None:
        raise failure


def holds_events_until_dbt_exits(invocation: DbtCliInvocation) -> bool:
    """Whether dagster-dbt's metadata queries wait for the dbt process to exit (DuckDB targets)."""
    return invocation.manifest.get("metadata", {}).get("adapter_type") == "duckdb"


def release_in_process_duckdb() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open in this process after the dbt step.

    ``fetch_row_counts``/``fetch_column_metadata`` query through the dbt adapter inside the
    Dagster process, and dbt-duckdb caches that database handle at class level. With the
    in-process executor (``make run``) the next step's own DuckDB connection, opened with a
    different configuration, would then fail ("Can't open a connection to same database file
    with a different configuration"); and any other process would find the file locked.
    A no-op for Snowflake targets.
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

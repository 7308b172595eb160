"""The dbt step: ``dbt build`` through dagster-dbt, with row counts and column types on every model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource


def stream_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str], *, column_lineage: bool = False
) -> Iterator[Any]:
    """Run ``dbt <args>`` for what ``context`` selected; yield its outputs and check results.

    Each model's output carries its row count and column types; ``column_lineage`` adds
    column-level lineage (slow: dagster-dbt parses every model's SQL for it).
    """
    invocation = dbt.cli(list(args), context=context)
    try:
        if holds_events_until_dbt_exits(invocation):
            # dagster-dbt queries a DuckDB warehouse only after dbt has exited (the file has one
            # writer), so it yields nothing before then anyway. Waiting here first, with dbt's
            # output buffered, spares the metadata threads from polling a still-running dbt:
            # their wait for the next event is a busy loop, which takes the cores dbt needs.
            invocation.is_successful()
        yield from invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=column_lineage)
    finally:
        release_in_process_duckdb()


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

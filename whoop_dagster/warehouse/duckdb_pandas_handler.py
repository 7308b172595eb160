"""dagster-duckdb-pandas' type handler, replacing an unpartitioned output's whole table."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasTypeHandler


class WholeTableReplacingTypeHandler(DuckDBPandasTypeHandler):
    """The stock pandas handler, but an unpartitioned output re-creates its table from the DataFrame.

    The stock handler inserts into the table an earlier run created, so the table keeps that
    run's columns and types: a new column, or a column that was all null the first time (typed
    ``NULL`` by DuckDB), makes every later store fail after the rows were already deleted.
    """

    def handle_output(self, context: dg.OutputContext, table_slice: Any, obj: Any, connection: Any) -> Any:
        if not table_slice.partition_dimensions and not obj.empty:
            connection.execute(f"drop table if exists {table_slice.schema}.{table_slice.table}")
        return super().handle_output(context, table_slice, obj, connection)

"""dagster-duckdb-pandas' IO manager, waiting for the DuckDB file the way the warehouse does.

The stock ``DuckDBPandasIOManager`` stores each DataFrame as the table ``<key prefix>.<key name>``
and retries its connect a fixed ten times (about 100 s) when another process holds the file. This
subclass adds the warehouse's bound (``lock_timeout_seconds``) and its error naming the holder:
before each store or load it waits for the file like every other warehouse connection, then lets
the stock IO manager do the work, again after its own retries if another process took the file first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import Field

from whoop_dagster.warehouse.duckdb_lock import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    LOCK_TIMEOUT_ENV,
    is_lock_conflict,
    lock_timeout_error,
    wait_until_writable,
)

T = TypeVar("T")


class DuckDBWarehouseIOManager(DuckDBPandasIOManager):
    """DataFrames as DuckDB tables named by the asset key (``ml/recovery_forecast`` → ``ml.recovery_forecast``)."""

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description=f"How long a store or load waits while another process holds the file ({LOCK_TIMEOUT_ENV}).",
    )

    def create_io_manager(self, context: Any) -> dg.IOManager:
        return LockWaitingIOManager(super().create_io_manager(context), self.database, self.lock_timeout_seconds)

    @staticmethod
    def type_handlers() -> Sequence[Any]:
        return [WholeTableReplacingTypeHandler()]


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


class LockWaitingIOManager(dg.IOManager):
    """Runs another IO manager's store and load once the DuckDB file is free, within ``timeout_seconds``.

    Retrying a whole store is safe: the stock IO manager connects before it deletes or inserts
    anything, and the lock conflict is the connect failing.
    """

    def __init__(self, inner: dg.IOManager, database: str, timeout_seconds: float) -> None:
        self.inner = inner
        self.database = database
        self.timeout_seconds = timeout_seconds

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._when_free(lambda: self.inner.handle_output(context, obj))

    def load_input(self, context: dg.InputContext) -> Any:
        return self._when_free(lambda: self.inner.load_input(context))

    def _when_free(self, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            wait_until_writable(self.database, max(deadline - time.monotonic(), 0.0))
            try:
                return call()
            except Exception as err:
                if not is_lock_conflict(err):
                    raise
                if time.monotonic() >= deadline:
                    raise lock_timeout_error(self.database, err, self.timeout_seconds) from err

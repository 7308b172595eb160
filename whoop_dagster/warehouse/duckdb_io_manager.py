"""dagster-duckdb's IO manager with dagster-duckdb-pandas' type handler, waiting for the DuckDB file.

The stock one retries its connect a fixed number of times and raises DuckDB's bare lock message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import dagster as dg
from dagster_duckdb import DuckDBIOManager
from pydantic import Field

from whoop_dagster.warehouse.duckdb_lock import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    LOCK_TIMEOUT_ENV,
    is_lock_conflict,
    lock_timeout_error,
    wait_until_writable,
)

T = TypeVar("T")


class DuckDBWarehouseIOManager(DuckDBIOManager):
    """DataFrames as DuckDB tables named by the asset key (``ml/recovery_forecast`` → ``ml.recovery_forecast``).

    dagster-duckdb's documented way to choose the types it stores: a subclass naming its type
    handlers. Unlike ``DuckDBPandasIOManager`` it imports pandas when a step stores or loads,
    not when the code location loads.
    """

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description=f"How long a store or load waits while another process holds the file ({LOCK_TIMEOUT_ENV}).",
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        return LockWaitingIOManager(super().create_io_manager(context), self.database, self.lock_timeout_seconds)

    @staticmethod
    def type_handlers() -> Sequence[Any]:
        from whoop_dagster.warehouse.duckdb_pandas_handler import WholeTableReplacingTypeHandler

        return [WholeTableReplacingTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        import pandas as pd

        return pd.DataFrame


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

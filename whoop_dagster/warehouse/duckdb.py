"""The local warehouse: one DuckDB file, every connection waiting for its lock with a bounded backoff."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from whoop_dagster.warehouse.base import TableSpec, WarehouseResource
from whoop_dagster.warehouse.duckdb_lock import DEFAULT_LOCK_TIMEOUT_SECONDS, LOCK_TIMEOUT_ENV, connect_waiting

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


class DuckDBWarehouse(WarehouseResource):
    """The DuckDB file at ``path`` (created with its folder on first use).

    Not dagster-duckdb's ``DuckDBResource``, whose connect retries the same way but a fixed ten
    times (about 100 s) and then raises DuckDB's bare message: here the bound is a setting and the
    error names the process holding the file.
    """

    path: str
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description=f"How long a connection waits while another process holds the file ({LOCK_TIMEOUT_ENV}).",
    )

    @property
    def kind(self) -> str:
        return "duckdb"

    def dbapi_connection(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A read-only connection cannot create the file: the first reader of a new warehouse writes it.
        return connect_waiting(path, read_only=read_only and path.exists(), timeout_seconds=self.lock_timeout_seconds)

    def quote(self, identifier: str) -> str:
        # DuckDB identifiers are case-insensitive, quoted or not.
        return f'"{identifier}"'

    def _insert_frame(self, cursor: Any, table: TableSpec, frame: pd.DataFrame) -> int:
        # Let DuckDB scan the DataFrame directly: one statement, typed, fast.
        if frame.empty:
            return 0
        columns = ", ".join(self.quote(name) for name in table.column_names)
        # The registration lives as long as the cursor (closed right after the write); no
        # unregister here, which would mask the real error inside an aborted transaction.
        cursor.register("incoming_rows", frame.loc[:, list(table.column_names)])
        cursor.execute(f"INSERT INTO {self.qualified(table)} ({columns}) SELECT {columns} FROM incoming_rows")
        return len(frame)

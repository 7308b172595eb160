"""The warehouse interface the raw assets write through: a slice replaced in one transaction.

The stock pandas IO managers delete and insert without a transaction and skip empty frames.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    import pandas as pd


class WarehouseError(Exception):
    """A warehouse read or write failed; the message names the table and the rows concerned."""


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: schema, name and ``(column, portable SQL type)`` pairs."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


@dataclass(frozen=True)
class SliceWindow:
    """Rows with ``column`` in ``[start, end)``: the slice a partition range owns."""

    column: str
    start: date
    end: date


class WarehouseResource(dg.ConfigurableResource):
    """Base of the DuckDB and Snowflake warehouses (see the subclasses)."""

    @property
    @abstractmethod
    def kind(self) -> str:
        """``duckdb`` or ``snowflake`` (used for asset kinds and dbt targets)."""

    #: DB-API paramstyle of :meth:`connect`'s connections.
    paramstyle: str = "qmark"

    @abstractmethod
    def dbapi_connection(self, read_only: bool = False) -> Any:
        """A new DB-API connection; the caller closes it. ``read_only`` lets readers share the warehouse."""

    @abstractmethod
    def quote(self, identifier: str) -> str:
        """``identifier`` quoted so that it matches the unquoted name (reserved words like ``end``)."""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A DB-API connection, always closed, also when the block raises: hold it only as long as needed."""
        connection = self.dbapi_connection(read_only=read_only)
        try:
            yield connection
        finally:
            connection.close()

    def qualified(self, table: TableSpec) -> str:
        return f"{table.schema}.{table.name}"

    def create_table_sql(self, table: TableSpec) -> str:
        columns = ", ".join(f"{self.quote(name)} {sql_type}" for name, sql_type in table.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified(table)} ({columns})"

    def ensure_table(self, table: TableSpec) -> None:
        """Create the schema and table if they do not exist yet (idempotent)."""
        with self.connect() as connection:
            self._ensure_table(connection.cursor(), table)

    def _ensure_table(self, cursor: Any, table: TableSpec) -> None:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        cursor.execute(self.create_table_sql(table))

    def replace_slice(self, table: TableSpec, frame: pd.DataFrame, window: SliceWindow | None) -> int:
        """Replace the rows of ``window`` (the whole table when None) by ``frame``, atomically.

        Delete and insert run in one explicit transaction: readers see the old
        slice or the new one, never a half-written or empty one, and a failure
        rolls back to the old slice. An empty ``frame`` empties the slice.
        Returns the number of rows inserted. Raises ``WarehouseError`` naming the table and
        the slice when the warehouse cannot be opened, is locked, or the write fails.
        """
        try:
            return self._replace_slice(table, frame, window)
        except Exception as err:
            rows = "all rows" if window is None else f"the rows with {window.column} in [{window.start}, {window.end})"
            raise WarehouseError(
                f"could not replace {rows} of {self.qualified(table)} in the {self.kind} warehouse "
                f"({type(err).__name__}: {err}); its previous rows are kept"
            ) from err

    def _replace_slice(self, table: TableSpec, frame: pd.DataFrame, window: SliceWindow | None) -> int:
        # One connection for the whole write: locally it is the file's one writer, taken once.
        with self.connect() as connection:
            # Transaction control as SQL on the cursor: a DuckDB cursor is its own
            # connection, so `connection.commit()` would not commit the cursor's work.
            cursor = connection.cursor()
            self._ensure_table(cursor, table)
            cursor.execute("BEGIN")
            try:
                self._delete_slice(cursor, table, window)
                inserted = self._insert_frame(cursor, table, frame)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        return inserted

    def _delete_slice(self, cursor: Any, table: TableSpec, window: SliceWindow | None) -> None:
        if window is None:
            cursor.execute(f"DELETE FROM {self.qualified(table)}")
            return
        placeholder = self.placeholder()
        cursor.execute(
            f"DELETE FROM {self.qualified(table)} WHERE {self.quote(window.column)} >= {placeholder} "
            f"AND {self.quote(window.column)} < {placeholder}",
            (window.start, window.end),
        )

    def placeholder(self) -> str:
        """The DB-API parameter placeholder of this warehouse's connections."""
        return "?" if self.paramstyle == "qmark" else "%s"

    def _insert_frame(self, cursor: Any, table: TableSpec, frame: pd.DataFrame) -> int:
        """Insert ``frame`` with plain parameterised INSERTs, in batches (subclasses may do better)."""
        if frame.empty:
            return 0
        columns = ", ".join(self.quote(name) for name in table.column_names)
        values = ", ".join([self.placeholder()] * len(table.column_names))
        sql = f"INSERT INTO {self.qualified(table)} ({columns}) VALUES ({values})"
        rows = frame_to_tuples(frame, table.column_names)
        for batch_start in range(0, len(rows), 500):
            cursor.executemany(sql, rows[batch_start : batch_start + 500])
        return len(rows)

    def read_frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run a query on a short-lived read-only connection; its result as a DataFrame (column names lower-cased)."""
        with self.connect(read_only=True) as connection:
            cursor = connection.cursor()
            cursor.execute(sql, tuple(params))
            names = [description[0].lower() for description in cursor.description]
            import pandas as pd  # here, not at module level: loading the definitions needs no pandas

            return pd.DataFrame(cursor.fetchall(), columns=names)

    def table_exists(self, table: TableSpec) -> bool:
        """Whether ``table`` exists (without creating it)."""
        frame = self.read_frame(
            "SELECT count(*) AS n FROM information_schema.tables WHERE lower(table_schema) = lower("
            f"{self.placeholder()}) AND lower(table_name) = lower({self.placeholder()})",
            (table.schema, table.name),
        )
        return int(frame.iloc[0, 0]) > 0


def frame_to_tuples(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of ``frame`` as Python tuples, with every missing value (NaN, NaT, NA) as None."""
    records = frame.loc[:, list(columns)].astype(object).itertuples(index=False, name=None)
    return [tuple(_none_if_missing(value) for value in row) for row in records]


def _none_if_missing(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value

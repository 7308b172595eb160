"""Where the dashboard reads: the deployment's warehouse, through short-lived read-only connections.

A read-only DuckDB connection held open blocks the pipeline's writer, so every read opens, queries and
closes at once, and gives up with :class:`WarehouseBusyError` after a short backoff while a step writes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from whoop_dagster import environment

if TYPE_CHECKING:
    import pandas as pd

    from whoop_dagster.warehouse.snowflake import SnowflakeWarehouse

#: Waits before giving up on a locked DuckDB file: about 4 s in all, while a dbt build can hold it for minutes.
LOCK_BACKOFF_SECONDS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.5)


class DashboardDataError(Exception):
    """The dashboard cannot read the warehouse; the message says why and what to do."""


class WarehouseMissingError(DashboardDataError):
    """No warehouse yet (no DuckDB file, or none of the marts): the pipeline has not run."""


class WarehouseBusyError(DashboardDataError):
    """The pipeline holds the DuckDB write lock longer than the dashboard waits."""


class WarehouseUnreachableError(DashboardDataError):
    """The warehouse could not be opened (a bad path, Snowflake down or refusing the login)."""


@dataclass(frozen=True)
class TableQuery:
    """Rows of one table (``schema.name``) within a date range, with an optional fixed filter.

    ``date_column`` None reads the whole table (small dimension and summary tables).
    ``where`` is static SQL written in this package, never user input.
    """

    table: str
    date_column: str | None = "date_day"
    where: str | None = None
    order_by: str | None = "date_day"

    def sql(self, placeholder: str) -> tuple[str, bool]:
        """The SELECT statement and whether it takes the (start, end) parameters."""
        conditions = []
        if self.date_column:
            conditions.append(f"{self.date_column} >= {placeholder} AND {self.date_column} <= {placeholder}")
        if self.where:
            conditions.append(f"({self.where})")
        sql = f"SELECT * FROM {self.table}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        return sql, self.date_column is not None


class WarehouseSource(Protocol):
    """A warehouse the dashboard reads from."""

    #: Identifies the warehouse in cache keys (a path or an account/database; never a secret).
    key: str
    #: DB-API placeholder of its connections.
    placeholder: str

    def connection(self) -> Any:
        """A context manager yielding a DB-API connection, closed on exit."""


def read_tables(
    source: WarehouseSource,
    queries: Mapping[str, TableQuery],
    start: Any,
    end: Any,
) -> dict[str, pd.DataFrame | None]:
    """Run ``queries`` over one short-lived connection; a table that does not exist gives None.

    Column names come back lower-case (Snowflake answers in upper case).
    """
    with source.connection() as connection:
        existing = existing_tables(connection, source.placeholder)
        frames: dict[str, pd.DataFrame | None] = {}
        for name, query in queries.items():
            if query.table.lower() not in existing:
                frames[name] = None
                continue
            sql, dated = query.sql(source.placeholder)
            frames[name] = fetch_frame(connection, sql, (start, end) if dated else ())
        return frames


def existing_tables(connection: Any, placeholder: str = "?") -> set[str]:
    """``schema.table`` (lower case) of every table and view the connection can see."""
    rows = fetch_rows(connection, "SELECT table_schema, table_name FROM information_schema.tables")
    return {f"{schema}.{name}".lower() for schema, name in rows}


def fetch_rows(connection: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def fetch_frame(connection: Any, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """A query's result as a DataFrame with lower-case column names."""
    import pandas as pd

    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        names = [description[0].lower() for description in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)
    finally:
        cursor.close()


# --- DuckDB -----------------------------------------------------------------------------------


def is_lock_error(err: BaseException) -> bool:
    """True for DuckDB's "another process holds the file" error."""
    return "lock" in str(err).lower()


@dataclass(frozen=True)
class DuckDBSource:
    """The local DuckDB file, opened read-only for each read."""

    path: Path
    placeholder: str = "?"
    backoff: tuple[float, ...] = LOCK_BACKOFF_SECONDS

    @property
    def key(self) -> str:
        return f"duckdb:{self.path}"

    @contextmanager
    def connection(self) -> Iterator[Any]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    def _connect(self) -> Any:
        import duckdb

        if not self.path.is_file():
            raise WarehouseMissingError(f"no warehouse at {self.path}: run `make run` first")
        for attempt, pause in enumerate((*self.backoff, None)):
            try:
                return duckdb.connect(str(self.path), read_only=True)
            except duckdb.IOException as err:
                if not is_lock_error(err):
                    raise WarehouseUnreachableError(f"cannot open {self.path}: {err}") from err
                if pause is None:
                    raise WarehouseBusyError(
                        f"the pipeline is writing to {self.path.name} (DuckDB allows one writer at a time); "
                        f"still locked after {attempt} retries: try again in a moment"
                    ) from err
                time.sleep(pause * (1 + random.random() / 2))  # noqa: S311 - jitter, not cryptography
        raise AssertionError("unreachable")  # pragma: no cover


# --- Snowflake --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnowflakeSource:
    """The deployment's Snowflake database, through the pipeline's own warehouse resource."""

    #: The pipeline's warehouse resource, its settings resolved.
    warehouse: SnowflakeWarehouse
    placeholder: str = "%s"

    @property
    def key(self) -> str:
        extra = self.warehouse.additional_snowflake_connection_args or {}
        where = f"{extra.get('host', '')}:{extra.get('port', '')}" if extra.get("host") else ""
        return f"snowflake:{self.warehouse.account}{where}/{self.warehouse.database}/{self.warehouse.role or ''}"

    @contextmanager
    def connection(self) -> Iterator[Any]:
        try:
            manager = self.warehouse.connect()
            connection = manager.__enter__()
        except Exception as err:
            raise WarehouseUnreachableError(
                f"cannot connect to Snowflake database {self.warehouse.database} ({type(err).__name__}): "
                "check the SNOWFLAKE_* settings (`whoop-dagster doctor` tells which)"
            ) from err
        try:
            yield connection
        except BaseException as err:
            manager.__exit__(type(err), err, err.__traceback__)
            raise
        manager.__exit__(None, None, None)


def source_from_environment() -> WarehouseSource:
    """The warehouse of the current deployment: what the pipeline writes, read with its credentials."""
    deployment = environment.current_deployment()
    if not deployment.uses_snowflake:
        return DuckDBSource(environment.duckdb_path())
    from whoop_dagster.resources import build_warehouse

    # Resolve the EnvVar settings as Dagster would when it runs the resource.
    return SnowflakeSource(build_warehouse(deployment).process_config_and_initialize())

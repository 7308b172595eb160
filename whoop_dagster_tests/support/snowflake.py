"""A fakesnow server on loopback, reached with the real Snowflake connector."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

CONNECTION_KEYS_FOR_RESOURCE = ("account", "user", "password")


@contextmanager
def fakesnow_server(database: str | None = None) -> Iterator[dict[str, Any]]:
    """Start fakesnow on 127.0.0.1, create ``database``, yield the connector kwargs; stop it after.

    fakesnow servers in one process share their state, so each call gets its own
    database (a fresh random name unless one is given) to keep tests apart.

    Equivalent to ``fakesnow.server()``, which can be called only once per process:
    it imports its ``fakesnow.server`` submodule, which then shadows the function.
    """
    import importlib
    import socket
    import threading
    import time
    import uuid

    import snowflake.connector
    import uvicorn

    database = database or f"WHOOP_TEST_{uuid.uuid4().hex[:12].upper()}"
    app = importlib.import_module("fakesnow.server").app
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="fakesnow", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fakesnow server did not start")
        time.sleep(0.05)
    kwargs: dict[str, Any] = {
        "user": "fake",
        "password": "snow",
        "account": "fakesnow",
        "host": "127.0.0.1",
        "port": port,
        "protocol": "http",
        "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        "network_timeout": 5,
    }
    try:
        connection = snowflake.connector.connect(**kwargs)
        try:
            connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        finally:
            connection.close()
        yield {**kwargs, "database": database}
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def snowflake_warehouse(kwargs: dict[str, Any]) -> Any:
    """A :class:`SnowflakeWarehouse` pointed at the fakesnow server described by ``kwargs``."""
    from whoop_dagster.warehouse.snowflake import SnowflakeWarehouse

    extra = {k: v for k, v in kwargs.items() if k not in (*CONNECTION_KEYS_FOR_RESOURCE, "database")}
    return SnowflakeWarehouse(
        account=kwargs["account"],
        user=kwargs["user"],
        password=kwargs["password"],
        database=kwargs["database"],
        autocommit=False,
        additional_snowflake_connection_args=extra,
    )


#: Where dagster-snowflake-pandas calls ``write_pandas``: it imports it by name, so fakesnow must patch it there.
PANDAS_IO_MANAGER_WRITE_PANDAS = "dagster_snowflake_pandas.snowflake_pandas_type_handler.write_pandas"


@contextmanager
def fakesnow_in_process(db_path: Any, *, new_tables_in_schema: str | None = None) -> Iterator[dict[str, str]]:
    """fakesnow patched into this process, ``write_pandas`` included; yields the ``SNOWFLAKE_*`` settings.

    The fakesnow server cannot serve ``write_pandas`` (its ``INFER_SCHEMA`` and stage steps fail);
    the in-process patch can. Databases persist in ``db_path`` across patches.

    ``new_tables_in_schema``: the tables the stock IO manager writes in that schema do not exist
    yet. Its first write starts with ``DELETE FROM <db>.<schema>.<table>``, whose "does not exist or
    not authorized" error from real Snowflake dagster ignores, while fakesnow words it differently;
    that statement is skipped here. Leave it unset once the tables exist, so deletes really run.
    """
    from unittest import mock

    import fakesnow
    from fakesnow.cursor import FakeSnowflakeCursor

    nops = [rf"^delete from \w+\.{new_tables_in_schema}\.\w+$"] if new_tables_in_schema else None
    executemany = _executemany_as_the_connector_sends_it(FakeSnowflakeCursor.executemany)
    with (
        fakesnow.patch(extra_targets=[PANDAS_IO_MANAGER_WRITE_PANDAS], db_path=db_path, nop_regexes=nops),
        mock.patch.object(FakeSnowflakeCursor, "executemany", executemany),
    ):
        yield {
            "SNOWFLAKE_ACCOUNT": "fakesnow",
            "SNOWFLAKE_USER": "fake",
            "SNOWFLAKE_PASSWORD": "snow",
            "SNOWFLAKE_DATABASE": "WHOOP",
        }


def _executemany_as_the_connector_sends_it(fakesnows: Callable[..., Any]) -> Callable[..., Any]:
    """fakesnow's ``executemany``, sending an INSERT as one multi-row INSERT as the Snowflake connector does.

    With ``pyformat`` parameters (the project's), the real connector binds every row client-side
    into the VALUES clause of a single statement (``SnowflakeCursor.executemany``). fakesnow's
    in-process cursor runs the INSERT once per row instead (its own TODO says so), translating
    each row's SQL anew: thousands of statements for one of the connector's. Same rows, same
    literals (fakesnow's client-side binding), one statement; anything else goes to fakesnow's own.
    """
    from snowflake.connector.cursor import SnowflakeCursor
    from snowflake.connector.util_text import extract_values_clause

    def executemany(cursor: Any, command: str, seqparams: Any, **kwargs: Any) -> Any:
        is_insert = SnowflakeCursor.INSERT_SQL_RE.match(command.strip()) is not None
        values_clause = extract_values_clause(command) if is_insert else None
        pyformat = cursor._conn._paramstyle in ("pyformat", "format")
        if not pyformat or values_clause is None or isinstance(seqparams, dict) or not seqparams:
            return fakesnows(cursor, command, seqparams, **kwargs)
        rows = [cursor._rewrite_with_params(values_clause, tuple(row))[0] for row in seqparams]
        return cursor.execute(command.replace(values_clause, ",".join(rows), 1), **kwargs)

    return executemany


def snowflake_deployment_resources(monkeypatch: Any, settings: dict[str, str]) -> dict[str, Any]:
    """The resources a prod deployment builds from its ``SNOWFLAKE_*`` settings (e.g. ``fakesnow_in_process``'s)."""
    from whoop_dagster.environment import Deployment
    from whoop_dagster.resources import build_resources

    for name, value in {**settings, "WHOOP_DEPLOYMENT": "prod"}.items():
        monkeypatch.setenv(name, value)
    return build_resources(Deployment.PROD)

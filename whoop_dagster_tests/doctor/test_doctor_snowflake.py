"""The doctor's warehouse check in branch/prod: Snowflake unreachable, and a role that may only read
(fakesnow serving a database attached read-only: every write is refused, as for a role without
CREATE TABLE)."""

from __future__ import annotations

import importlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from whoop_dagster.doctor import run_checks
from whoop_dagster.doctor.report import render_table
from whoop_dagster.doctor.warehouse import EXPECTED_SCHEMAS, check_warehouse, snowflake_warehouse
from whoop_dagster.environment import Deployment
from whoop_dagster_tests.support.snowflake import fakesnow_server

pytestmark = pytest.mark.snowflake

PASSWORD = "doctor-snowflake-password-7c1"


def point_at(monkeypatch: pytest.MonkeyPatch, host: str, port: int, database: str) -> None:
    for name, value in {
        "WHOOP_DEPLOYMENT": "prod",
        "SNOWFLAKE_ACCOUNT": "fakesnow",
        "SNOWFLAKE_USER": "fake",
        "SNOWFLAKE_PASSWORD": PASSWORD,
        "SNOWFLAKE_DATABASE": database,
        "SNOWFLAKE_HOST": host,
        "SNOWFLAKE_PORT": str(port),
        "SNOWFLAKE_PROTOCOL": "http",
    }.items():
        monkeypatch.setenv(name, value)


def quick(warehouse):
    """The pipeline's warehouse with a short login timeout (the doctor's default is 20 s)."""
    extra = {**warehouse.additional_snowflake_connection_args, "login_timeout": 3, "network_timeout": 3}
    return warehouse.model_copy(update={"additional_snowflake_connection_args": extra})


def refuse_writes_as_snowflake_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """fakesnow answers DuckDB's read-only refusal as Snowflake answers a missing privilege: a SQL error.

    Unpatched, fakesnow's server turns that DuckDB error into an HTTP 500, which the connector
    retries until its network timeout, once per schema probed (~20 s of waiting); Snowflake itself
    answers "Insufficient privileges" (error 3001, SQLSTATE 42501) at once.
    """
    import duckdb
    import snowflake.connector
    from fakesnow.cursor import FakeSnowflakeCursor

    execute = FakeSnowflakeCursor._execute

    def _execute(self: FakeSnowflakeCursor, *args: object, **kwargs: object) -> None:
        try:
            execute(self, *args, **kwargs)
        except duckdb.InvalidInputException as err:
            if "read-only mode" not in str(err):
                raise
            raise snowflake.connector.errors.ProgrammingError(
                msg=f"SQL access control error: Insufficient privileges to operate on schema ({err})",
                errno=3001,
                sqlstate="42501",
            ) from err

    monkeypatch.setattr(FakeSnowflakeCursor, "_execute", _execute)


@pytest.fixture
def read_only_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict, str]]:
    """A fakesnow server whose database holds the pipeline's schemas but is attached read-only."""
    from fakesnow import info_schema, macros

    refuse_writes_as_snowflake_does(monkeypatch)

    with fakesnow_server() as kwargs:
        shared = importlib.import_module("fakesnow.server").shared_fs.duck_conn
        name = "WHOOP_READ_ONLY"
        file = tmp_path / f"{name}.db"
        shared.execute(f"ATTACH '{file}' AS {name}")
        shared.execute(info_schema.per_db_creation_sql(name))
        shared.execute(macros.creation_sql(name))
        for schema in EXPECTED_SCHEMAS:
            shared.execute(f"CREATE SCHEMA {name}.{schema.upper()}")
        shared.execute(f"DETACH {name}")
        shared.execute(f"ATTACH '{file}' AS {name} (READ_ONLY)")
        try:
            yield kwargs, name
        finally:
            shared.execute(f"DETACH {name}")


def test_a_writable_snowflake_database_passes(monkeypatch):
    with fakesnow_server() as kwargs:
        import snowflake.connector

        with snowflake.connector.connect(**kwargs) as connection:
            for schema in EXPECTED_SCHEMAS:
                connection.cursor().execute(f"create schema if not exists {schema}")
        point_at(monkeypatch, kwargs["host"], kwargs["port"], kwargs["database"])
        result = check_warehouse(quick(snowflake_warehouse(Deployment.PROD)))
    assert result.passed, result.result
    assert "writes accepted" in result.result


def test_a_read_only_role_is_named_with_the_grants_to_add(monkeypatch, read_only_database):
    kwargs, database = read_only_database
    point_at(monkeypatch, kwargs["host"], kwargs["port"], database)
    result = check_warehouse(quick(snowflake_warehouse(Deployment.PROD)))
    assert result.failure == "warehouse_read_only"
    assert "CREATE TABLE" in result.fix
    assert all(schema in result.result for schema in EXPECTED_SCHEMAS)
    assert PASSWORD not in render_table([result])


def test_an_unreachable_snowflake_is_named_unreachable(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    point_at(monkeypatch, "127.0.0.1", port, "WHOOP")
    result = check_warehouse(quick(snowflake_warehouse(Deployment.PROD)))
    assert result.failure == "warehouse_unreachable"
    assert "SNOWFLAKE_ACCOUNT" in result.fix
    assert PASSWORD not in render_table([result])


def test_snowflake_settings_that_fail_are_named_by_both_checks(monkeypatch):
    point_at(monkeypatch, "127.0.0.1", 1, "WHOOP")
    monkeypatch.setenv("SNOWFLAKE_PORT", "not-a-port")
    monkeypatch.setenv("WHOOP_CLIENT_ID", "doctor-client")
    monkeypatch.setenv("WHOOP_CLIENT_SECRET", "doctor-secret-5d2")
    results = {result.check: result for result in run_checks()}
    credentials, warehouse = results["WHOOP credentials"], results["warehouse"]
    assert credentials.failure == "token_store_unavailable"
    assert "not-a-port" in credentials.result
    assert warehouse.failure == "warehouse_settings"
    assert "not-a-port" in warehouse.result
    table = render_table(list(results.values()))
    assert PASSWORD not in table
    assert "doctor-secret-5d2" not in table

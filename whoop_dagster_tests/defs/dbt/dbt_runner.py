"""Running the dbt CLI and reading the warehouse in the dbt tests."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR, dbt_executable

#: The tables every comparison reads: the models users and the ML layer consume.
COMPARED_MODELS: tuple[str, ...] = (
    "staging.stg_cycle",
    "staging.stg_sleep",
    "staging.stg_recovery",
    "staging.stg_workout",
    "marts.dim_sport",
    "marts.fact_daily_recovery",
    "marts.fact_daily_strain",
    "marts.fact_sleep",
    "marts.fact_workout",
    "marts.dim_sleep_stage",
    "marts.fact_sleep_stage",
    "marts.dim_activity_type",
    "metrics.recovery_momentum",
    "metrics.strain_recovery_efficiency",
    "metrics.training_readiness_gap",
    "metrics.recovery_volatility",
    "metrics.autonomic_balance",
    "metrics.seasonal_adaptation",
)

#: Columns that record *when* something was loaded, not what the data says.
LOAD_TIME_COLUMNS = frozenset({"_extracted_at", "_partition_date"})


class DbtFailedError(AssertionError):
    """A dbt command exited non-zero; the message holds the end of its output."""


def run_dbt(
    args: Sequence[str], *, target: str, target_path: Path, env: Mapping[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``dbt <args>`` against whoop_dbt for ``target``, artefacts in ``target_path``."""
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(SOURCE_DBT_PROJECT_DIR),
        "--profiles-dir",
        str(SOURCE_DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(target_path),
    ]
    result = subprocess.run(
        command,
        env={**os.environ, "DBT_LOG_PATH": str(target_path), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise DbtFailedError(f"`dbt {' '.join(args)}` failed ({result.returncode}):\n{result.stdout[-8000:]}")
    return result


def run_results(target_path: Path) -> dict[str, str]:
    """unique_id → status of the last dbt command that wrote ``target_path``."""
    results = json.loads((target_path / "run_results.json").read_text())
    return {result["unique_id"]: result["status"] for result in results["results"]}


def _normalised_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (datetime, date, pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (int, float, Decimal, np.number)):
        return round(float(value), 6)
    return str(value)


def normalise(frame: pd.DataFrame, drop: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """A table in a warehouse-independent form: sorted lower-case column names and sorted rows of
    plain values (numbers as floats rounded to 6 places, dates and timestamps as ISO text)."""
    columns = sorted(c.lower() for c in frame.columns if c.lower() not in drop)
    by_lower = {c.lower(): c for c in frame.columns}
    rows = [
        tuple(_normalised_value(value) for value in row)
        for row in frame[[by_lower[c] for c in columns]].astype(object).itertuples(index=False, name=None)
    ]
    rows.sort(key=lambda row: tuple((value is None, value if value is not None else 0) for value in row))
    return tuple(columns), rows


def read_duckdb_tables(path: Path, tables: Sequence[str] = COMPARED_MODELS) -> dict[str, pd.DataFrame]:
    """The given tables of a DuckDB file (read-only)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return {table: connection.sql(f"select * from {table}").df() for table in tables}


def read_snowflake_tables(connection: Any, tables: Sequence[str] = COMPARED_MODELS) -> dict[str, pd.DataFrame]:
    """The given tables through the Snowflake connector.

    fakesnow sends a NULL ``TIMESTAMP_NTZ`` back as 1970-01-01 (the value *stored* is NULL: SQL
    sees it as null), so timestamp columns are read together with an ``IS NULL`` flag and
    masked here; only the read-back is corrected, never the data.
    """
    frames = {}
    for table in tables:
        schema, name = table.split(".")
        cursor = connection.cursor()
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            f"where lower(table_schema) = '{schema}' and lower(table_name) = '{name}'"
        )
        timestamp_columns = [
            column.lower() for column, data_type in cursor.fetchall() if "TIMESTAMP" in data_type.upper()
        ]
        null_flags = "".join(f", {column} is null as {column}__is_null" for column in timestamp_columns)
        frame = cursor.execute(f"select *{null_flags} from {table}").fetch_pandas_all().rename(columns=str.lower)
        for column in timestamp_columns:
            frame[column] = frame[column].astype(object).where(~frame.pop(f"{column}__is_null").astype(bool), None)
        frames[table] = frame
    return frames

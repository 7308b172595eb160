"""WHOOP records to rows of the raw warehouse tables (pure functions, no I/O).

Typed columns serve filters and checks; downstream models read the values from ``payload``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from whoop_dagster.whoop_api.endpoints import Endpoint
from whoop_dagster.whoop_api.errors import WhoopPayloadError

if TYPE_CHECKING:
    import pandas as pd

AUDIT_COLUMNS: tuple[str, ...] = ("_partition_date", "_extracted_at", "_run_id")


@dataclass(frozen=True)
class Column:
    """A raw table column and its portable SQL type (valid in DuckDB and Snowflake)."""

    name: str
    sql_type: str


def raw_columns(endpoint: Endpoint) -> tuple[Column, ...]:
    """The raw table's columns for ``endpoint``, in table order."""
    columns: list[Column] = []
    for name in dict.fromkeys((*endpoint.id_columns, "user_id")):
        columns.append(Column(name, "BIGINT" if name in endpoint.integer_columns else "VARCHAR"))
    columns += [Column(name, "TIMESTAMP") for name in endpoint.timestamp_fields]
    if endpoint.has_score_state:
        columns.append(Column("score_state", "VARCHAR"))
    columns += [
        Column("payload", "VARCHAR"),
        Column("_partition_date", "DATE"),
        Column("_extracted_at", "TIMESTAMP"),
        Column("_run_id", "VARCHAR"),
    ]
    return tuple(columns)


def parse_timestamp(value: str) -> datetime:
    """A WHOOP timestamp (``2022-04-24T11:25:44.774Z``) as a naive UTC datetime.

    Naive UTC because both warehouses store ``TIMESTAMP`` (NTZ) and every raw
    timestamp is UTC by contract; local time is derived downstream from
    ``timezone_offset``.
    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def partition_date_of(
    endpoint: Endpoint, record: Mapping[str, Any], sleep_starts: Mapping[str, datetime] | None = None
) -> date:
    """The UTC day a record belongs to: the day of its ``start``.

    Recoveries have no time span of their own; they belong to the day their
    related sleep started (``sleep_starts`` maps sleep id → sleep start), which
    is how the API itself filters and orders them.
    """
    if endpoint.partition_by_sleep:
        sleep_id = str(record.get("sleep_id"))
        if not sleep_starts or sleep_id not in sleep_starts:
            raise WhoopPayloadError(
                "cannot place recovery: the start of its sleep is unknown",
                endpoint=endpoint.name,
                record_id=endpoint.record_id(record),
            )
        return _as_utc_naive(sleep_starts[sleep_id]).date()
    try:
        return parse_timestamp(record["start"]).date()
    except (KeyError, TypeError, ValueError) as err:
        raise WhoopPayloadError(
            f"record has no valid 'start' ({err})", endpoint=endpoint.name, record_id=endpoint.record_id(record)
        ) from err


def _as_utc_naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def to_row(
    endpoint: Endpoint,
    record: Mapping[str, Any],
    *,
    partition_date: date | None,
    extracted_at: datetime,
    run_id: str,
) -> dict[str, Any]:
    """One raw table row for ``record`` (``partition_date`` None for unpartitioned endpoints)."""
    row: dict[str, Any] = {}
    try:
        for column in raw_columns(endpoint):
            name = column.name
            if name == "payload":
                row[name] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            elif name == "_partition_date":
                row[name] = partition_date
            elif name == "_extracted_at":
                row[name] = _as_utc_naive(extracted_at)
            elif name == "_run_id":
                row[name] = run_id
            elif column.sql_type == "TIMESTAMP":
                value = record.get(name)  # `end` is absent while a cycle is current
                row[name] = parse_timestamp(value) if value else None
            elif column.sql_type == "BIGINT":
                value = record.get(name)
                row[name] = int(value) if value is not None else None
            else:
                value = record.get(name)
                row[name] = str(value) if value is not None else None
    except (TypeError, ValueError) as err:
        raise WhoopPayloadError(
            f"field {name!r} has an unexpected value ({err})",
            endpoint=endpoint.name,
            record_id=endpoint.record_id(record),
        ) from err
    return row


_PANDAS_DTYPES = {"BIGINT": "Int64", "VARCHAR": "object", "TIMESTAMP": "datetime64[us]", "DATE": "object"}


def rows_to_frame(endpoint: Endpoint, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame with exactly the raw table's columns and dtypes (also when empty)."""
    import pandas as pd  # here, not at module level: loading the definitions needs no pandas

    columns = raw_columns(endpoint)
    frame = pd.DataFrame(list(rows), columns=[c.name for c in columns])
    return frame.astype({c.name: _PANDAS_DTYPES[c.sql_type] for c in columns})

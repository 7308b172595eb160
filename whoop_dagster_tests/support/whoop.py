"""The WHOOP emulator and the Dagster resources pointed at it, for tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from whoop_dagster.defs.raw.rows import parse_timestamp
from whoop_dagster.resources import WhoopApiResource
from whoop_dagster.whoop_api.endpoints import SLEEP, Endpoint
from whoop_dagster_tests.support.clock import frozen_now


@contextmanager
def emulator(days: int = 30, seed: int = 11, **config: Any) -> Iterator[Any]:
    """An emulator on loopback with its clock frozen at the tests' instant, stopped afterwards."""
    from whoop_dagster.emulator import EmulatorConfig, run_emulator

    with run_emulator(EmulatorConfig(seed=seed, days=days, now=frozen_now(), **config), port=0) as emu:
        yield emu


def whoop_resource(emu: Any, token_dir: Path, **overrides: Any) -> WhoopApiResource:
    """A non-demo WHOOP resource using the emulator's OAuth app and a token file in ``token_dir``."""
    return WhoopApiResource(
        api_base_url=emu.api_base_url,
        oauth_base_url=emu.oauth_base_url,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        redirect_uri=emu.redirect_uri,
        refresh_token=emu.issue_refresh_token(),
        token_store_path=str(token_dir / "whoop_tokens.json"),
        **overrides,
    )


def data_requests(emu: Any) -> int:
    """How many ``/v2/`` data requests the emulator has answered."""
    return sum(1 for entry in emu.request_log if "/v2/" in entry.path)


def truth_by_partition(emu: Any, endpoint: Endpoint, first: date, last: date) -> dict[str, tuple[date, dict]]:
    """The emulator's records of ``endpoint`` whose partition lies in ``first``…``last``, by id."""
    sleep_starts = {s["id"]: parse_timestamp(s["start"]).date() for s in emu.dataset.records(SLEEP.name)}
    truth = {}
    for record in emu.dataset.records(endpoint.name):
        day = (
            sleep_starts[record["sleep_id"]] if endpoint.partition_by_sleep else parse_timestamp(record["start"]).date()
        )
        if first <= day <= last:
            truth[endpoint.record_id(record)] = (day, record)
    return truth


def table_by_id(warehouse: Any, endpoint: Endpoint) -> dict[str, tuple[date, dict]]:
    """The raw table's rows as ``id → (partition day, payload)``."""
    columns = ", ".join(warehouse.quote(c) for c in endpoint.id_columns)
    frame = warehouse.read_frame(f"SELECT {columns}, _partition_date, payload FROM raw.{endpoint.name}")
    rows = {}
    for row in frame.to_dict("records"):
        key = "/".join(str(row[c]) for c in endpoint.id_columns)
        assert key not in rows, f"duplicate {endpoint.name} {key}"
        rows[key] = (_as_date(row["_partition_date"]), json.loads(row["payload"]))
    return rows


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def days_ago(n: int) -> date:
    """The UTC date ``n`` days before the tests' instant."""
    return (frozen_now() - timedelta(days=n)).date()


def frozen_partitions_def() -> Any:
    """The raw daily partitions as they are at the tests' instant (start date two years before it)."""
    from whoop_dagster.clock import frozen_clock
    from whoop_dagster.defs.raw.partitions import daily_partitions_def

    return daily_partitions_def(frozen_clock(frozen_now()))


def record_about_days_ago(emu: Any, endpoint_name: str, n: int) -> tuple[date, dict]:
    """The newest record starting ``n`` or more days ago, with its (UTC) start day.

    Not every UTC day has a record starting in it (cycles start at sleep onset, often
    the evening before), so tests pick a record, then use its day.
    """
    limit = days_ago(n)
    for record in emu.dataset.records(endpoint_name):  # newest first
        day = parse_timestamp(record["start"]).date()
        if day <= limit:
            return day, record
    raise LookupError(f"no {endpoint_name} record {n}+ days ago")

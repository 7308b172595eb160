"""Sensor cursors (the highest ``updated_at`` requested so far) and tick planning: pure logic, no Dagster."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges
from whoop_dagster.defs.raw.rows import parse_timestamp


@dataclass(frozen=True)
class SensorCursor:
    """What a sensor has acted on: the highest ``updated_at`` it requested a run for."""

    high_water: datetime | None = None

    @classmethod
    def parse(cls, text: str | None) -> SensorCursor:
        if not text:
            return cls()
        value = json.loads(text).get("updated_at_high_water")
        return cls(parse_timestamp(value) if value else None)

    def serialize(self) -> str:
        value = self.high_water.isoformat(timespec="milliseconds") + "Z" if self.high_water else None
        return json.dumps({"updated_at_high_water": value})


@dataclass(frozen=True)
class TickPlan:
    """What one tick decided: the partition ranges to run and the cursor after them."""

    ranges: tuple[DayRange, ...]
    cursor: SensorCursor
    changed_records: int


def changed_records(records: Iterable[Mapping[str, Any]], cursor: SensorCursor) -> list[Mapping[str, Any]]:
    """Records updated after the cursor's high-water mark (all of them on a first tick)."""
    if cursor.high_water is None:
        return list(records)
    return [r for r in records if parse_timestamp(r["updated_at"]) > cursor.high_water]


def plan_tick(
    changed: list[tuple[date, Mapping[str, Any]]],
    cursor: SensorCursor,
    first_day: date,
    last_day: date,
) -> TickPlan:
    """Ranges of the partitions (within ``first_day``…``last_day``) that hold changed records.

    The cursor advances to the newest ``updated_at`` among the records acted on;
    records placed outside the partitions that exist (before ``WHOOP_START_DATE``)
    are not loaded and do not move the cursor.
    """
    acted = [(day, record) for day, record in changed if first_day <= day <= last_day]
    if not acted:
        return TickPlan((), cursor, 0)
    high_water = max(parse_timestamp(record["updated_at"]) for _, record in acted)
    if cursor.high_water is not None:
        high_water = max(high_water, cursor.high_water)
    ranges = tuple(contiguous_ranges({day for day, _ in acted}))
    return TickPlan(ranges, SensorCursor(high_water), len(acted))

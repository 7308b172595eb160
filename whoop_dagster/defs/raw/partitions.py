"""Daily partitions of the raw collections and the windows they map to.

A partition is a UTC day of a record's ``start`` (for recoveries, of their
sleep's start). The API returns every record that overlaps a window, so a
range of partitions maps to one API window, and each returned record is kept
only by the partition it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.clock import Clock, utc_now, utc_today

PARTITION_COLUMN = "_partition_date"


@cache
def _daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists (and fills up) before the day is over.
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_offset=1, timezone="UTC")


def daily_partitions_def(clock: Clock = utc_now) -> dg.DailyPartitionsDefinition:
    """UTC-daily partitions from ``WHOOP_START_DATE`` (default: two years before ``clock``'s today) to today.

    Which partitions exist *now* is Dagster's question (``get_partition_keys(current_time=...)``);
    ``clock`` only fixes the default start date.
    """
    return _daily_partitions(environment.start_date(utc_today(clock)))


@dataclass(frozen=True)
class DayRange:
    """Partitions ``first`` … ``last`` (inclusive), i.e. the days ``[first, last + 1)``."""

    first: date
    last: date

    @property
    def end(self) -> date:
        """The exclusive end day."""
        return self.last + timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def api_window(self) -> tuple[datetime, datetime]:
        """The API ``start``/``end`` covering these days in UTC."""
        return (
            datetime.combine(self.first, time.min, tzinfo=timezone.utc),
            datetime.combine(self.end, time.min, tzinfo=timezone.utc),
        )

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}...{self.last}"

    @classmethod
    def from_keys(cls, first_key: str, last_key: str) -> DayRange:
        return cls(date.fromisoformat(first_key), date.fromisoformat(last_key))


def contiguous_ranges(days: set[date]) -> list[DayRange]:
    """``days`` grouped into the fewest ranges of consecutive days, oldest first."""
    ranges: list[DayRange] = []
    for day in sorted(days):
        if ranges and day == ranges[-1].last + timedelta(days=1):
            ranges[-1] = DayRange(ranges[-1].first, day)
        else:
            ranges.append(DayRange(day, day))
    return ranges

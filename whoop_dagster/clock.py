"""What time it is, asked in one place: the UTC wall clock by default, any instant in tests.

Code that reads "now" (partitions, sensors, volume checks, the main job's date range) takes
a ``Clock`` parameter whose default is ``utc_now``, so a test can run it at a frozen or
explicitly advanced instant instead of whatever hour the suite happens to run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

#: A source of "now": returns an aware UTC datetime each time it is called.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real UTC wall clock: the default ``Clock`` everywhere."""
    return datetime.now(timezone.utc)


def frozen_clock(moment: datetime) -> Clock:
    """A clock that always answers ``moment`` (naive datetimes are read as UTC)."""
    instant = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return lambda: instant


def utc_today(clock: Clock = utc_now) -> date:
    """The UTC date of ``clock``'s now (never the machine's local date)."""
    return clock().astimezone(timezone.utc).date()

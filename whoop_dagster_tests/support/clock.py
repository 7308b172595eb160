"""The instant the time-sensitive tests run at: chosen, frozen, never the hour the suite runs.

``WHOOP_TEST_NOW`` (ISO 8601, UTC; ``pytest --now=...`` sets it) picks the instant; the default
is adversarial: two minutes before UTC midnight on the last day of a month and a year, when
today's partition, the sensors' lookback windows and "completed days" are about to turn over.
``INSTANTS`` are the instants ``make test-instants`` runs the time-sensitive modules at.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from whoop_dagster.clock import Clock, frozen_clock

ENV_VAR = "WHOOP_TEST_NOW"

#: Tests move emulators at most this far past the instant (26 hours, with a margin).
MAX_ADVANCE = timedelta(hours=30)

#: name -> (instant, why it is adversarial). The emulator's member 0 lives at -05:00 without
#: daylight saving (local midnight = 05:00 UTC) and travels to +01:00 or Z: those jumps are the
#: emulator's offset changes, so DST-like instants are taken at them and at real DST changes.
INSTANTS: dict[str, tuple[datetime, str]] = {
    name: (datetime.fromisoformat(text).replace(tzinfo=timezone.utc), why)
    for name, text, why in (
        ("year-end-2358", "2025-12-31T23:58", "2 min before UTC midnight, last day of a month and a year (CI)"),
        ("new-year-0002", "2026-01-01T00:02", "2 min after UTC midnight: today's partition just began"),
        ("local-midnight-0458", "2026-01-01T04:58", "2 min before the member's local midnight (-05:00)"),
        ("local-midnight-0502", "2026-01-01T05:02", "2 min after the member's local midnight"),
        ("leap-day-noon", "2024-02-29T12:00", "29 February, midday"),
        ("leap-day-2358", "2024-02-29T23:58", "2 min before the end of 29 February"),
        ("after-leap-0002", "2024-03-01T00:02", "2 min after 29 February ended"),
        ("feb-end-2359", "2025-02-28T23:59", "end of a non-leap February"),
        ("june-end-2358", "2025-06-30T23:58", "end of a 30-day month"),
        ("eu-dst-0100", "2025-03-30T01:00", "EU daylight saving starts (01:00 UTC)"),
        ("us-dst-0600", "2025-11-02T06:00", "US daylight saving ends (06:00 UTC)"),
        ("offset-jump-2358", "2025-11-10T23:58", "first night after the member's offset jumped -05:00 -> +01:00"),
        ("offset-back-0500", "2025-11-21T05:00", "local midnight right after the offset jumped back to -05:00"),
        ("v2-cutoff-0002", "2025-09-01T00:02", "the emulator's v2-only cut-off: record shapes change at midnight"),
        ("hourly-sync-1800", "2026-11-28T18:00", "the instant of issue 12's failure (a current-cycle sync at 18:03)"),
    )
}

DEFAULT_INSTANT = "year-end-2358"


def parse_instant(text: str) -> datetime:
    """An instant from a name of ``INSTANTS`` or an ISO 8601 text (naive = UTC)."""
    if text in INSTANTS:
        return INSTANTS[text][0]
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def frozen_now() -> datetime:
    """The tests' now: ``WHOOP_TEST_NOW`` or the default instant.

    It must lie in the past: Dagster's own bounds of which partitions exist follow the
    process's wall clock, and tests advance emulators up to ``MAX_ADVANCE`` past it.
    """
    moment = parse_instant(os.getenv(ENV_VAR, "").strip() or DEFAULT_INSTANT)
    if moment + MAX_ADVANCE > datetime.now(timezone.utc):
        raise ValueError(f"{ENV_VAR}={moment.isoformat()} is too recent: pick an instant at least {MAX_ADVANCE} ago")
    return moment


def frozen_test_clock() -> Clock:
    """A clock frozen at ``frozen_now()`` (for code that is not driven by an emulator's clock)."""
    return frozen_clock(frozen_now())

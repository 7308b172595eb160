"""The emulator's clock: the real UTC clock, or a frozen one that tests move by hand.

Rate-limit windows do not read it: a client told to wait N seconds really waits.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


def to_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive datetimes are read as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (the emulator's internal time unit)."""
    return round(to_utc(moment).timestamp() * 1000)


class Clock:
    """A UTC clock that is either real (optionally shifted) or frozen.

    ``advance`` works on both: on a real clock it adds an offset, so an out-of-process
    caller of ``POST /_emulator/advance`` can skip ahead without freezing time.
    """

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = to_utc(frozen_at) if frozen_at is not None else None
        self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        """Whether time stands still until ``set_now`` / ``advance`` move it."""
        return self._frozen is not None

    def now(self) -> datetime:
        """The current emulator time (aware, UTC)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(timezone.utc) + self._offset

    def now_ms(self) -> int:
        """``now()`` in milliseconds since the epoch."""
        return to_ms(self.now())

    def set_now(self, moment: datetime) -> None:
        """Freeze the clock at ``moment``."""
        with self._lock:
            self._frozen = to_utc(moment)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (frozen or not) and return the new now."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta
        return self.now()

"""WHOOP's per-app rate limits: fixed windows of a minute and a day, on the real monotonic clock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MINUTE_S = 60
DAY_S = 86_400


@dataclass
class _Window:
    limit: int
    seconds: int
    index: int = -1
    used: int = 0

    def roll(self, elapsed: float) -> None:
        index = int(elapsed // self.seconds)
        if index != self.index:
            self.index, self.used = index, 0

    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def reset_s(self, elapsed: float) -> int:
        # Whole seconds, rounded up: a client that waits this long is in the next window.
        return max(1, math.ceil((self.index + 1) * self.seconds - elapsed))


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may pass, and the ``X-RateLimit-*`` headers to send either way."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    """Fixed per-minute and per-day windows, counted from the limiter's creation."""

    def __init__(self, per_minute: int, per_day: int, *, time_fn: Callable[[], float] = time.monotonic) -> None:
        self._time = time_fn
        self._origin = time_fn()
        self._lock = threading.Lock()
        self._windows = (_Window(per_minute, MINUTE_S), _Window(per_day, DAY_S))

    def hit(self) -> RateDecision:
        """Count one request; refused requests are not counted."""
        with self._lock:
            elapsed = self._time() - self._origin
            for window in self._windows:
                window.roll(elapsed)
            allowed = all(w.remaining() > 0 for w in self._windows)
            if allowed:
                for window in self._windows:
                    window.used += 1
            return RateDecision(allowed, self._headers(elapsed))

    def headers(self) -> dict[str, str]:
        """The current headers without counting a request."""
        with self._lock:
            elapsed = self._time() - self._origin
            for window in self._windows:
                window.roll(elapsed)
            return self._headers(elapsed)

    def _headers(self, elapsed: float) -> dict[str, str]:
        # WHOOP names the window closest to being exhausted first (ties: the shorter one).
        closest = min(self._windows, key=lambda w: (w.remaining(), w.seconds))
        windows = ", ".join(f"{w.limit};window={w.seconds}" for w in self._windows)
        return {
            "X-RateLimit-Limit": f"{closest.limit}, {windows}",
            "X-RateLimit-Remaining": str(closest.remaining()),
            "X-RateLimit-Reset": str(closest.reset_s(elapsed)),
        }

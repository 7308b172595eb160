"""Client-side rate limiting: stay under WHOOP's per-minute limit and obey its pauses, across threads."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

logger = logging.getLogger(__name__)


class RateLimiter:
    """A thread-safe sliding-window limiter with server-imposed pauses.

    Args:
        limit: requests allowed per window (WHOOP's default is 100 per minute).
        window_s: the window in seconds (60 for WHOOP's per-minute limit).
        margin_s: added to the window, so that requests whose network latencies
            differ still arrive more than a window apart at the server.
        clock: monotonic clock in seconds.
        sleep: how to wait (``time.sleep``; a fake in unit tests).
    """

    def __init__(
        self,
        limit: int = 100,
        window_s: float = 60.0,
        *,
        margin_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, not {window_s}")
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque(maxlen=limit)  # the last `limit` (reserved) start times
        self._paused_until = float("-inf")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit}, window_s={self.window_s})"

    def reserve(self) -> float:
        """Reserve the next start slot and return how long the caller must wait for it (no sleeping)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until)
            if len(self._starts) == self.limit:
                slot = max(slot, self._starts[0] + self.window_s + self.margin_s)
            if self._starts:
                slot = max(slot, self._starts[-1])
            self._starts.append(slot)
            return slot - now

    def acquire(self) -> float:
        """Wait until a request may start; return the seconds waited."""
        waited = 0.0
        while True:
            wait = self.reserve()
            if wait > 0:
                logger.debug("rate limiter: waiting %.3f s before the next request", wait)
                self._sleep(wait)
                waited += wait
            # A server-imposed pause that began while we slept: wait it out with a new slot.
            if self.paused_for() <= 0:
                return waited

    def pause_for(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now (a server's reset or ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def paused_for(self) -> float:
        """Seconds left of a server-imposed pause (0 when none)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())


_shared_lock = threading.Lock()
_shared: dict[tuple[str, str, int], RateLimiter] = {}


def shared_rate_limiter(api_base_url: str, app_key: str, requests_per_minute: int) -> RateLimiter:
    """The one limiter of this process for an API and OAuth app (WHOOP counts requests per app).

    Every client the resource opens — one per asset step, several at once under the in-process
    executor's threads or a sensor tick — takes its slots from this limiter, so the process as a
    whole stays under the limit instead of each client getting the whole budget.
    """
    key = (api_base_url, app_key, requests_per_minute)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RateLimiter(requests_per_minute, 60.0)
        return _shared[key]

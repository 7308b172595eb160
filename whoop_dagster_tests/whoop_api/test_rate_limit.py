"""The client-side rate limiter, on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from whoop_dagster.whoop_api.rate_limit import RateLimiter


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


def starts_of(limiter: RateLimiter, clock: FakeClock, count: int) -> list[float]:
    starts = []
    for _ in range(count):
        limiter.acquire()
        starts.append(clock.now)
    return starts


def max_in_any_window(starts: list[float], window: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


def test_requests_within_the_limit_start_without_waiting():
    clock = FakeClock()
    limiter = RateLimiter(20, 60.0, margin_s=0.0, clock=clock, sleep=clock.sleep)
    starts = starts_of(limiter, clock, 20)
    assert clock.sleeps == []
    assert set(starts) == {1000.0}


def test_a_request_over_the_limit_waits_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    limiter = RateLimiter(20, 60.0, margin_s=0.5, clock=clock, sleep=clock.sleep)
    starts_of(limiter, clock, 20)
    waited = limiter.acquire()
    assert waited == pytest.approx(60.5)
    assert clock.now == pytest.approx(1060.5)


def test_no_window_ever_holds_more_requests_than_the_limit():
    clock = FakeClock()
    limiter = RateLimiter(20, 60.0, margin_s=0.0, clock=clock, sleep=clock.sleep)
    starts = []
    for i in range(200):
        if i % 7 == 0:
            clock.sleep(3.3)  # some idle time between bursts
        limiter.acquire()
        starts.append(clock.now)
    assert max_in_any_window(starts, 60.0) == 20


def test_a_server_pause_holds_back_every_request_until_it_ends():
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause_for(12.0)
    assert limiter.paused_for() == pytest.approx(12.0)
    assert limiter.acquire() == pytest.approx(12.0)
    assert limiter.paused_for() == 0.0


def test_a_shorter_pause_never_shortens_a_longer_one():
    clock = FakeClock()
    limiter = RateLimiter(100, 60.0, clock=clock, sleep=clock.sleep)
    limiter.pause_for(30.0)
    limiter.pause_for(5.0)
    assert limiter.paused_for() == pytest.approx(30.0)


def test_threads_share_the_limit_without_exceeding_it():
    # The window check reads the slots the limiter granted (its clock reading in reserve() plus
    # the wait), not the moments the threads woke: on a loaded machine a thread wakes late, next
    # to later slots. acquire() is reserve() and a sleep; the threads do the same here.
    reading = threading.local()

    def clock() -> float:
        reading.now = time.monotonic()
        return reading.now

    limiter = RateLimiter(10, 0.4, margin_s=0.0, clock=clock)
    slots: list[float] = []
    woke: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            wait = limiter.reserve()
            slot = reading.now + wait
            time.sleep(max(wait, 0.0))
            with lock:
                slots.append(slot)
                woke.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 30
    # 30 requests at 10 per 0.4 s need at least two full windows.
    assert max(woke) - min(woke) >= 0.8 - 0.01
    assert max_in_any_window(sorted(slots), 0.4 - 1e-6) <= 10


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0)


def test_every_client_a_resource_opens_draws_on_one_limiter_per_app(tmp_path):
    """WHOOP counts requests per app: the steps of a run must share the budget, not get one each."""
    from whoop_dagster_tests.support.whoop import emulator, whoop_resource

    with emulator(days=3) as emu:
        resource = whoop_resource(emu, tmp_path)
        other_app = resource.model_copy(update={"client_id": "another-app"})
        with resource.open_client() as first, resource.open_client() as second:
            assert first.limiter is second.limiter
            assert first.limiter.limit == resource.requests_per_minute
            with other_app.open_client() as third:
                assert third.limiter is not first.limiter

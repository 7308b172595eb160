"""Rate limiting: WHOOP's headers on every answer, 429 past a limit, OAuth not limited."""

from __future__ import annotations

import re

import pytest
import requests

from whoop_dagster.emulator.ratelimit import RateLimiter
from whoop_dagster_tests.emulator.conftest import TIMEOUT_S

LIMIT_HEADER = re.compile(r"^\d+, \d+;window=60, \d+;window=86400$")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("path", ["/v2/cycle", "/v2/cycle/1", "/v2/nothing"])
def test_every_api_answer_carries_the_rate_limit_headers(make_emulator, make_client, path):
    client = make_client(make_emulator(days=3))
    for response in (client.get(path), requests.get(client.emu.api_base_url + path, timeout=TIMEOUT_S)):
        assert LIMIT_HEADER.match(response.headers["X-RateLimit-Limit"])
        assert response.headers["X-RateLimit-Limit"].startswith("100, 100;window=60, 10000;window=86400")
        assert int(response.headers["X-RateLimit-Remaining"]) < 100
        assert 1 <= int(response.headers["X-RateLimit-Reset"]) <= 60


def test_remaining_counts_down_with_each_request(make_emulator, make_client):
    client = make_client(make_emulator(days=3, rate_limit_per_minute=10))
    remaining = [int(client.get("/v2/cycle").headers["X-RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [9, 8, 7]


def test_requests_beyond_the_minute_limit_get_429_with_the_time_to_wait(make_emulator, make_client):
    emu = make_emulator(days=3, rate_limit_per_minute=3)
    client = make_client(emu)
    statuses = [client.get("/v2/cycle").status_code for _ in range(3)]
    refused = client.get("/v2/cycle")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Limit"].startswith("3, 3;window=60")
    assert 1 <= int(refused.headers["X-RateLimit-Reset"]) <= 60
    assert "Retry-After" not in refused.headers
    assert emu.stats()["rate_limited"] == 1


def test_the_day_limit_is_reported_when_it_is_the_closer_one(make_emulator, make_client):
    client = make_client(make_emulator(days=3, rate_limit_per_day=2))
    client.get("/v2/cycle")
    last = client.get("/v2/cycle")
    refused = client.get("/v2/cycle")
    assert last.headers["X-RateLimit-Limit"].startswith("2, 100;window=60, 2;window=86400")
    assert refused.status_code == 429
    assert int(refused.headers["X-RateLimit-Reset"]) > 86_000


def test_retry_after_is_sent_only_when_configured(make_emulator, make_client):
    client = make_client(make_emulator(days=3, rate_limit_per_minute=1, retry_after_header=True))
    client.get("/v2/cycle")
    refused = client.get("/v2/cycle")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Reset"]


def test_oauth_endpoints_are_not_rate_limited(make_emulator):
    emu = make_emulator(days=3, rate_limit_per_minute=1)
    tokens = [emu.authorize() for _ in range(3)]  # six OAuth requests
    assert len({t["access_token"] for t in tokens}) == 3


def test_the_minute_window_resets_after_sixty_seconds():
    clock = FakeTime()
    limiter = RateLimiter(2, 100, time_fn=clock)
    assert [limiter.hit().allowed for _ in range(3)] == [True, True, False]
    clock.now += 59
    assert not limiter.hit().allowed
    assert limiter.headers()["X-RateLimit-Reset"] == "1"
    clock.now += 1
    decision = limiter.hit()
    assert decision.allowed
    assert decision.headers["X-RateLimit-Remaining"] == "1"


def test_the_headers_name_the_window_closest_to_being_exhausted():
    clock = FakeTime()
    limiter = RateLimiter(100, 3, time_fn=clock)
    first = limiter.hit().headers
    assert first["X-RateLimit-Limit"] == "3, 100;window=60, 3;window=86400"
    assert first["X-RateLimit-Remaining"] == "2"
    assert first["X-RateLimit-Reset"] == "86400"

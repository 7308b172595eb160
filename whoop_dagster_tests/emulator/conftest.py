"""Fixtures of the emulator tests: emulators on loopback and a tiny HTTP client for them.

Tests that only read share one session-wide emulator (``readonly_emu``, frozen clock);
tests that move the clock, inject faults, mutate records or exhaust rate limits build
their own with ``make_emulator``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from whoop_dagster.emulator import Emulator, EmulatorConfig
from whoop_dagster.whoop_api.endpoints import ALL_SCOPES

#: The frozen now of the shared emulator: its 730-day history spans the v2-only cut-off (2025-09-01).
NOW = datetime(2026, 3, 15, 14, 0, tzinfo=timezone.utc)

TIMEOUT_S = 10


def parse_ts(text: str) -> datetime:
    """A WHOOP timestamp as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def utc_offset(text: str) -> timedelta:
    """A ``timezone_offset`` (``-05:00``, ``+01:00``, ``Z``) as a timedelta."""
    if text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    hours, minutes = text[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def local_wake_date(sleep: dict[str, Any]) -> date:
    """The member's local date at the end of ``sleep``: the day its recovery belongs to."""
    return (parse_ts(sleep["end"]) + utc_offset(sleep["timezone_offset"])).date()


class ApiClient:
    """Authorised requests to one emulator's data API (one member, chosen scopes)."""

    def __init__(self, emu: Emulator, user_index: int = 0, scopes: Sequence[str] = ALL_SCOPES) -> None:
        self.emu = emu
        self.tokens = emu.authorize(user_index, scopes)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.tokens['access_token']}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.emu.api_base_url + path, params=params, timeout=TIMEOUT_S)

    def pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a collection query (from ``nextToken`` if given), as the raw JSON bodies."""
        bodies, token = [], params.pop("nextToken", None)
        while True:
            response = self.get(path, **params, **({"nextToken": token} if token else {}))
            assert response.status_code == 200, response.text
            bodies.append(response.json())
            token = bodies[-1].get("next_token")
            if not token:
                return bodies
            assert len(bodies) < 1000, "paging does not terminate"

    def collect(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a collection query, across pages."""
        return [record for body in self.pages(path, **params) for record in body["records"]]

    def close(self) -> None:
        self.session.close()


@pytest.fixture(scope="session")
def readonly_emu() -> Iterator[Emulator]:
    """A 730-day emulator frozen at ``NOW``. Never mutate it: build your own for that."""
    with Emulator(EmulatorConfig(seed=7, days=730, users=2, now=NOW)) as emu:
        yield emu


@pytest.fixture(scope="session")
def api(readonly_emu: Emulator) -> Iterator[ApiClient]:
    """A client of ``readonly_emu`` for member 0 with every scope."""
    client = ApiClient(readonly_emu)
    yield client
    client.close()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Build started emulators (``make_emulator(days=30, ...)``: config fields), stopped after the test."""
    started: list[Emulator] = []

    def make(**config: Any) -> Emulator:
        settings = {"seed": 7, "days": 60, "now": NOW, **config}
        emu = Emulator(EmulatorConfig(**settings)).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., ApiClient]]:
    """Build ``ApiClient``s, closed after the test."""
    clients: list[ApiClient] = []

    def make(emu: Emulator, user_index: int = 0, scopes: Sequence[str] = ALL_SCOPES) -> ApiClient:
        client = ApiClient(emu, user_index, scopes)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

"""Helpers for tests against the WHOOP API emulator: clients wired to it, and window truth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.client import WhoopClient
from whoop_dagster.whoop_api.token_store import MemoryTokenStore, TokenSet, TokenStore

#: The emulator's frozen clock in these tests: data and token expiry stand still.
FROZEN_NOW = datetime(2025, 6, 2, 15, 0, tzinfo=timezone.utc)

COLLECTIONS = ("cycle", "sleep", "recovery", "workout")


def oauth_app(emu: Any) -> OAuthApp:
    return OAuthApp(emu.client_id, emu.client_secret, emu.redirect_uri, oauth_base_url=emu.oauth_base_url)


def token_manager(emu: Any, store: TokenStore | None = None, **kwargs: Any) -> TokenManager:
    store = store if store is not None else MemoryTokenStore(seed_refresh_token=emu.issue_refresh_token())
    return TokenManager(oauth_app(emu), store, **kwargs)


def client_for(emu: Any, store: TokenStore | None = None, *, tokens: TokenManager | None = None, **kwargs: Any):
    """A ``WhoopClient`` on the emulator, with short backoffs so fault tests stay fast."""
    options = {"backoff_factor": 0.01, "rate_limit_margin_s": 0.1, **kwargs}
    return WhoopClient(emu.api_base_url, tokens or token_manager(emu, store), **options)


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def span(endpoint: str, record: dict[str, Any], sleeps: dict[str, dict[str, Any]], now: datetime):
    """The time span the API filters ``record`` by (recoveries: their sleep's)."""
    if endpoint == "recovery":
        record = sleeps[record["sleep_id"]]
    end = record.get("end")
    return parse(record["start"]), parse(end) if end else now


def expected_in_window(emu: Any, endpoint: str, start: datetime | None, end: datetime | None) -> list[dict]:
    """The truth records a window should return, by WHOOP's documented rule, newest first.

    ``start`` is inclusive of records that occurred after or during it (the record ends
    at or after ``start``); ``end`` is exclusive (the record starts before it).
    """
    now = emu.now()
    sleeps = {s["id"]: s for s in emu.dataset.records("sleep")}
    chosen = []
    for record in emu.dataset.records(endpoint):
        record_start, record_end = span(endpoint, record, sleeps, now)
        if (start is None or record_end >= start) and record_start < (end or now):
            chosen.append(record)
    return chosen


def window_with(emu: Any, count: int) -> tuple[datetime, datetime]:
    """A cycle window that overlaps exactly ``count`` cycles (checked against the truth)."""
    cycles = sorted(emu.dataset.records("cycle"), key=lambda r: r["start"])
    if count == 0:
        first = parse(cycles[0]["start"])
        start, end = first - timedelta(days=10), first - timedelta(days=9)
    else:
        assert len(cycles) > count, "the emulator needs more days for this window"
        ms = timedelta(milliseconds=1)
        start, end = parse(cycles[1]["start"]) + ms, parse(cycles[count]["start"]) + 2 * ms
    assert len(expected_in_window(emu, "cycle", start, end)) == count
    return start, end


def stored(store: TokenStore) -> TokenSet:
    tokens = store.load()
    assert tokens is not None
    return tokens

"""The client against a scripted loopback server: schema violations, odd status codes, rate-limit headers.

These are answers the emulator does not give (it serves valid data); the client must
still fail loudly and helpfully, never loop, and never leak a token.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.client import WhoopClient
from whoop_dagster.whoop_api.errors import (
    WhoopAPIError,
    WhoopAuthError,
    WhoopNotFoundError,
    WhoopPayloadError,
    WhoopRateLimitError,
)
from whoop_dagster.whoop_api.http import USER_AGENT
from whoop_dagster.whoop_api.token_store import MemoryTokenStore, TokenSet
from whoop_dagster_tests.support import records as rec
from whoop_dagster_tests.whoop_api.stub_server import Scripted, run_stub

ACCESS = "stub-access-token-0123456789abcdef"
REFRESH = "stub-refresh-token-0123456789abcdef"
SECRET = "stub-client-secret-0123456789abcdef"
CYCLE_PATH = "/developer/v2/cycle"
TOKEN_PATH = "/oauth/oauth2/token"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 3, tzinfo=timezone.utc)


def cycles(*ids: int) -> list[dict]:
    return [rec.cycle(i, f"2024-01-0{1 + i % 2}T06:00:00.000Z", end="2024-01-02T06:00:00.000Z") for i in ids]


@pytest.fixture
def stub():
    with run_stub() as server:
        yield server


def make_client(stub, **kwargs) -> WhoopClient:
    app = OAuthApp("stub-client", SECRET, "https://localhost/cb", oauth_base_url=stub.base_url)
    tokens = TokenSet(ACCESS, REFRESH, datetime.now(timezone.utc) + timedelta(hours=1), "offline")
    manager = TokenManager(app, MemoryTokenStore(tokens))
    options = {"backoff_factor": 0.01, "rate_limit_margin_s": 0.05, **kwargs}
    return WhoopClient(stub.base_url + "/developer", manager, **options)


# -- what every request carries ---------------------------------------------------------------


def test_requests_carry_the_user_agent_the_bearer_token_and_the_window(stub):
    stub.script(CYCLE_PATH, Scripted(payload={"records": cycles(1)}))
    with make_client(stub) as client:
        assert [r["id"] for r in client.iter_records("cycle", START, END)] == [1]
    (seen,) = stub.seen(CYCLE_PATH)
    assert seen.headers["user-agent"] == USER_AGENT
    assert seen.headers["authorization"] == f"Bearer {ACCESS}"
    assert seen.query == {"limit": "25", "start": "2024-01-01T00:00:00.000Z", "end": "2024-01-03T00:00:00.000Z"}


# -- payload validation -----------------------------------------------------------------------


def test_a_record_missing_a_required_field_is_a_payload_error_naming_it():
    broken = cycles(41)[0]
    del broken["score_state"]
    with run_stub() as stub:
        stub.script(CYCLE_PATH, Scripted(payload={"records": [*cycles(40), broken]}))
        with make_client(stub) as client, pytest.raises(WhoopPayloadError) as excinfo:
            list(client.iter_records("cycle", START, END))
    error = excinfo.value
    assert error.record_id == "41"
    assert error.endpoint == "cycle"
    assert "score_state" in str(error)
    assert "record_id=41" in str(error)
    assert "start=2024-01-01T00:00:00.000Z" in str(error)


def test_a_record_that_is_not_an_object_is_a_payload_error(stub):
    stub.script(CYCLE_PATH, Scripted(payload={"records": [42]}))
    with make_client(stub) as client, pytest.raises(WhoopPayloadError, match="endpoint=cycle"):
        list(client.iter_records("cycle"))


@pytest.mark.parametrize("payload", [[], {"data": []}, {"records": "none"}, {"records": [], "next_token": 7}], ids=str)
def test_a_page_not_an_object_with_a_records_list_is_a_payload_error(stub, payload):
    stub.script(CYCLE_PATH, Scripted(payload=payload))
    with make_client(stub) as client, pytest.raises(WhoopPayloadError, match="endpoint=cycle"):
        list(client.iter_pages("cycle"))


def test_a_single_object_missing_a_required_field_is_a_payload_error(stub):
    stub.script("/developer/v2/user/measurement/body", Scripted(payload={"height_meter": 1.8}))
    with make_client(stub) as client, pytest.raises(WhoopPayloadError, match="weight_kilogram"):
        client.get_object("body_measurement")


# -- paginators terminate ---------------------------------------------------------------------


def test_a_repeated_next_token_is_an_error_not_a_loop(stub):
    stub.script(
        CYCLE_PATH,
        Scripted(payload={"records": cycles(1), "next_token": "AAA"}),
        Scripted(payload={"records": cycles(2), "next_token": "AAA"}),
    )
    with make_client(stub) as client:
        pages = client.iter_pages("cycle", START, END)
        assert [r["id"] for r in next(pages)] == [1]
        # The page that repeats the token is not trusted either.
        with pytest.raises(WhoopPayloadError, match="repeated a next_token") as excinfo:
            next(pages)
    assert "nextToken=AAA" in str(excinfo.value)
    assert len(stub.seen(CYCLE_PATH)) == 2


def test_an_empty_page_still_carrying_a_next_token_is_an_error_not_a_loop(stub):
    stub.script(CYCLE_PATH, Scripted(payload={"records": [], "next_token": "BBB"}))
    with make_client(stub) as client, pytest.raises(WhoopPayloadError, match="empty page"):
        list(client.iter_records("cycle"))
    assert len(stub.seen(CYCLE_PATH)) == 1


def test_the_next_token_is_passed_back_as_next_token_query_parameter(stub):
    stub.script(
        CYCLE_PATH,
        Scripted(payload={"records": cycles(1), "next_token": "tok-1"}),
        Scripted(payload={"records": cycles(2), "next_token": ""}),
    )
    with make_client(stub) as client:
        assert [r["id"] for r in client.iter_records("cycle")] == [1, 2]
        assert client.stats.pages == 2
    assert [s.query.get("nextToken") for s in stub.seen(CYCLE_PATH)] == [None, "tok-1"]


# -- status codes -----------------------------------------------------------------------------


def test_a_403_is_an_auth_error_naming_the_missing_scope(stub):
    stub.script("/developer/v2/recovery", Scripted(403, {"error": "insufficient_scope"}))
    with make_client(stub) as client, pytest.raises(WhoopAuthError, match="read:recovery") as excinfo:
        list(client.iter_records("recovery"))
    assert excinfo.value.status == 403


def test_a_404_by_id_is_a_not_found_error(stub):
    with make_client(stub) as client, pytest.raises(WhoopNotFoundError) as excinfo:
        client.get_by_id("sleep", id="3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert excinfo.value.status == 404
    assert "3fa85f64-5717-4562-b3fc-2c963f66afa6" in str(excinfo.value)


def test_a_400_is_an_api_error_with_its_status_but_not_the_echoed_token(stub, caplog):
    caplog.set_level(logging.DEBUG)
    stub.script(CYCLE_PATH, Scripted(400, {"error": "invalid_request", "message": f"bad token {ACCESS} given"}))
    with make_client(stub) as client, pytest.raises(WhoopAPIError) as excinfo:
        list(client.iter_records("cycle"))
    assert excinfo.value.status == 400
    assert "invalid_request" in str(excinfo.value)
    assert ACCESS not in str(excinfo.value)
    assert not [r for r in caplog.records if ACCESS in r.getMessage()]


def test_ids_are_quoted_into_the_by_id_path(stub):
    stub.script("/developer/v2/cycle/7/recovery", Scripted(payload=rec.recovery(7, "abc")))
    with make_client(stub) as client:
        assert client.get_by_id("recovery", cycle_id=7)["sleep_id"] == "abc"
        with pytest.raises(ValueError, match="cycle_id"):
            client.get_by_id("recovery", id=7)


def test_the_body_measurement_gets_the_members_user_id_from_the_profile(stub):
    stub.script(
        "/developer/v2/user/measurement/body",
        Scripted(
            payload={
                "height_meter": 1.8,
                "weight_kilogram": 80.0,
                "max_heart_rate": 190,
            }
        ),
    )
    stub.script(
        "/developer/v2/user/profile/basic",
        Scripted(
            payload={
                "user_id": 10129,
                "email": "a@b.c",
                "first_name": "A",
                "last_name": "B",
            }
        ),
    )
    with make_client(stub) as client:
        assert client.get_object("body_measurement")["user_id"] == 10129
        client.get_object("body_measurement")
    assert len(stub.seen("/developer/v2/user/profile/basic")) == 1


def test_collections_and_single_objects_are_not_confused(stub):
    with make_client(stub) as client:
        with pytest.raises(ValueError, match="get_object"):
            list(client.iter_records("user_profile"))
        with pytest.raises(ValueError, match="iter_records"):
            client.get_object("cycle")
        with pytest.raises(KeyError, match="known"):
            list(client.iter_records("steps"))


def test_a_window_that_ends_before_it_starts_is_refused(stub):
    with make_client(stub) as client, pytest.raises(ValueError, match="before end"):
        list(client.iter_records("cycle", END, START))


# -- rate-limit headers -----------------------------------------------------------------------


def test_a_429_with_retry_after_waits_that_long_rather_than_the_reset(stub):
    stub.script(
        CYCLE_PATH,
        Scripted(429, {"error": "rate_limited"}, headers={"Retry-After": "1", "X-RateLimit-Reset": "30"}),
        Scripted(payload={"records": cycles(1)}),
    )
    started = time.monotonic()
    with make_client(stub) as client:
        assert len(list(client.iter_records("cycle"))) == 1
        stats = client.stats
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 5
    assert stats.rate_limited_responses == 1
    assert stats.rate_limit_waits == 1
    assert stats.rate_limit_wait_seconds >= 1.0


def test_consecutive_429s_beyond_the_budget_are_a_rate_limit_error(stub):
    stub.script(CYCLE_PATH, Scripted(429, {"error": "rate_limited"}, headers={"X-RateLimit-Reset": "0"}))
    with make_client(stub, max_rate_limit_retries=2) as client, pytest.raises(WhoopRateLimitError) as excinfo:
        list(client.iter_records("cycle"))
    assert excinfo.value.status == 429
    assert len(stub.seen(CYCLE_PATH)) == 3


def test_a_429_resetting_tomorrow_fails_at_once_instead_of_sleeping_hours(stub):
    stub.script(CYCLE_PATH, Scripted(429, {"error": "rate_limited"}, headers={"X-RateLimit-Reset": "50000"}))
    started = time.monotonic()
    with make_client(stub) as client, pytest.raises(WhoopRateLimitError, match="daily"):
        list(client.iter_records("cycle"))
    assert time.monotonic() - started < 2


def test_remaining_zero_makes_the_next_request_wait_for_the_reset(stub):
    stub.script(
        CYCLE_PATH,
        Scripted(
            payload={"records": cycles(1), "next_token": "t"},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        ),
        Scripted(payload={"records": cycles(2)}, headers={"X-RateLimit-Remaining": "99"}),
    )
    with make_client(stub) as client:
        assert [r["id"] for r in client.iter_records("cycle")] == [1, 2]
        assert client.stats.rate_limit_waits == 1
        assert client.stats.rate_limit_wait_seconds >= 1.0
    first, second = stub.seen(CYCLE_PATH)
    assert second.query["nextToken"] == "t"
    assert second.at - first.at >= 1.0


# -- token endpoint errors --------------------------------------------------------------------


def test_a_refresh_rejected_with_an_unchanged_store_says_to_run_auth(stub):
    stub.script(TOKEN_PATH, Scripted(400, {"error": "invalid_grant", "error_description": f"token {REFRESH} used"}))
    app = OAuthApp("stub-client", SECRET, "https://localhost/cb", oauth_base_url=stub.base_url)
    manager = TokenManager(app, MemoryTokenStore(seed_refresh_token=REFRESH))
    with pytest.raises(WhoopAuthError, match="whoop-dagster auth") as excinfo:
        manager.access_token()
    assert REFRESH not in str(excinfo.value)
    assert REFRESH not in str(excinfo.value.__cause__)
    (seen,) = stub.seen(TOKEN_PATH)
    assert seen.form == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "stub-client",
        "client_secret": SECRET,
        "scope": "offline",
    }


def test_rejected_client_credentials_are_an_auth_error_without_the_secret(stub):
    stub.script(TOKEN_PATH, Scripted(401, {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}))
    app = OAuthApp("stub-client", SECRET, "https://localhost/cb", oauth_base_url=stub.base_url)
    with pytest.raises(WhoopAuthError, match="WHOOP_CLIENT_SECRET") as excinfo:
        app.refresh(REFRESH)
    assert SECRET not in str(excinfo.value)


def test_an_exchange_without_a_refresh_token_says_offline_was_not_granted(stub):
    stub.script(TOKEN_PATH, Scripted(payload={"access_token": "a" * 40, "expires_in": 3600, "scope": "read:cycles"}))
    app = OAuthApp("stub-client", SECRET, "https://localhost/cb", oauth_base_url=stub.base_url)
    with pytest.raises(WhoopAuthError, match="offline"):
        app.exchange_code("the-code")

"""The client against the WHOOP API emulator over real HTTP: reads, pagination, faults, rate limits."""

from __future__ import annotations

import math
import threading
import time
from datetime import timedelta

import pytest

from whoop_dagster.whoop_api.client import MAX_REFRESHES_PER_REQUEST
from whoop_dagster.whoop_api.endpoints import CYCLE, MAX_PAGE_SIZE
from whoop_dagster.whoop_api.errors import WhoopAPIError, WhoopAuthError, WhoopPayloadError, WhoopRateLimitError
from whoop_dagster.whoop_api.rate_limit import RateLimiter
from whoop_dagster_tests.whoop_api.emulated import (
    COLLECTIONS,
    client_for,
    expected_in_window,
    parse,
    window_with,
)


def data_requests(emu, status: int | None = None) -> list:
    return [e for e in emu.request_log if e.path.startswith("/developer/") and (status is None or e.status == status)]


# -- reads equal the truth --------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", COLLECTIONS)
def test_every_collection_read_in_full_equals_the_emulator_truth(start_emulator, endpoint):
    emu = start_emulator(days=50)
    with client_for(emu) as client:
        records = list(client.iter_records(endpoint))
        stats = client.stats
    truth = emu.dataset.records(endpoint)
    assert len(truth) > MAX_PAGE_SIZE  # several pages
    assert records == truth
    assert stats.records == len(truth)
    assert stats.pages == math.ceil(len(truth) / MAX_PAGE_SIZE)


@pytest.mark.parametrize("endpoint", COLLECTIONS)
def test_each_collection_read_by_window_returns_the_records_overlapping_it(emu, endpoint):
    now = emu.now()
    windows = [
        (now - timedelta(days=3), now - timedelta(days=2)),  # one day
        (now - timedelta(days=12, hours=7), now - timedelta(days=1, hours=3)),  # several pages
        (now - timedelta(days=2), None),  # open end: until now
    ]
    with client_for(emu) as client:
        for start, end in windows:
            expected = expected_in_window(emu, endpoint, start, end)
            assert expected, "each window should hold records"
            assert list(client.iter_records(endpoint, start, end)) == expected


def test_a_record_is_in_each_day_window_it_touches_and_kept_on_its_start(emu):
    now = emu.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days_seen: dict[int, list] = {}
    kept: list[int] = []
    with client_for(emu) as client:
        for back in range(32, -1, -1):
            day_start = midnight - timedelta(days=back)
            for record in client.iter_records("cycle", day_start, day_start + timedelta(days=1)):
                days_seen.setdefault(record["id"], []).append(day_start.date())
                if parse(record["start"]).date() == day_start.date():
                    kept.append(record["id"])
    truth = emu.dataset.records("cycle")
    assert sorted(kept) == sorted(r["id"] for r in truth)
    for record in truth:
        first, last = parse(record["start"]).date(), parse(record.get("end") or now.isoformat()).date()
        assert len(days_seen[record["id"]]) == (last - first).days + 1
    assert any(len(days) > 1 for days in days_seen.values())


def test_the_profile_and_the_body_measurement_equal_the_truth(emu):
    with client_for(emu) as client:
        profile = client.get_object("user_profile")
        body = client.get_object("body_measurement")
    assert profile == emu.dataset.profile()
    assert body == {**emu.dataset.body(), "user_id": profile["user_id"]}


def test_records_read_by_id_equal_the_truth(emu):
    cycle = emu.dataset.records("cycle")[3]
    sleep = emu.dataset.records("sleep")[3]
    workout = emu.dataset.records("workout")[0]
    recovery = emu.dataset.records("recovery")[3]
    with client_for(emu) as client:
        assert client.get_by_id(CYCLE, id=cycle["id"]) == cycle
        assert client.get_by_id("sleep", id=sleep["id"]) == sleep
        assert client.get_by_id("workout", id=workout["id"]) == workout
        assert client.get_by_id("recovery", cycle_id=recovery["cycle_id"]) == recovery


# -- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("last_page_token", ["absent", "null", "empty"])
def test_0_1_25_and_26_records_paginate_exactly_in_each_last_page_style(start_emulator, last_page_token):
    emu = start_emulator(days=40, last_page_token=last_page_token)
    with client_for(emu) as client:
        for count in (0, 1, 25, 26):
            start, end = window_with(emu, count)
            before = len(data_requests(emu))
            pages = list(client.iter_pages("cycle", start, end))
            assert [r for page in pages for r in page] == expected_in_window(emu, "cycle", start, end)
            assert [len(page) for page in pages] == {0: [], 1: [1], 25: [25], 26: [25, 1]}[count]
            assert len(data_requests(emu)) - before == max(1, math.ceil(count / MAX_PAGE_SIZE))
    assert {e.query["limit"] for e in data_requests(emu)} == {"25"}


def test_iter_records_is_lazy_and_reads_one_page_at_a_time(emu):
    with client_for(emu) as client:
        records = client.iter_records("cycle")
        next(records)
        assert len(data_requests(emu)) == 1
        for _ in range(MAX_PAGE_SIZE):
            next(records)
        assert len(data_requests(emu)) == 2


# -- retries ----------------------------------------------------------------------------------


def test_retried_server_errors_mid_pagination_lose_and_duplicate_no_record(emu):
    emu.faults.add("server_error", path="/v2/cycle", after=1, times=2, status=503)
    with client_for(emu) as client:
        records = list(client.iter_records("cycle"))
        stats = client.stats
    assert records == emu.dataset.records("cycle")
    assert len({r["id"] for r in records}) == len(records)
    assert len(data_requests(emu, 503)) == 2
    assert stats.retries == 2


def test_server_errors_that_persist_end_in_an_api_error_with_the_status(emu):
    emu.faults.add("server_error", path="/v2/activity/workout", times=None, status=502)
    with client_for(emu, max_retries=2) as client, pytest.raises(WhoopAPIError) as excinfo:
        list(client.iter_records("workout"))
    assert excinfo.value.status == 502
    assert "endpoint=workout" in str(excinfo.value)
    assert len(data_requests(emu, 502)) == 3


def test_a_read_timeout_is_retried_and_the_read_completes(emu):
    emu.faults.add("slow", path="/v2/activity/sleep", after=1, times=1, seconds=1.5)
    with client_for(emu, timeout=(2.0, 0.4)) as client:
        records = list(client.iter_records("sleep"))
        assert client.stats.retries == 1
    assert records == emu.dataset.records("sleep")


def test_an_unreachable_api_is_an_api_error_from_the_connection_error(emu):
    with client_for(emu, max_retries=1) as client:
        client.tokens.access_token()
        emu.stop()
        with pytest.raises(WhoopAPIError, match="unreachable") as excinfo:
            client.get_object("user_profile")
    assert excinfo.value.__cause__ is not None


@pytest.mark.parametrize("kind", ["malformed_json", "truncated"])
def test_a_transiently_unreadable_body_is_read_again(emu, kind):
    emu.faults.add(kind, path="/v2/recovery", after=1, times=1)
    with client_for(emu) as client:
        records = list(client.iter_records("recovery"))
        assert client.stats.retries == 1
    assert records == emu.dataset.records("recovery")


@pytest.mark.parametrize("kind", ["malformed_json", "truncated"])
def test_an_always_unreadable_body_is_a_payload_error_naming_the_endpoint(emu, kind):
    emu.faults.add(kind, path="/v2/activity/sleep", times=None)
    with client_for(emu, max_payload_retries=2) as client, pytest.raises(WhoopPayloadError) as excinfo:
        list(client.iter_records("sleep"))
    assert excinfo.value.endpoint == "sleep"
    assert "endpoint=sleep" in str(excinfo.value)
    assert len(data_requests(emu)) == 3


# -- tokens -----------------------------------------------------------------------------------


def test_a_401_refreshes_the_token_once_and_the_read_succeeds(emu):
    with client_for(emu) as client:
        client.get_object("user_profile")
        emu.faults.add("expired_token", path="/v2/cycle", times=1)
        records = list(client.iter_records("cycle"))
        assert client.stats.token_refreshes == 2  # the first token, then the 401
    assert records == emu.dataset.records("cycle")
    assert emu.stats()["tokens"]["rejected"] == 0


def test_a_token_revoked_again_after_the_refresh_gets_one_more(emu):
    with client_for(emu) as client:
        client.get_object("user_profile")
        emu.faults.add("expired_token", path="/v2/cycle", times=2)
        records = list(client.iter_records("cycle"))
        assert client.stats.token_refreshes == 3  # the first token, then each 401
    assert records == emu.dataset.records("cycle")


def test_401s_after_refreshing_twice_are_an_auth_error(emu):
    emu.faults.add("expired_token", path="/v2/cycle", times=None)
    with client_for(emu) as client, pytest.raises(WhoopAuthError, match="401") as excinfo:
        list(client.iter_records("cycle"))
    assert excinfo.value.status == 401
    assert len(data_requests(emu, 401)) == 1 + MAX_REFRESHES_PER_REQUEST


def test_a_missing_scope_is_an_auth_error_naming_it(emu):
    from whoop_dagster.whoop_api.token_store import MemoryTokenStore

    seed = emu.issue_refresh_token(scopes=("read:cycles", "offline"))
    with client_for(emu, MemoryTokenStore(seed_refresh_token=seed)) as client:
        assert list(client.iter_records("cycle"))
        with pytest.raises(WhoopAuthError, match="read:sleep") as excinfo:
            list(client.iter_records("sleep"))
    assert excinfo.value.status == 403


def test_revoking_access_makes_the_next_call_ask_for_a_new_authorization(emu):
    with client_for(emu) as client:
        client.get_object("user_profile")
        client.revoke_access()
        with pytest.raises(WhoopAuthError, match="whoop-dagster auth"):
            client.get_object("user_profile")


# -- rate limits ------------------------------------------------------------------------------


def test_a_429_burst_makes_all_threads_await_the_reset_with_no_second_429(start_emulator):
    emu = start_emulator(retry_after_header=True)
    emu.faults.add("rate_limit", path="/v2/", after=3, times=1, reset=1)
    results: dict[str, list] = {}
    with client_for(emu, rate_limit_margin_s=0.2) as client:

        def read(endpoint: str) -> None:
            results[endpoint] = list(client.iter_records(endpoint))

        threads = [threading.Thread(target=read, args=(name,)) for name in COLLECTIONS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = client.stats
    for name in COLLECTIONS:
        assert results[name] == emu.dataset.records(name)
    assert emu.stats()["rate_limited"] == 1
    assert stats.rate_limited_responses == 1
    assert stats.rate_limit_waits >= 1
    assert stats.rate_limit_wait_seconds >= 1.0
    # Once the 429 was answered nothing new was sent until the reset (1 s); only requests
    # already in flight from the other threads may finish just after it.
    (limited,) = data_requests(emu, 429)
    quiet_from, quiet_until = limited.timestamp + timedelta(seconds=0.25), limited.timestamp + timedelta(seconds=1)
    assert [e for e in data_requests(emu) if quiet_from < e.timestamp < quiet_until] == []


def test_a_429_without_retry_after_waits_for_the_reset_header(start_emulator):
    emu = start_emulator(retry_after_header=False)
    emu.faults.add("rate_limit", path="/v2/cycle", times=1, reset=1)
    started = time.monotonic()
    with client_for(emu) as client:
        assert list(client.iter_records("cycle")) == emu.dataset.records("cycle")
    assert time.monotonic() - started >= 1.0
    assert emu.stats()["rate_limited"] == 1


def test_a_client_under_the_emulators_limit_paces_requests_and_sees_no_429(start_emulator):
    emu = start_emulator(rate_limit_per_minute=20)
    limiter = RateLimiter(5, window_s=0.5, margin_s=0.0)
    started = time.monotonic()
    with client_for(emu, rate_limiter=limiter) as client:
        for _ in range(15):
            client.get_object("user_profile")
        stats = client.stats
    assert time.monotonic() - started >= 1.0  # 15 requests at 5 per 0.5 s need two full windows
    assert stats.rate_limit_waits >= 2
    assert emu.stats()["rate_limited"] == 0


def test_a_client_at_the_emulators_limit_stops_before_provoking_a_429(start_emulator):
    emu = start_emulator(rate_limit_per_minute=20)
    with client_for(emu, requests_per_minute=20, max_rate_limit_wait_s=0.5) as client:
        client.tokens.access_token()
        for _ in range(20):
            client.get_object("user_profile")
        # The 20th answer said `X-RateLimit-Remaining: 0`: the client must wait for the reset
        # (longer than this test allows), so it refuses instead of sending a request.
        with pytest.raises(WhoopRateLimitError, match="resets in"):
            client.get_object("user_profile")
    assert emu.stats()["rate_limited"] == 0
    assert len(data_requests(emu)) == 20


def test_a_401_after_refreshing_uses_the_pair_another_process_just_rotated(emu, tmp_path):
    # Found by the fault campaign (seed 14 of `make faults`): another process rotated right after
    # our refresh, which revoked the access token we had just got; the store holds its pair.
    from whoop_dagster.whoop_api.token_store import FileTokenStore
    from whoop_dagster_tests.whoop_api.emulated import token_manager

    path = tmp_path / "tokens.json"
    ours = token_manager(emu, FileTokenStore(path, seed_refresh_token=emu.issue_refresh_token()))
    theirs = token_manager(emu, FileTokenStore(path))
    emu.faults.on_request(emu.expire_access_tokens, path="/v2/cycle")  # our 1st read: 401, we refresh
    emu.faults.on_request(lambda: theirs.force_refresh(theirs.access_token()), path="/v2/cycle", after=1)
    with client_for(emu, tokens=ours) as client:
        records = list(client.iter_records("cycle"))
    assert records == emu.dataset.records("cycle")
    assert len(data_requests(emu, 401)) == 2
    assert emu.stats()["tokens"]["rejected"] == 0

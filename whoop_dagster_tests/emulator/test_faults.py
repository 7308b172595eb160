"""Fault injection: every kind, and when faults fire."""

from __future__ import annotations

import json
import time

import pytest
import requests

from whoop_dagster_tests.emulator.conftest import TIMEOUT_S


@pytest.fixture
def emu(make_emulator):
    return make_emulator(days=5)


@pytest.fixture
def client(emu, make_client):
    return make_client(emu)


def test_a_rate_limit_fault_answers_429_with_its_reset_value(emu, client):
    emu.faults.add("rate_limit", reset=7)
    refused = client.get("/v2/cycle")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == "7"
    assert "Retry-After" not in refused.headers
    assert client.get("/v2/cycle").status_code == 200
    assert emu.stats()["rate_limited"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_fault_answers_its_status(emu, client, status):
    emu.faults.add("server_error", status=status)
    assert client.get("/v2/activity/sleep").status_code == status
    assert client.get("/v2/activity/sleep").status_code == 200


def test_a_slow_fault_makes_a_client_time_out_and_then_answers_normally(emu, client):
    emu.faults.add("slow", seconds=1.0, times=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.session.get(emu.api_base_url + "/v2/cycle", timeout=0.2)
    started = time.perf_counter()
    assert client.get("/v2/cycle").status_code == 200
    assert time.perf_counter() - started >= 0.9


def test_a_malformed_json_fault_answers_200_with_a_body_that_is_not_json(emu, client):
    emu.faults.add("malformed_json")
    response = client.get("/v2/cycle")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_a_truncated_fault_breaks_the_read_mid_body(emu, client):
    emu.faults.add("truncated")
    # requests reports the short read as IncompleteRead wrapped in ChunkedEncodingError.
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        client.get("/v2/cycle")
    assert client.get("/v2/cycle").status_code == 200


def test_an_expired_token_fault_answers_401_while_the_token_stays_valid(emu, client):
    emu.faults.add("expired_token")
    response = client.get("/v2/cycle")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert client.get("/v2/cycle").status_code == 200


def test_a_fault_fires_the_given_times_after_the_given_matching_requests(emu, client):
    emu.faults.add("server_error", status=503, after=2, times=3)
    statuses = [client.get("/v2/cycle").status_code for _ in range(7)]
    assert statuses == [200, 200, 503, 503, 503, 200, 200]


def test_a_fault_with_times_none_fires_until_cleared(emu, client):
    emu.faults.add("server_error", times=None)
    assert [client.get("/v2/cycle").status_code for _ in range(3)] == [500, 500, 500]
    emu.faults.clear()
    assert client.get("/v2/cycle").status_code == 200


def test_a_fault_matches_only_requests_whose_path_contains_its_path(emu, client):
    emu.faults.add("server_error", path="/v2/recovery")
    assert client.get("/v2/cycle").status_code == 200
    assert client.get("/v2/recovery").status_code == 500
    assert emu.faults.list()[0]["seen"] == 1


def test_a_fault_can_target_the_token_endpoint(emu):
    emu.faults.add("server_error", path="/oauth/oauth2/token", status=502)
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": emu.client_id}
    response = requests.post(emu.oauth_base_url + "/oauth/oauth2/token", data=form, timeout=TIMEOUT_S)
    assert response.status_code == 502


def test_faults_can_be_listed_removed_and_cleared(emu):
    first = emu.faults.add("slow", seconds=0.1)
    emu.faults.add("truncated", path="/v2/cycle", times=None)
    listed = emu.faults.list()
    assert [(f["kind"], f["path"], f["times"]) for f in listed] == [
        ("slow", "/v2/", 1),
        ("truncated", "/v2/cycle", None),
    ]
    assert listed[0]["options"] == {"seconds": 0.1}
    emu.faults.remove(first.id)
    assert [f["kind"] for f in emu.faults.list()] == ["truncated"]
    emu.faults.clear()
    assert emu.faults.list() == []


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("earthquake", {}, "unknown fault kind"),
        ("slow", {"status": 500}, "takes no option"),
        ("server_error", {"status": 404}, "5xx"),
        ("rate_limit", {"times": 0}, "times"),
    ],
)
def test_unknown_fault_kinds_and_options_are_rejected(emu, kind, options, message):
    with pytest.raises(ValueError, match=message):
        emu.faults.add(kind, **options)


def test_faults_fired_are_counted_by_kind(emu, client):
    emu.faults.add("server_error", times=2)
    emu.faults.add("expired_token", after=2)
    for _ in range(4):
        client.get("/v2/cycle")
    assert emu.stats()["faults_fired"] == {"expired_token": 1, "server_error": 2}
    assert [e.fault for e in emu.request_log if e.path.endswith("/v2/cycle")] == [
        "server_error",
        "server_error",
        "expired_token",
        None,
    ]


def test_a_request_hook_runs_on_its_request_before_the_token_is_checked(emu, client):
    hook = emu.faults.on_request(emu.expire_access_tokens, path="/v2/cycle", after=1)
    statuses = [client.get("/v2/cycle").status_code for _ in range(2)]
    client.get("/v2/activity/sleep")  # another path: not counted
    assert statuses == [200, 401]  # the second request met the tokens its hook had just expired
    assert hook.fired.is_set()
    assert emu.faults.hooks() == [{"id": hook.id, "path": "/v2/cycle", "after": 1, "seen": 2, "fired": True}]


def test_a_request_hook_runs_once_and_what_it_raises_is_kept_not_answered(emu, client):
    calls = []

    def failing_action():
        calls.append(1)
        raise RuntimeError("boom")

    hook = emu.faults.on_request(failing_action)
    assert [client.get("/v2/cycle").status_code for _ in range(3)] == [200, 200, 200]
    assert calls == [1]
    assert isinstance(hook.error, RuntimeError)
    emu.faults.clear()
    assert emu.faults.hooks() == []

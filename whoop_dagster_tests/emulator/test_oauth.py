"""The emulator's OAuth server: authorization codes, state, rotating refresh tokens, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from whoop_dagster.emulator import EmulatorError
from whoop_dagster.whoop_api.endpoints import ALL_SCOPES
from whoop_dagster_tests.emulator.conftest import TIMEOUT_S


def _authorize(emu, **overrides: Any) -> requests.Response:
    params = {
        "client_id": emu.client_id,
        "redirect_uri": emu.redirect_uri,
        "response_type": "code",
        "scope": " ".join(ALL_SCOPES),
        "state": "s3cr3t-state",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return requests.get(emu.oauth_base_url + "/oauth/oauth2/auth", params=params, allow_redirects=False, timeout=5)


def _redirect_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def _token(emu, **form: str) -> requests.Response:
    body = {"client_id": emu.client_id, "client_secret": emu.client_secret, **form}
    return requests.post(emu.oauth_base_url + "/oauth/oauth2/token", data=body, timeout=TIMEOUT_S)


def _exchange(emu, code: str) -> requests.Response:
    return _token(emu, grant_type="authorization_code", code=code, redirect_uri=emu.redirect_uri)


def _refresh(emu, refresh_token: str) -> requests.Response:
    return _token(emu, grant_type="refresh_token", refresh_token=refresh_token, scope="offline")


def _cycle_status(emu, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(emu.api_base_url + "/v2/cycle", headers=headers, timeout=TIMEOUT_S).status_code


def test_the_authorization_redirect_carries_a_code_and_echoes_the_state(make_emulator):
    emu = make_emulator(days=3)
    response = _authorize(emu, state="exactly8")
    assert response.headers["Location"].startswith(emu.redirect_uri + "?")
    query = _redirect_query(response)
    assert query["state"] == "exactly8"
    assert query["code"]


def test_the_code_exchange_returns_bearer_access_and_refresh_tokens(make_emulator):
    emu = make_emulator(days=3, access_token_ttl_s=1800)
    tokens = _exchange(emu, _redirect_query(_authorize(emu))["code"]).json()
    assert set(tokens) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 1800
    assert set(tokens["scope"].split()) == set(ALL_SCOPES)
    assert _cycle_status(emu, tokens["access_token"]) == 200


@pytest.mark.parametrize("state", [None, "", "short", "seven77"])
def test_a_state_shorter_than_eight_characters_is_rejected(make_emulator, state):
    emu = make_emulator(days=3)
    query = _redirect_query(_authorize(emu, state=state))
    assert query["error"] == "invalid_state"
    assert "code" not in query


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/callback"}, {"redirect_uri": None}],
)
def test_a_wrong_client_or_redirect_uri_is_rejected_without_redirecting(make_emulator, overrides):
    emu = make_emulator(days=3)
    response = _authorize(emu, **overrides)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_an_unknown_scope_or_response_type_is_reported_via_the_redirect(make_emulator):
    emu = make_emulator(days=3)
    assert _redirect_query(_authorize(emu, scope="read:everything"))["error"] == "invalid_scope"
    assert _redirect_query(_authorize(emu, response_type="token"))["error"] == "unsupported_response_type"


def test_an_authorization_code_works_only_once(make_emulator):
    emu = make_emulator(days=3)
    code = _redirect_query(_authorize(emu))["code"]
    assert _exchange(emu, code).status_code == 200
    second = _exchange(emu, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_an_authorization_code_expires(make_emulator):
    emu = make_emulator(days=3, auth_code_ttl_s=60)
    code = _redirect_query(_authorize(emu))["code"]
    emu.advance(timedelta(seconds=61))
    assert _exchange(emu, code).json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_rejected(make_emulator):
    emu = make_emulator(days=3)
    code = _redirect_query(_authorize(emu))["code"]
    response = _token(emu, grant_type="authorization_code", code=code, client_secret="guess")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_credentials_may_also_come_as_http_basic(make_emulator):
    emu = make_emulator(days=3)
    code = _redirect_query(_authorize(emu))["code"]
    response = requests.post(
        emu.oauth_base_url + "/oauth/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": emu.redirect_uri},
        auth=(emu.client_id, emu.client_secret),
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200


def test_refreshing_rotates_the_refresh_token_and_the_old_one_is_rejected(make_emulator):
    emu = make_emulator(days=3)
    first = emu.issue_refresh_token()
    rotated = _refresh(emu, first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    reused = _refresh(emu, first)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert _refresh(emu, second).status_code == 200


def test_refreshing_invalidates_the_access_token_of_the_old_pair(make_emulator):
    emu = make_emulator(days=3)
    tokens = emu.authorize()
    new = _refresh(emu, tokens["refresh_token"]).json()
    assert _cycle_status(emu, tokens["access_token"]) == 401
    assert _cycle_status(emu, new["access_token"]) == 200


def test_concurrent_refreshes_with_the_same_token_let_exactly_one_win(make_emulator):
    emu = make_emulator(days=3)
    token = emu.issue_refresh_token()
    contenders = 8
    barrier = threading.Barrier(contenders)
    statuses: list[int] = []

    def refresh() -> None:
        barrier.wait()
        statuses.append(_refresh(emu, token).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200] + [400] * (contenders - 1)


def test_reusing_a_spent_token_revokes_its_successors_when_configured(make_emulator):
    emu = make_emulator(days=3, refresh_token_reuse_revokes_family=True)
    first = emu.issue_refresh_token()
    successor = _refresh(emu, first).json()
    assert _refresh(emu, first).status_code == 400
    assert _refresh(emu, successor["refresh_token"]).status_code == 400
    assert _cycle_status(emu, successor["access_token"]) == 401


def test_no_refresh_token_is_issued_without_the_offline_scope(make_emulator):
    emu = make_emulator(days=3)
    tokens = emu.authorize(scopes=["read:cycles"])
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "read:cycles"
    with pytest.raises(EmulatorError, match="offline"):
        emu.issue_refresh_token(scopes=["read:cycles"])


def test_a_refresh_cannot_widen_the_granted_scopes(make_emulator):
    emu = make_emulator(days=3)
    token = emu.issue_refresh_token(scopes=["read:cycles", "offline"])
    response = _token(emu, grant_type="refresh_token", refresh_token=token, scope="offline read:recovery")
    assert response.json()["error"] == "invalid_scope"


def test_access_tokens_expire_on_the_emulator_clock(make_emulator):
    emu = make_emulator(days=3, access_token_ttl_s=3600)
    tokens = emu.authorize()
    emu.advance(timedelta(seconds=3599))
    assert _cycle_status(emu, tokens["access_token"]) == 200
    emu.advance(timedelta(seconds=1))
    assert _cycle_status(emu, tokens["access_token"]) == 401
    assert _refresh(emu, tokens["refresh_token"]).status_code == 200


def test_refresh_tokens_expire_when_a_lifetime_is_configured(make_emulator):
    emu = make_emulator(days=3, refresh_token_ttl_s=86_400)
    token = emu.issue_refresh_token()
    emu.advance(timedelta(days=2))
    assert _refresh(emu, token).json()["error"] == "invalid_grant"


def test_expire_access_tokens_makes_every_issued_access_token_401(make_emulator):
    emu = make_emulator(days=3)
    one, two = emu.authorize(), emu.authorize()
    emu.expire_access_tokens()
    assert _cycle_status(emu, one["access_token"]) == 401
    assert _cycle_status(emu, two["access_token"]) == 401
    assert _cycle_status(emu, _refresh(emu, one["refresh_token"]).json()["access_token"]) == 200


def test_an_unsupported_grant_type_is_rejected(make_emulator):
    emu = make_emulator(days=3)
    assert _token(emu, grant_type="password").json()["error"] == "unsupported_grant_type"


def test_token_counters_count_issued_refreshed_and_rejected_tokens(make_emulator):
    emu = make_emulator(days=3)
    token = emu.issue_refresh_token()
    _refresh(emu, token)
    _refresh(emu, token)
    _cycle_status(emu, "nonsense")
    assert emu.stats()["tokens"] == {"issued": 2, "refreshed": 1, "rejected": 1, "access_rejected": 1}

"""Pure parts of the OAuth app: the authorization URL, the state, and what repr shows."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.endpoints import ALL_SCOPES
from whoop_dagster.whoop_api.errors import WhoopAuthError
from whoop_dagster.whoop_api.token_store import MemoryTokenStore

APP = OAuthApp("my-client", "my-very-secret-secret", "https://localhost:8976/callback")


def test_the_authorization_url_asks_for_a_code_with_every_scope_and_state():
    url = urlsplit(APP.authorization_url("state-1234"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://api.prod.whoop.com/oauth/oauth2/auth"
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query == {
        "client_id": "my-client",
        "redirect_uri": "https://localhost:8976/callback",
        "response_type": "code",
        "scope": " ".join(ALL_SCOPES),
        "state": "state-1234",
    }
    assert "offline" in query["scope"].split()


def test_the_authorization_url_follows_the_oauth_base_url():
    app = OAuthApp("c", "s", "https://localhost/cb", oauth_base_url="http://127.0.0.1:9999/")
    assert app.authorization_url("abcdefgh").startswith("http://127.0.0.1:9999/oauth/oauth2/auth?")


def test_a_state_shorter_than_eight_characters_is_refused():
    with pytest.raises(ValueError, match="at least 8"):
        APP.authorization_url("short")


def test_new_states_are_random_url_safe_and_long_enough():
    states = {OAuthApp.new_state() for _ in range(50)}
    assert len(states) == 50
    for state in states:
        assert len(state) >= 8
        assert all(c.isalnum() or c in "-_" for c in state)


def test_a_matching_state_verifies():
    OAuthApp.verify_state("abcdefgh123", "abcdefgh123")


@pytest.mark.parametrize("received", ["abcdefgh124", "", None])
def test_a_different_or_missing_state_is_an_auth_error(received):
    with pytest.raises(WhoopAuthError, match="state mismatch"):
        OAuthApp.verify_state("abcdefgh123", received)


def test_the_app_repr_hides_the_client_secret():
    assert "my-very-secret-secret" not in repr(APP)
    assert "my-client" in repr(APP)


def test_a_token_manager_without_stored_tokens_asks_the_user_to_authorize():
    manager = TokenManager(APP, MemoryTokenStore())
    with pytest.raises(WhoopAuthError, match="whoop-dagster auth"):
        manager.access_token()


def test_the_rejection_grace_is_only_needed_without_an_exclusive_lock():
    assert TokenManager(APP, MemoryTokenStore()).rejection_grace_s == 0.0

    class LockFreeStore(MemoryTokenStore):
        exclusive_lock = False

    assert TokenManager(APP, LockFreeStore()).rejection_grace_s > 0

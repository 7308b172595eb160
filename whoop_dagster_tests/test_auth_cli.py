"""`whoop-dagster auth` against the emulator's real OAuth endpoints."""

import socket
import threading

import pytest
import requests

from whoop_dagster.auth_cli import code_from_redirect, run_auth
from whoop_dagster.whoop_api.errors import WhoopAuthError
from whoop_dagster.whoop_api.token_store import FileTokenStore


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_pasted_redirect_url_yields_its_code_when_the_state_matches():
    assert code_from_redirect("https://localhost:8765/callback?code=abc&state=s3cr3tstate", "s3cr3tstate") == "abc"


def test_a_pasted_redirect_url_with_another_state_is_rejected():
    with pytest.raises(WhoopAuthError, match="state mismatch"):
        code_from_redirect("https://localhost:8765/callback?code=abc&state=forged-state", "s3cr3tstate")


def test_a_bare_code_is_taken_as_is():
    assert code_from_redirect("  abc123 ", None) == "abc123"


@pytest.fixture
def oauth_env(monkeypatch, tmp_path):
    from whoop_dagster_tests.support.whoop import emulator

    port = _free_port()
    with emulator(days=5, redirect_uri=f"http://localhost:{port}/callback") as emu:
        for key, value in {
            "WHOOP_CLIENT_ID": emu.client_id,
            "WHOOP_CLIENT_SECRET": emu.client_secret,
            "WHOOP_REDIRECT_URI": emu.redirect_uri,
            "WHOOP_OAUTH_BASE_URL": emu.oauth_base_url,
            "WHOOP_API_BASE_URL": emu.api_base_url,
            "WHOOP_TOKEN_STORE": str(tmp_path / "tokens.json"),
            "WHOOP_DEPLOYMENT": "local",
        }.items():
            monkeypatch.setenv(key, value)
        yield emu, port, tmp_path / "tokens.json"


def _browser(url: str) -> None:
    """What the user's browser does: log in (the emulator approves), follow the redirect home."""

    def visit() -> None:
        approval = requests.get(url, allow_redirects=False, timeout=10)
        requests.get(approval.headers["Location"], timeout=10)

    threading.Thread(target=visit, daemon=True).start()


def test_the_loopback_flow_stores_tokens_and_reads_the_profile_name(oauth_env, capsys):
    emu, port, token_file = oauth_env
    assert run_auth(port=port, present=_browser) == 0
    stored = FileTokenStore(str(token_file)).load()
    assert stored is not None
    assert stored.refresh_token
    profile = emu.dataset.profile(0)
    out = capsys.readouterr().out
    assert f"Connected as {profile['first_name']} {profile['last_name']}" in out
    assert stored.refresh_token not in out
    assert stored.access_token not in out


def test_the_code_path_works_without_a_browser(oauth_env):
    emu, port, token_file = oauth_env
    approval = requests.get(
        f"{emu.oauth_base_url}/oauth/oauth2/auth",
        params={
            "client_id": emu.client_id,
            "redirect_uri": emu.redirect_uri,
            "response_type": "code",
            "scope": "read:profile offline",
            "state": "pasted-state-123",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert run_auth(port=port, code=approval.headers["Location"], state="pasted-state-123") == 0
    assert FileTokenStore(str(token_file)).load() is not None


def test_a_forged_redirect_is_refused_and_stores_nothing(oauth_env):
    _emu, port, token_file = oauth_env

    def forged(url: str) -> None:
        def visit() -> None:
            requests.get(f"http://127.0.0.1:{port}/callback?code=stolen&state=wrong-state", timeout=10)

        threading.Thread(target=visit, daemon=True).start()

    assert run_auth(port=port, present=forged) == 1
    assert not token_file.exists() or FileTokenStore(str(token_file)).load() is None

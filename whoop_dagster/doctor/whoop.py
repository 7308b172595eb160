"""Checks 2-4: WHOOP credentials, the token store, and one cheap WHOOP call (the profile).

In demo mode the built-in emulator stands in for WHOOP, as in a pipeline run.
"""

from __future__ import annotations

import os
import stat
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from whoop_dagster import environment
from whoop_dagster.doctor.report import CheckResult, failed, passed
from whoop_dagster.resources import DEFAULT_API_BASE_URL, DEFAULT_OAUTH_BASE_URL
from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.endpoints import USER_PROFILE
from whoop_dagster.whoop_api.errors import WhoopAPIError, WhoopAuthError, WhoopRefreshTokenRejectedError
from whoop_dagster.whoop_api.http import USER_AGENT, error_summary
from whoop_dagster.whoop_api.token_store import FileTokenStore, MemoryTokenStore, TokenSet, TokenStore

if TYPE_CHECKING:
    from whoop_dagster.emulator import Emulator
    from whoop_dagster.warehouse import WarehouseResource

CREDENTIALS = "WHOOP credentials"
TOKEN_STORE = "token store"  # noqa: S105 - a check name
API_CALL = "WHOOP API call"

REAUTHORIZE = "run `whoop-dagster auth` to authorize the app again"
APP_CREDENTIALS_FIX = "check WHOOP_CLIENT_ID and WHOOP_CLIENT_SECRET against the WHOOP developer dashboard"
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
#: A refresh token no server ever issued: the token endpoint checks the client credentials first
#: (401 invalid_client) and only then the grant (400 invalid_grant), so this tells a wrong client
#: secret from a good one without spending the member's real refresh token.
PROBE_REFRESH_TOKEN = "whoop-dagster-doctor-probe"  # noqa: S105 - deliberately not a token
CALL_TIMEOUT = (5.0, 15.0)


@dataclass
class WhoopSetup:
    """The OAuth app, token store and API root the pipeline would use in this environment."""

    app: OAuthApp
    store: TokenStore
    api_base_url: str
    demo: bool
    store_description: str
    secrets: tuple[str, ...] = ()
    #: The emulator serving demo mode (None otherwise).
    emulator: Emulator | None = None


def whoop_setup(stack: ExitStack, warehouse: WarehouseResource | None = None) -> WhoopSetup:
    """As the pipeline's WHOOP resource sets itself up; demo mode starts an emulator inside ``stack``."""
    if environment.is_demo_mode():
        from whoop_dagster.emulator import EmulatorConfig, run_emulator

        seed, days = int(os.getenv("WHOOP_DEMO_SEED", "7")), int(os.getenv("WHOOP_DEMO_DAYS", "730"))
        emulator = stack.enter_context(run_emulator(EmulatorConfig(seed=seed, days=days), port=0))
        app = OAuthApp(emulator.client_id, emulator.client_secret, emulator.redirect_uri, emulator.oauth_base_url)
        return WhoopSetup(
            app, MemoryTokenStore(), emulator.api_base_url, True, "in memory (demo mode)", emulator=emulator
        )
    client_id, client_secret = os.getenv("WHOOP_CLIENT_ID", ""), os.getenv("WHOOP_CLIENT_SECRET", "")
    app = OAuthApp(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=os.getenv("WHOOP_REDIRECT_URI", "https://localhost:8765/callback"),
        oauth_base_url=os.getenv("WHOOP_OAUTH_BASE_URL", DEFAULT_OAUTH_BASE_URL),
    )
    seed = os.getenv("WHOOP_REFRESH_TOKEN") or None
    if environment.current_deployment().uses_snowflake and warehouse is not None:
        from whoop_dagster.whoop_api.token_store import WarehouseTokenStore

        store: TokenStore = WarehouseTokenStore(
            connect=warehouse.dbapi_connection,
            schema="raw",
            app_key=client_id,
            paramstyle=warehouse.paramstyle,
            seed_refresh_token=seed,
        )
        description = f"warehouse table {store.table}"
    else:
        path = environment.token_store_path()
        store = FileTokenStore(path, seed_refresh_token=seed)
        description = f"file {path}"
    api = os.getenv("WHOOP_API_BASE_URL", DEFAULT_API_BASE_URL)
    return WhoopSetup(app, store, api, False, description, tuple(s for s in (client_secret, seed) if s))


def check_credentials(setup: WhoopSetup) -> CheckResult:
    """Demo mode: the emulator answers and grants tokens. Otherwise: the token endpoint accepts the app."""
    if setup.demo:
        try:
            refresh = setup.emulator.issue_refresh_token()
        except Exception as err:
            return failed(
                CREDENTIALS,
                "emulator_unavailable",
                f"the built-in emulator did not grant tokens ({type(err).__name__}: {err})",
                "run `whoop-dagster emulator` to see it start; report the error",
            )
        setup.store.save(_seeded(refresh))
        return passed(
            CREDENTIALS, f"demo mode: the built-in emulator at {setup.api_base_url} answers and granted tokens"
        )
    try:
        setup.app.refresh(PROBE_REFRESH_TOKEN)
    except WhoopRefreshTokenRejectedError:
        return passed(
            CREDENTIALS,
            f"WHOOP_CLIENT_ID and WHOOP_CLIENT_SECRET set; the token endpoint at {setup.app.oauth_base_url} "
            "accepts them",
        )
    except WhoopAuthError as err:
        return failed(CREDENTIALS, "client_credentials_rejected", f"{err}", APP_CREDENTIALS_FIX)
    except WhoopAPIError as err:
        return failed(
            CREDENTIALS,
            "oauth_unreachable",
            f"{err}",
            "check WHOOP_OAUTH_BASE_URL and the network; WHOOP's status page if it persists",
        )
    return failed(
        CREDENTIALS,
        "oauth_unexpected",
        "the token endpoint accepted a made-up refresh token",
        "check WHOOP_OAUTH_BASE_URL points at WHOOP",
    )


def _seeded(refresh_token: str) -> TokenSet:
    return TokenSet.from_refresh_token(refresh_token)


def check_token_store(setup: WhoopSetup) -> CheckResult:
    """The token store is readable, private (0600 for a file) and holds a refresh token."""
    if setup.demo:
        return passed(TOKEN_STORE, "demo mode: the emulator's tokens stay in memory; no token store is used")
    if isinstance(setup.store, FileTokenStore):
        path = setup.store.path
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                return failed(
                    TOKEN_STORE,
                    "token_store_permissions",
                    f"{path} has mode {mode:04o}: other users can read the WHOOP tokens",
                    f"chmod 600 {path}",
                )
    try:
        tokens = setup.store.load()
    except Exception as err:
        return failed(
            TOKEN_STORE,
            "token_store_unreadable",
            f"{setup.store_description}: {type(err).__name__}: {err}",
            REAUTHORIZE,
        )
    if tokens is None or not tokens.refresh_token:
        return failed(TOKEN_STORE, "no_refresh_token", f"{setup.store_description} holds no refresh token", REAUTHORIZE)
    if not tokens.access_token:
        return passed(TOKEN_STORE, f"{setup.store_description}: a refresh token (seeded; refreshed on first use)")
    state = "valid" if tokens.is_fresh() else "expired (refreshed on the next call)"
    return passed(
        TOKEN_STORE,
        f"{setup.store_description}: a refresh token, and an access token {state} until "
        f"{tokens.expires_at:%Y-%m-%d %H:%M} UTC",
    )


def check_api_call(setup: WhoopSetup) -> CheckResult:
    """One profile request, as the pipeline would make it: the status and the rate-limit headers it got back."""
    manager = TokenManager(setup.app, setup.store)
    try:
        token = manager.access_token()
    except WhoopAuthError as err:
        # The token manager re-raises a rejected refresh token (after checking no other process
        # rotated it meanwhile) as a WhoopAuthError caused by WhoopRefreshTokenRejectedError.
        if isinstance(err, WhoopRefreshTokenRejectedError) or isinstance(err.__cause__, WhoopRefreshTokenRejectedError):
            return failed(API_CALL, "refresh_token_rejected", f"{err}", REAUTHORIZE)
        if "client credentials" in str(err):
            return failed(API_CALL, "client_credentials_rejected", f"{err}", APP_CREDENTIALS_FIX)
        return failed(API_CALL, "no_access_token", f"{err}", REAUTHORIZE)
    except WhoopAPIError as err:
        return failed(API_CALL, "oauth_unreachable", f"{err}", "check WHOOP_OAUTH_BASE_URL and the network")
    url = f"{setup.api_base_url.rstrip('/')}{USER_PROFILE.path}"
    started = time.monotonic()
    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}, timeout=CALL_TIMEOUT
        )
    except requests.RequestException as err:
        return failed(
            API_CALL,
            "whoop_unreachable",
            f"GET {USER_PROFILE.path}: no answer ({type(err).__name__})",
            "check WHOOP_API_BASE_URL and the network",
        )
    elapsed = time.monotonic() - started
    limits = ", ".join(f"{name} {response.headers[name]}" for name in RATE_LIMIT_HEADERS if name in response.headers)
    limits = limits or "no rate-limit headers"
    summary = error_summary(response, (token, *setup.secrets))
    where = f"GET {USER_PROFILE.path} -> HTTP {response.status_code} in {elapsed:.2f} s; {limits}"
    if response.status_code == 200:
        return passed(API_CALL, where)
    detail = f"{where}{': ' + summary if summary else ''}"
    if response.status_code == 429:
        return failed(
            API_CALL, "rate_limited", detail, "wait for X-RateLimit-Reset seconds; lower WHOOP_REQUESTS_PER_MINUTE"
        )
    if response.status_code >= 500:
        return failed(
            API_CALL,
            "whoop_server_error",
            detail,
            "WHOOP's API is failing: try again later (runs retry 5xx themselves); WHOOP's status page",
        )
    if response.status_code in (401, 403):
        return failed(API_CALL, "access_denied", detail, REAUTHORIZE)
    return failed(API_CALL, "whoop_api_error", detail, "check WHOOP_API_BASE_URL (it should end in /developer)")

"""OAuth 2.0 for the WHOOP API: the authorization-code grant and single-flight token refresh."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import requests

from whoop_dagster.whoop_api.endpoints import ALL_SCOPES
from whoop_dagster.whoop_api.errors import (
    WhoopAPIError,
    WhoopAuthError,
    WhoopRefreshTokenRejectedError,
)
from whoop_dagster.whoop_api.http import DEFAULT_TIMEOUT, USER_AGENT, HookedRetry, build_session, error_summary
from whoop_dagster.whoop_api.token_store import TokenSet, TokenStore

logger = logging.getLogger(__name__)

DEFAULT_OAUTH_BASE_URL = "https://api.prod.whoop.com"
AUTHORIZE_PATH = "/oauth/oauth2/auth"
TOKEN_PATH = "/oauth/oauth2/token"  # noqa: S105 - a URL path, not a password

#: WHOOP's docs ask for a state of (at least) eight characters.
MIN_STATE_LENGTH = 8

REAUTHORIZE_HINT = "Run `whoop-dagster auth` to authorize the app again."


@dataclass(frozen=True)
class OAuthApp:
    """A registered WHOOP OAuth application. ``repr`` hides the client secret.

    Args:
        client_id, client_secret: from the WHOOP developer dashboard.
        redirect_uri: the redirect URI registered for the app.
        oauth_base_url: root of ``/oauth/oauth2/...`` (the emulator's address in demo mode).
        scopes: scopes to request; ``offline`` is needed for a refresh token.
        timeout: (connect, read) timeout of token requests, in seconds.
        user_agent: sent with every request.
    """

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL
    scopes: Sequence[str] = ALL_SCOPES
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    user_agent: str = USER_AGENT

    @property
    def token_url(self) -> str:
        return self.oauth_base_url.rstrip("/") + TOKEN_PATH

    def authorization_url(self, state: str) -> str:
        """Where to send the user to grant access; ``state`` comes back with the code."""
        if len(state) < MIN_STATE_LENGTH:
            raise ValueError(f"the OAuth state must be at least {MIN_STATE_LENGTH} characters long")
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": " ".join(self.scopes),
                "state": state,
            }
        )
        return f"{self.oauth_base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"

    @staticmethod
    def new_state() -> str:
        """A random, URL-safe state of 22 characters."""
        return secrets.token_urlsafe(16)

    @staticmethod
    def verify_state(expected: str, received: str | None) -> None:
        """Raise ``WhoopAuthError`` unless ``received`` equals ``expected`` (compared in constant time)."""
        if not received or not hmac.compare_digest(expected.encode(), received.encode()):
            raise WhoopAuthError("OAuth state mismatch: the redirect does not belong to this authorization request")

    def exchange_code(self, code: str) -> TokenSet:
        """Trade an authorization code for the first token pair."""
        payload = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
            grant="authorization_code",
            secrets=(code,),
        )
        if not payload.get("refresh_token"):
            raise WhoopAuthError(
                "WHOOP returned no refresh token: the `offline` scope was not granted. "
                "Authorize again and allow offline access."
            )
        return TokenSet.from_token_response(payload)

    def refresh(self, refresh_token: str) -> TokenSet:
        """Trade ``refresh_token`` for a new pair. The old refresh token stops working.

        Raises:
            WhoopRefreshTokenRejectedError: the token was already used or revoked.
            WhoopAuthError: the client credentials were rejected.
            WhoopAPIError: the token endpoint failed or could not be reached.
        """
        payload = self._token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": "offline",
            },
            grant="refresh_token",
            secrets=(refresh_token,),
        )
        # WHOOP always rotates; should a server ever keep the token, keep using the old one.
        payload.setdefault("refresh_token", refresh_token)
        return TokenSet.from_token_response(payload)

    def _token_request(self, form: dict[str, str], *, grant: str, secrets: Sequence[str]) -> dict[str, Any]:
        params = {"grant_type": grant}
        hidden = (*secrets, self.client_secret)
        # POSTs are retried only when the connection could not be made (nothing was sent).
        retry = HookedRetry(
            total=2, connect=2, read=0, status=0, other=0, allowed_methods=frozenset({"GET"}), backoff_factor=0.2
        )
        # A refresh that reached WHOOP has spent the old token even if its answer got lost.
        lost = " (if the next refresh is rejected, run `whoop-dagster auth`)" if grant == "refresh_token" else ""
        with build_session(retry, user_agent=self.user_agent, pool_maxsize=1) as session:
            try:
                response = session.post(self.token_url, data=form, timeout=self.timeout, stream=True)
                body = response.content
            except requests.RequestException as err:
                raise WhoopAPIError(
                    f"the WHOOP token endpoint could not be reached or did not answer ({type(err).__name__}){lost}",
                    endpoint="oauth/token",
                    params=params,
                ) from err
        if response.status_code >= 400:
            self._raise_for_token_error(response, grant=grant, params=params, hidden=hidden)
        try:
            payload = response.json() if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise WhoopAuthError(
                f"the WHOOP token endpoint answered without a readable access token{lost}",
                endpoint="oauth/token",
                params=params,
                status=response.status_code,
            )
        logger.debug("WHOOP token endpoint granted a new token pair (%s)", grant)
        return payload

    def _raise_for_token_error(
        self, response: requests.Response, *, grant: str, params: dict[str, str], hidden: Sequence[str]
    ) -> None:
        status = response.status_code
        summary = error_summary(response, hidden)
        try:
            error_code = str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            error_code = ""
        detail = f": {summary}" if summary else ""
        if error_code == "invalid_grant" or (grant == "refresh_token" and status in (400, 401) and not error_code):
            if grant == "refresh_token":
                raise WhoopRefreshTokenRejectedError(
                    f"WHOOP rejected the refresh token (already used or revoked){detail}",
                    endpoint="oauth/token",
                    params=params,
                    status=status,
                )
            raise WhoopAuthError(
                f"WHOOP rejected the authorization code (expired, already used, or another redirect URI){detail}",
                endpoint="oauth/token",
                params=params,
                status=status,
            )
        if error_code in ("invalid_client", "unauthorized_client") or status == 401:
            raise WhoopAuthError(
                f"WHOOP rejected the client credentials; check WHOOP_CLIENT_ID and WHOOP_CLIENT_SECRET{detail}",
                endpoint="oauth/token",
                params=params,
                status=status,
            )
        if status < 500:
            raise WhoopAuthError(
                f"the WHOOP token endpoint refused the request{detail}",
                endpoint="oauth/token",
                params=params,
                status=status,
            )
        raise WhoopAPIError(
            f"the WHOOP token endpoint failed{detail}", endpoint="oauth/token", params=params, status=status
        )


class TokenManager:
    """Hands out valid access tokens and refreshes them single-flight, across threads and processes.

    WHOOP rotates refresh tokens and only one of two concurrent refreshes succeeds, so a refresh
    holds the store's lock, re-reads the store (another process may have refreshed), persists the
    new pair by compare-and-swap before using it, and after a failed swap or a rejection re-reads
    again: a changed pair means another process won; only an unchanged one means the login is gone.

    Args:
        app: the OAuth app that refreshes.
        store: where the current pair lives (shared with other threads and processes).
        refresh_skew: refresh this long before the access token expires.
        rejection_grace_s: after a rejected refresh, how long to watch the store for
            another process's new pair before giving up. Zero for stores with an
            exclusive lock (a rejection under the lock is final); 5 s otherwise,
            enough for a racing process to persist what it won.
        clock: the current UTC time (injectable for tests).
    """

    def __init__(
        self,
        app: OAuthApp,
        store: TokenStore,
        *,
        refresh_skew: timedelta = timedelta(seconds=120),
        rejection_grace_s: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.refresh_skew = refresh_skew
        exclusive = bool(getattr(store, "exclusive_lock", True))
        self.rejection_grace_s = (0.0 if exclusive else 5.0) if rejection_grace_s is None else rejection_grace_s
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()
        self._current: TokenSet | None = None
        #: Refreshes this manager performed at the token endpoint (not reuses of another's).
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.app.client_id!r}, store={self.store!r})"

    def access_token(self) -> str:
        """A valid access token, refreshed first when it expires within ``refresh_skew`` or is missing."""
        current = self._current
        if current is not None and current.is_fresh(self._clock(), self.refresh_skew):
            return current.access_token
        return self._obtain(stale_access_token=current.access_token if current else None, force=False)

    def force_refresh(self, stale_access_token: str) -> str:
        """A new access token after the API rejected ``stale_access_token`` (a 401).

        If another thread or process has refreshed since ``stale_access_token`` was read,
        its pair is used and no second refresh is made.
        """
        return self._obtain(stale_access_token=stale_access_token, force=True)

    def adopt_rotated(self, rejected_access_token: str) -> str | None:
        """The pair another process stored after ``rejected_access_token`` (now in use), or None if none.

        For a 401 right after our own refresh: if another process rotated the tokens since
        (which revokes ours), its stored pair is the one to use; an unchanged store means the
        freshly refreshed token itself was rejected. Never refreshes.
        """
        with self._lock:
            current = self._current
            if current is not None and current.access_token != rejected_access_token:
                return current.access_token  # another thread adopted or refreshed meanwhile
            with self.store.lock():
                stored = self.store.load()
            if stored is None or stored.access_token == rejected_access_token:
                return None
            logger.info("another process rotated the WHOOP tokens after our refresh; using its pair")
            self._current = stored
            return stored.access_token

    def _obtain(self, *, stale_access_token: str | None, force: bool) -> str:
        with self._lock:
            now = self._clock()
            current = self._current
            if (
                current is not None
                and current.is_fresh(now, self.refresh_skew)
                and (not force or current.access_token != stale_access_token)
            ):
                return current.access_token  # another thread refreshed while we waited for the lock
            with self.store.lock():
                stored = self.store.load()
                if stored is None:
                    raise WhoopAuthError(f"no WHOOP tokens are stored. {REAUTHORIZE_HINT}")
                if stored.is_fresh(now, self.refresh_skew) and (not force or stored.access_token != stale_access_token):
                    logger.debug("using the WHOOP access token found in the token store")
                    self._current = stored
                    return stored.access_token
                self._current = self._rotate(stored)
                return self._current.access_token

    def _rotate(self, stored: TokenSet, attempts: int = 3) -> TokenSet:
        """Refresh ``stored`` and persist the new pair before returning it."""
        for _ in range(attempts):
            try:
                new = self.app.refresh(stored.refresh_token)
            except WhoopRefreshTokenRejectedError as err:
                latest = self._rotated_since(stored.refresh_token)
                if latest is None:
                    raise WhoopAuthError(
                        f"WHOOP rejected the stored refresh token: it was already used or revoked. {REAUTHORIZE_HINT}",
                        endpoint="oauth/token",
                        status=err.status,
                    ) from err
                logger.info("another process refreshed the WHOOP tokens first; using its pair")
                if latest.is_fresh(self._clock(), self.refresh_skew):
                    return latest
                stored = latest  # theirs has expired too: refresh it in turn
                continue
            try:
                stored_ours = self.store.replace(stored.refresh_token, new)
            except Exception as err:
                raise WhoopAuthError(
                    "WHOOP issued new tokens but they could not be stored, and the old refresh token no longer "
                    f"works. Fix the token store ({self.store!r}), then run `whoop-dagster auth` to authorize again."
                ) from err
            self.refresh_count += 1
            if stored_ours:
                logger.info("refreshed the WHOOP access token; the rotated pair is stored")
                return new
            # The store changed under us (a lock-free store and a faster process): use its pair.
            latest = self.store.load()
            if latest is None:
                raise WhoopAuthError(f"the WHOOP token store was emptied during a refresh. {REAUTHORIZE_HINT}")
            logger.info("the WHOOP token store changed during our refresh; using the stored pair")
            return latest
        raise WhoopAuthError(f"could not obtain a fresh WHOOP access token after {attempts} attempts")

    def _rotated_since(self, old_refresh_token: str) -> TokenSet | None:
        """The stored pair if its refresh token is no longer ``old_refresh_token`` (watching for a grace period)."""
        deadline = time.monotonic() + self.rejection_grace_s
        delay = 0.05
        while True:
            latest = self.store.load()
            if latest is not None and latest.refresh_token != old_refresh_token:
                return latest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)

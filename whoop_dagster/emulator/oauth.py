"""The emulator's OAuth 2.0 server: single-use codes, access tokens, rotating refresh tokens.

It behaves like WHOOP's where the client depends on it; token values live only in memory.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from whoop_dagster.emulator.clock import Clock
from whoop_dagster.emulator.config import EmulatorConfig
from whoop_dagster.whoop_api.endpoints import ALL_SCOPES

#: WHOOP's docs: the state parameter "must be eight characters long".
MIN_STATE_LENGTH = 8


class OAuthError(Exception):
    """An OAuth failure, answered as RFC 6749 JSON ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AccessGrant:
    """What an access token allows: whose data, which scopes, until when."""

    user_index: int
    scopes: frozenset[str]
    expires_ms: int
    family: str


@dataclass(frozen=True)
class _Code:
    user_index: int
    scopes: frozenset[str]
    redirect_uri: str
    expires_ms: int


@dataclass(frozen=True)
class _Refresh:
    user_index: int
    scopes: frozenset[str]
    family: str
    expires_ms: int | None


class OAuthServer:
    """Authorization codes, access tokens and rotating refresh tokens of the demo app."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, AccessGrant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._used_refresh: dict[str, str] = {}  # spent refresh token -> its family
        self.counters = {"issued": 0, "refreshed": 0, "rejected": 0, "access_rejected": 0}

    # -- authorization endpoint ---------------------------------------------------------

    def authorize(self, params: Mapping[str, str]) -> str:
        """Handle ``GET /oauth/oauth2/auth``; return the redirect ``Location``.

        The emulator has no login page: it approves at once for member
        ``emulator_user`` (a non-standard parameter, default 0).
        """
        config = self._config
        if params.get("client_id") != config.client_id:
            raise OAuthError(400, "invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri != config.redirect_uri:
            raise OAuthError(400, "invalid_request", "redirect_uri does not match the registered redirect URI")
        state = params.get("state", "")

        def fail(error: str, description: str) -> str:
            query = {"error": error, "error_description": description, **({"state": state} if state else {})}
            return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}"

        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "only response_type=code is supported")
        if len(state) < MIN_STATE_LENGTH:
            return fail("invalid_state", f"state must be at least {MIN_STATE_LENGTH} characters long")
        scopes = frozenset(params.get("scope", "").split())
        unknown = scopes - set(ALL_SCOPES)
        if unknown:
            return fail("invalid_scope", f"unknown scope(s): {' '.join(sorted(unknown))}")
        try:
            user_index = int(params.get("emulator_user", "0"))
        except ValueError:
            return fail("invalid_request", "emulator_user must be an integer")
        if not 0 <= user_index < config.users:
            return fail("access_denied", f"no member {user_index}")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(user_index, scopes, redirect_uri, self._now() + config.auth_code_ttl_s * 1000)
        separator = "&" if "?" in redirect_uri else "?"
        return (
            f"{redirect_uri}{separator}{urlencode({'code': code, 'scope': ' '.join(sorted(scopes)), 'state': state})}"
        )

    # -- token endpoint -----------------------------------------------------------------

    def token(self, form: Mapping[str, str], authorization: str | None = None) -> dict[str, object]:
        """Handle ``POST /oauth/oauth2/token`` (form fields already decoded)."""
        try:
            self._authenticate_client(form, authorization)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return self._exchange_code(form)
            if grant_type == "refresh_token":
                return self._refresh_grant(form)
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
        except OAuthError:
            with self._lock:
                self.counters["rejected"] += 1
            raise

    def _authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            # client_secret_basic is accepted too; WHOOP's docs show client_secret_post.
            try:
                client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as err:
                raise OAuthError(401, "invalid_client", "malformed basic authorization") from err
        if client_id != self._config.client_id or not secrets.compare_digest(
            (client_secret or "").encode(), self._config.client_secret.encode()
        ):
            raise OAuthError(401, "invalid_client", "client authentication failed")

    def _exchange_code(self, form: Mapping[str, str]) -> dict[str, object]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # single use, even when it fails below
            if code is None:
                raise OAuthError(400, "invalid_grant", "authorization code is unknown or was already used")
            if self._now() >= code.expires_ms:
                raise OAuthError(400, "invalid_grant", "authorization code expired")
            if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
                raise OAuthError(400, "invalid_grant", "redirect_uri differs from the authorization request")
            return self._issue(code.user_index, code.scopes, secrets.token_hex(8))

    def _refresh_grant(self, form: Mapping[str, str]) -> dict[str, object]:
        token = form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.pop(token, None)
            if grant is None:
                family = self._used_refresh.get(token)
                if family is not None and self._config.refresh_token_reuse_revokes_family:
                    self._revoke_family(family)
                raise OAuthError(400, "invalid_grant", "refresh token is invalid, expired, revoked or was already used")
            self._used_refresh[token] = grant.family
            if grant.expires_ms is not None and self._now() >= grant.expires_ms:
                raise OAuthError(400, "invalid_grant", "refresh token expired")
            requested = frozenset(form.get("scope", "").split())
            if not requested <= grant.scopes:
                raise OAuthError(400, "invalid_scope", "a refresh cannot widen the granted scopes")
            if self._config.revoke_access_token_on_refresh:
                self._access = {t: a for t, a in self._access.items() if a.family != grant.family}
            self.counters["refreshed"] += 1
            return self._issue(grant.user_index, grant.scopes, grant.family)

    def _issue(self, user_index: int, scopes: frozenset[str], family: str) -> dict[str, object]:
        # Caller holds the lock.
        now, config = self._now(), self._config
        access = secrets.token_urlsafe(32)
        self._access[access] = AccessGrant(user_index, scopes, now + config.access_token_ttl_s * 1000, family)
        self.counters["issued"] += 1
        response: dict[str, object] = {
            "access_token": access,
            "expires_in": config.access_token_ttl_s,
            "scope": " ".join(sorted(scopes)),
            "token_type": "bearer",
        }
        if "offline" in scopes:
            refresh = secrets.token_urlsafe(32)
            expires = now + config.refresh_token_ttl_s * 1000 if config.refresh_token_ttl_s is not None else None
            self._refresh[refresh] = _Refresh(user_index, scopes, family, expires)
            response["refresh_token"] = refresh
        return response

    # -- resource server side -----------------------------------------------------------

    def check_access(self, authorization: str | None) -> AccessGrant:
        """The grant behind an ``Authorization: Bearer`` header; OAuthError(401) if none is valid."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            grant = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if grant is None or self._now() >= grant.expires_ms:
                self.counters["access_rejected"] += 1
                raise OAuthError(401, "invalid_token", "the access token is missing, expired or revoked")
            return grant

    def revoke_user(self, user_index: int) -> None:
        """``DELETE /v2/user/access``: every token of the member stops working."""
        with self._lock:
            families = {a.family for a in self._access.values() if a.user_index == user_index}
            families |= {r.family for r in self._refresh.values() if r.user_index == user_index}
            for family in families:
                self._revoke_family(family)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far becomes invalid (refresh tokens still work)."""
        with self._lock:
            self._access.clear()

    def reset_counters(self) -> None:
        with self._lock:
            for key in self.counters:
                self.counters[key] = 0

    def _revoke_family(self, family: str) -> None:
        # Caller holds the lock.
        self._access = {t: a for t, a in self._access.items() if a.family != family}
        self._refresh = {t: r for t, r in self._refresh.items() if r.family != family}

    def _now(self) -> int:
        return self._clock.now_ms()

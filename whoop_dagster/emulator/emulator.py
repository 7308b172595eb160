"""The ``Emulator``: data, OAuth, rate limits, faults and the HTTP server, put together."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from whoop_dagster.emulator.api import OAUTH_AUTH_PATH, OAUTH_TOKEN_PATH, Api
from whoop_dagster.emulator.clock import Clock
from whoop_dagster.emulator.config import EmulatorConfig
from whoop_dagster.emulator.faults import FaultInjector
from whoop_dagster.emulator.oauth import OAuthServer
from whoop_dagster.emulator.ratelimit import RateLimiter
from whoop_dagster.emulator.records import Dataset
from whoop_dagster.emulator.server import HOST, EmulatorHTTPServer
from whoop_dagster.emulator.stats import RequestLog, RequestLogEntry
from whoop_dagster.whoop_api.endpoints import ALL_SCOPES

logger = logging.getLogger(__name__)

_BOOTSTRAP_TIMEOUT_S = 10
_BOOTSTRAP_HEADERS = {"User-Agent": "whoop-dagster-emulator-bootstrap"}


class EmulatorError(RuntimeError):
    """The emulator could not do what was asked (e.g. the bootstrap grant failed)."""


class Emulator:
    """A WHOOP API v2 look-alike on 127.0.0.1, with its truth open to inspection.

    Build it, then ``start()`` it (or use ``run_emulator``). Everything but the URLs
    works before ``start()``.
    """

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock(self.config.now)
        self.dataset = Dataset(self.config, self.clock)
        self.oauth = OAuthServer(self.config, self.clock)
        self.limiter = RateLimiter(self.config.rate_limit_per_minute, self.config.rate_limit_per_day)
        self.faults = FaultInjector()
        self.log = RequestLog()
        #: Set when stopping: interrupts `slow` faults so shutdown never waits on them.
        self.stop_event = threading.Event()
        self._api = Api(self)
        self._requested_port = port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind to 127.0.0.1 (port 0: any free port) and serve in a background thread."""
        if self._server is not None:
            return self
        self.stop_event.clear()
        self._server = EmulatorHTTPServer(self._requested_port, self._api)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="whoop-emulator", daemon=True
        )
        self._thread.start()
        logger.info("WHOOP API emulator serving %s (seed %s)", self.api_base_url, self.config.seed)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses and the demo app ------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """Root of the data API: the client appends ``/v2/cycle`` etc."""
        return f"{self.base_url}/developer"

    @property
    def oauth_base_url(self) -> str:
        """Root of ``/oauth/oauth2/auth`` and ``/oauth/oauth2/token``."""
        return self.base_url

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def redirect_uri(self) -> str:
        return self.config.redirect_uri

    def info(self) -> dict[str, Any]:
        """What an out-of-process user needs to talk to this emulator (``GET /_emulator/info``)."""
        return {
            "api_base_url": self.api_base_url,
            "oauth_base_url": self.oauth_base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri,
            "seed": self.config.seed,
            "users": self.config.users,
            "join_date": self.dataset.join_date.isoformat(),
            "now": self.now().isoformat(),
            "clock_frozen": self.clock.frozen,
        }

    # -- tokens -------------------------------------------------------------------------

    def authorize(self, user_index: int = 0, scopes: Sequence[str] = ALL_SCOPES) -> dict[str, Any]:
        """Run the real authorization-code grant over HTTP; return the token response."""
        state = secrets.token_urlsafe(12)
        params = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": state,
            "emulator_user": str(user_index),
        }
        answer = requests.get(
            self.oauth_base_url + OAUTH_AUTH_PATH,
            params=params,
            headers=_BOOTSTRAP_HEADERS,
            allow_redirects=False,
            timeout=_BOOTSTRAP_TIMEOUT_S,
        )
        redirect = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
        if answer.status_code != 302 or "code" not in redirect:
            raise EmulatorError(f"authorization failed: HTTP {answer.status_code} {redirect.get('error', answer.text)}")
        if redirect.get("state") != [state]:
            raise EmulatorError("authorization redirect did not echo the state")
        form = {
            "grant_type": "authorization_code",
            "code": redirect["code"][0],
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        answer = requests.post(
            self.oauth_base_url + OAUTH_TOKEN_PATH, data=form, headers=_BOOTSTRAP_HEADERS, timeout=_BOOTSTRAP_TIMEOUT_S
        )
        if answer.status_code != 200:
            raise EmulatorError(f"code exchange failed: HTTP {answer.status_code} {answer.text}")
        return dict(answer.json())

    def issue_refresh_token(self, user_index: int = 0, scopes: Sequence[str] = ALL_SCOPES) -> str:
        """A fresh refresh token for member ``user_index``, obtained over HTTP like a real client would."""
        tokens = self.authorize(user_index, scopes)
        if "refresh_token" not in tokens:
            raise EmulatorError("no refresh token: the `offline` scope was not requested")
        return str(tokens["refresh_token"])

    def grant_tokens(self, user_index: int = 0, scopes: Sequence[str] = ALL_SCOPES) -> dict[str, Any]:
        """The same grant as ``authorize`` but in-process (for control endpoints and unstarted emulators)."""
        state = secrets.token_urlsafe(12)
        location = self.oauth.authorize(
            {
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": " ".join(scopes),
                "state": state,
                "emulator_user": str(user_index),
            }
        )
        redirect = parse_qs(urlsplit(location).query)
        if "code" not in redirect:
            raise EmulatorError(f"authorization failed: {redirect.get('error_description')}")
        form = {
            "grant_type": "authorization_code",
            "code": redirect["code"][0],
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return dict(self.oauth.token(form))

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 from now on (refresh tokens still work)."""
        self.oauth.expire_access_tokens()

    # -- clock --------------------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator clock's now (aware UTC)."""
        return self.clock.now()

    def set_now(self, moment: datetime) -> None:
        """Freeze the clock at ``moment`` (records appear and get scored accordingly)."""
        self.clock.set_now(moment)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward; returns the new now."""
        return self.clock.advance(delta)

    # -- truth mutations ----------------------------------------------------------------

    def rescore(self, endpoint_name: str, record_id: str | int, user_index: int = 0) -> dict[str, Any]:
        """Re-score a record now (new score values, ``updated_at`` = now); returns the new record."""
        return self.dataset.rescore(endpoint_name, record_id, user_index)

    def delete(self, endpoint_name: str, record_id: str | int, user_index: int = 0) -> None:
        """Delete a record: the API stops returning it.

        A deleted sleep takes its recovery along; a deleted cycle its sleeps and recovery.
        """
        self.dataset.delete(endpoint_name, record_id, user_index)

    # -- observation --------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestLogEntry]:
        """Every request so far (oldest first); tokens are never stored."""
        return self.log.entries()

    def stats(self) -> dict[str, Any]:
        """Counters: requests by path and status, 429s sent, faults fired, tokens issued/refreshed/rejected."""
        return {**self.log.counters(), "tokens": dict(self.oauth.counters)}

    def reset_stats(self) -> None:
        """Clear the request log and every counter."""
        self.log.clear()
        self.oauth.reset_counters()

    def reset_rate_limits(self) -> None:
        """Start fresh rate-limit windows (as if a day had passed)."""
        self.limiter = RateLimiter(self.config.rate_limit_per_minute, self.config.rate_limit_per_day)


@contextmanager
def run_emulator(config: EmulatorConfig | None = None, port: int = 0) -> Iterator[Emulator]:
    """Serve an emulator on 127.0.0.1 for the duration of a ``with`` block."""
    emulator = Emulator(config, port).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def serve(
    config: EmulatorConfig | None = None, port: int = 8765, *, on_ready: Callable[[Emulator], None] | None = None
) -> None:
    """Serve until Ctrl-C (the ``whoop-dagster emulator`` command). ``on_ready`` gets the running emulator."""
    with run_emulator(config, port) as emulator:
        if on_ready is not None:
            on_ready(emulator)
        else:
            logger.info(
                "WHOOP API emulator ready: API %s, OAuth %s, client_id %s. GET %s/_emulator/info for the demo app, "
                "POST %s/_emulator/refresh_token for a refresh token. Ctrl-C stops it.",
                emulator.api_base_url,
                emulator.oauth_base_url,
                emulator.client_id,
                emulator.base_url,
                emulator.base_url,
            )
        try:
            while not emulator.stop_event.wait(0.5):
                pass
        except KeyboardInterrupt:
            logger.info("WHOOP API emulator stopping")

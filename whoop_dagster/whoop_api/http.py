"""HTTP plumbing shared by the OAuth app and the API client: sessions with retries, and error summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from whoop_dagster import __version__
from whoop_dagster.whoop_api.redaction import redact

#: Every request carries one; some clients report that WHOOP blocks requests without it.
USER_AGENT = f"whoop-dagster/{__version__} (+python-requests)"

#: (connect, read) timeouts in seconds.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

#: Server errors worth another try (GET only).
RETRY_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504})


class HookedRetry(Retry):
    """urllib3 ``Retry`` that reports each retry it grants, and runs a hook before re-sending.

    ``on_retry`` is called once per retry actually made (not for the final attempt that
    exhausts the budget), so the client counts retries even for requests that end in an
    exception, where ``response.raw.retries.history`` is out of reach. ``before_retry``
    runs after the backoff sleep, just before the request goes out again: the client
    uses it to take a slot from its rate limiter, because every retry is a request
    that counts against WHOOP's limit.
    """

    def __init__(
        self,
        *args: Any,
        on_retry: Callable[[], None] | None = None,
        before_retry: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_retry = on_retry
        self.before_retry = before_retry

    def new(self, **kw: Any) -> HookedRetry:
        kw.setdefault("on_retry", self.on_retry)
        kw.setdefault("before_retry", self.before_retry)
        return super().new(**kw)

    def increment(self, *args: Any, **kwargs: Any) -> HookedRetry:
        new_retry = super().increment(*args, **kwargs)  # raises MaxRetryError when exhausted
        if self.on_retry is not None:
            self.on_retry()
        return new_retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # 429s are the client's to handle: it waits for the rate-limit reset and makes every
        # thread sharing its limiter wait too (urllib3 would retry one request alone).
        if status_code == 429:
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.before_retry is not None:
            self.before_retry()


def build_session(retry: Retry, *, user_agent: str = USER_AGENT, pool_maxsize: int = 10) -> requests.Session:
    """A session whose adapters retry per ``retry`` and whose requests carry ``user_agent``."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    return session


def error_summary(response: requests.Response, secrets: Iterable[str | None] = ()) -> str:
    """A short, redacted description of an error body: OAuth ``error``/``error_description`` or text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "error_description", "message") if body.get(key)]
        text = ": ".join(parts)
    else:
        text = response.text or ""
    return redact(text, secrets) if text else ""

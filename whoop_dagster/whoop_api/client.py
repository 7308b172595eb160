"""The WHOOP API v2 HTTP client: pagination, validation, retries, rate limits, token refresh.

Collections are read lazily page by page; a paginator that would loop raises instead.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from whoop_dagster.whoop_api.auth import TokenManager
from whoop_dagster.whoop_api.endpoints import MAX_PAGE_SIZE, USER_PROFILE, Endpoint, get_endpoint
from whoop_dagster.whoop_api.errors import (
    WhoopAPIError,
    WhoopAuthError,
    WhoopNotFoundError,
    WhoopPayloadError,
    WhoopRateLimitError,
)
from whoop_dagster.whoop_api.http import (
    DEFAULT_TIMEOUT,
    RETRY_STATUSES,
    USER_AGENT,
    HookedRetry,
    build_session,
    error_summary,
)
from whoop_dagster.whoop_api.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

REVOKE_PATH = "/v2/user/access"
#: 401s after our refresh answered with another process's newer pair, per request: bounded, so
#: that processes rotating in a loop end in an error instead of an endless exchange.
MAX_ADOPTED_ROTATIONS = 3
#: Refreshes of our own per request: a token revoked again right after our refresh (access
#: tokens expiring between two requests of a run) gets one more; a third 401 is an auth error.
MAX_REFRESHES_PER_REQUEST = 2


@dataclass
class ClientStats:
    """What a client did, for run metadata. Thread-safe through ``add``.

    Attributes:
        requests: HTTP requests the client sent, including re-sends after a 429, a 401 or
            an unreadable body (urllib3's own re-sends are counted in ``retries`` only).
        pages: collection pages read.
        records: records returned (collections) or objects read.
        retries: re-sends after connection errors, timeouts, 5xx and unreadable bodies.
        rate_limit_waits: times the client waited for a rate limit (its own or the server's).
        rate_limit_wait_seconds: the total time spent in those waits.
        rate_limited_responses: 429 answers received (zero in a well-behaved run).
        token_refreshes: refreshes this client's token manager performed at the token endpoint.
    """

    requests: int = 0
    pages: int = 0
    records: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    rate_limited_responses: int = 0
    token_refreshes: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # not a field: asdict/replace/== see the numbers only

    def add(self, **deltas: float) -> None:
        """Add ``deltas`` (field name → increment) atomically."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def as_metadata(self) -> dict[str, int | float]:
        """A flat ``{name: number}`` dict (e.g. for Dagster output metadata)."""
        with self._lock:
            values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["rate_limit_wait_seconds"] = round(values["rate_limit_wait_seconds"], 3)
        return values


def format_timestamp(value: datetime) -> str:
    """``value`` as the API writes timestamps: UTC with milliseconds (``2022-04-24T11:25:44.774Z``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamps passed to the WHOOP client must be timezone-aware, got {value!r}")
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header; for lists like ``X-RateLimit-Limit: 100, 100;window=60`` the first number."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None


class WhoopClient:
    """A client of the WHOOP developer API v2.

    Args:
        api_base_url: the API root (``https://api.prod.whoop.com/developer`` or the emulator's).
        tokens: hands out (and refreshes) access tokens.
        requests_per_minute: the client-side limit (WHOOP's default app limit is 100).
        timeout: (connect, read) timeout of every request, in seconds.
        max_retries: urllib3 re-sends after connection errors, timeouts and 5xx (GET only).
        backoff_factor: exponential backoff base in seconds (also the jitter's range).
        page_size: records per page, 1 to 25.
        user_agent: sent with every request.
        max_payload_retries: re-reads of a truncated or malformed body before ``WhoopPayloadError``.
        max_rate_limit_retries: consecutive 429s waited out before ``WhoopRateLimitError``.
        rate_limit_margin_s: added to the server's reset time before re-sending.
        max_rate_limit_wait_s: a longer wait (e.g. the daily limit) raises ``WhoopRateLimitError`` instead.
        backoff_max_s: cap of one backoff sleep.
        rate_limiter: share one limiter between clients (overrides ``requests_per_minute``).
    """

    def __init__(
        self,
        api_base_url: str,
        tokens: TokenManager,
        *,
        requests_per_minute: int = 100,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        page_size: int = MAX_PAGE_SIZE,
        user_agent: str = USER_AGENT,
        max_payload_retries: int = 2,
        max_rate_limit_retries: int = 3,
        rate_limit_margin_s: float = 1.0,
        max_rate_limit_wait_s: float = 900.0,
        backoff_max_s: float = 30.0,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        self.api_base_url = api_base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.page_size = page_size
        self.backoff_factor = backoff_factor
        self.backoff_max_s = backoff_max_s
        self.max_payload_retries = max_payload_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        self.rate_limit_margin_s = rate_limit_margin_s
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.limiter = rate_limiter or RateLimiter(requests_per_minute, 60.0)
        self.stats = ClientStats()
        self._user_id: Any = None
        retry = HookedRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            backoff_max=backoff_max_s,
            raise_on_status=False,  # hand back the last 5xx, so the error names its status
            respect_retry_after_header=True,
            on_retry=lambda: self.stats.add(retries=1),
            before_retry=self._wait_for_rate_limit,
        )
        self._session = build_session(retry, user_agent=user_agent)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_base_url={self.api_base_url!r})"

    def __enter__(self) -> WhoopClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    # -- public reads ------------------------------------------------------------------------

    def iter_pages(
        self, endpoint: Endpoint | str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the non-empty pages of a collection for the window [start, end), newest first.

        The API returns every record that *overlaps* the window. Pages are fetched
        lazily, one request per page, following ``next_token``.
        """
        ep = self._endpoint(endpoint, collection=True)
        base: dict[str, Any] = {"limit": self.page_size}
        if start is not None:
            base["start"] = format_timestamp(start)
        if end is not None:
            base["end"] = format_timestamp(end)
        if start is not None and end is not None and start >= end:
            raise ValueError(f"start ({base['start']}) must be before end ({base['end']})")
        seen_tokens: set[str] = set()
        next_token: str | None = None
        while True:
            params = {**base, "nextToken": next_token} if next_token else dict(base)
            data = self._request("GET", ep.path, endpoint=ep.name, params=params, scope=ep.scope)
            records, next_token = self._validate_page(ep, data, params)
            self.stats.add(pages=1, records=len(records))
            logger.debug("%s: page of %d records (more: %s)", ep.name, len(records), bool(next_token))
            if next_token and not records:
                raise WhoopPayloadError(
                    "the API returned an empty page that still carries a next_token; stopping instead of looping",
                    endpoint=ep.name,
                    params=params,
                )
            if next_token in seen_tokens:
                raise WhoopPayloadError(
                    "the API repeated a next_token; stopping instead of looping", endpoint=ep.name, params=params
                )
            if records:
                yield records
            if not next_token:
                return
            seen_tokens.add(next_token)

    def iter_records(
        self, endpoint: Endpoint | str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the records of a collection for the window [start, end), one page in memory at a time."""
        for page in self.iter_pages(endpoint, start, end):
            yield from page

    def get_object(self, endpoint: Endpoint | str) -> dict[str, Any]:
        """Read a single-object endpoint (``user_profile``, ``body_measurement``).

        The body measurement has no id of its own; the member's ``user_id`` (from the
        profile, read once per client) is added so that every raw row has one.
        """
        ep = self._endpoint(endpoint, collection=False)
        data = self._request("GET", ep.path, endpoint=ep.name, params=None, scope=ep.scope)
        record = self._validate_object(ep, data, {})
        if ep.name == USER_PROFILE.name:
            self._user_id = record["user_id"]
        elif "user_id" in ep.id_columns and "user_id" not in record:
            record = {**record, "user_id": self._member_user_id()}
        self.stats.add(records=1)
        return record

    def get_by_id(self, endpoint: Endpoint | str, **ids: Any) -> dict[str, Any]:
        """Read one record by its id, e.g. ``get_by_id("sleep", id=uuid)`` or ``get_by_id("recovery", cycle_id=1)``.

        Raises ``WhoopNotFoundError`` when the record does not exist (any more).
        """
        ep = self._endpoint(endpoint, collection=True)
        if ep.by_id_path is None:
            raise ValueError(f"the WHOOP API cannot read a single {ep.name} record by id")
        try:
            path = ep.by_id_path.format(**{key: quote(str(value), safe="") for key, value in ids.items()})
        except KeyError as err:
            raise ValueError(f"{ep.name} records are read by {ep.by_id_path!r}; missing {err.args[0]!r}") from None
        data = self._request("GET", path, endpoint=ep.name, params=None, scope=ep.scope, context=ids)
        record = self._validate_object(ep, data, ids)
        self.stats.add(records=1)
        return record

    def revoke_access(self) -> None:
        """Revoke the app's access to the member's data (``DELETE /v2/user/access``).

        Afterwards the stored tokens no longer work; authorize again to resume.
        """
        self._request("DELETE", REVOKE_PATH, endpoint="user_access", params=None, scope=None)
        logger.info("revoked the app's access to the WHOOP member's data")

    # -- validation --------------------------------------------------------------------------

    def _validate_page(
        self, ep: Endpoint, data: Any, params: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise WhoopPayloadError(
                f"expected a JSON object with a `records` list, got {_shape(data)}", endpoint=ep.name, params=params
            )
        records = data["records"]
        for record in records:
            self._check_record(ep, record, params)
        next_token = data.get("next_token")
        if next_token is not None and not isinstance(next_token, str):
            raise WhoopPayloadError(
                f"`next_token` must be a string or null, got {_shape(next_token)}", endpoint=ep.name, params=params
            )
        return records, next_token or None

    def _validate_object(self, ep: Endpoint, data: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        self._check_record(ep, data, params)
        return data

    @staticmethod
    def _check_record(ep: Endpoint, record: Any, params: Mapping[str, Any]) -> None:
        if not isinstance(record, dict):
            raise WhoopPayloadError(
                f"expected a JSON object as record, got {_shape(record)}", endpoint=ep.name, params=params
            )
        missing = [name for name in ep.required_fields if record.get(name) is None]
        if missing:
            raise WhoopPayloadError(
                f"record lacks required field(s) {', '.join(missing)}",
                endpoint=ep.name,
                params=params,
                record_id=ep.record_id(record),
            )

    # -- the request loop --------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None,
        scope: str | None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one API call with refresh, 429 and unreadable-body handling; return the parsed JSON."""
        described = dict(context if context is not None else (params or {}))
        url = self.api_base_url + path
        refreshed = 0
        adopted = 0
        rate_limited = 0
        unreadable = 0
        while True:
            token = self._access_token()
            self._wait_for_rate_limit(endpoint=endpoint, params=described)
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.timeout,
                    stream=True,
                )
            except requests.RequestException as err:
                self.stats.add(requests=1)
                raise WhoopAPIError(
                    f"WHOOP API unreachable after retries ({type(err).__name__})", endpoint=endpoint, params=described
                ) from err
            self.stats.add(requests=1)
            with response:
                self._observe_rate_limit_headers(response)
                status = response.status_code
                logger.debug("%s %s -> %d in %.3f s", method, path, status, time.monotonic() - started)
                if status == 401:
                    if refreshed:
                        # Another process may have rotated the pair right after our refresh (a
                        # rotation revokes the access token we just got): then use its pair.
                        adopted += 1
                        if adopted <= MAX_ADOPTED_ROTATIONS and self.tokens.adopt_rotated(token) is not None:
                            continue
                    if refreshed >= MAX_REFRESHES_PER_REQUEST:
                        raise WhoopAuthError(
                            "WHOOP rejected a freshly refreshed access token (401). Run `whoop-dagster auth` "
                            "to authorize again.",
                            endpoint=endpoint,
                            params=described,
                            status=status,
                        )
                    refreshed += 1
                    self._force_refresh(token)
                    continue
                if status == 429:
                    rate_limited += 1
                    self._wait_after_429(response, rate_limited, endpoint=endpoint, params=described)
                    continue
                if status >= 400:
                    self._raise_for_status(response, token, endpoint=endpoint, params=described, scope=scope)
                if status == 204 or method != "GET":
                    return None
                try:
                    return json.loads(response.content)
                except (requests.RequestException, ValueError) as err:
                    unreadable += 1
                    if unreadable > self.max_payload_retries:
                        raise WhoopPayloadError(
                            f"unreadable response body after {unreadable} attempts ({type(err).__name__})",
                            endpoint=endpoint,
                            params=described,
                            status=status,
                        ) from err
                    self.stats.add(retries=1)
                    logger.info("%s: unreadable response body (%s); reading again", endpoint, type(err).__name__)
                    self._backoff(unreadable)

    def _access_token(self) -> str:
        before = self.tokens.refresh_count
        token = self.tokens.access_token()
        self.stats.add(token_refreshes=self.tokens.refresh_count - before)
        return token

    def _force_refresh(self, stale: str) -> None:
        before = self.tokens.refresh_count
        logger.info("WHOOP answered 401; refreshing the access token")
        self.tokens.force_refresh(stale)
        self.stats.add(token_refreshes=self.tokens.refresh_count - before)

    def _raise_for_status(
        self,
        response: requests.Response,
        token: str,
        *,
        endpoint: str,
        params: Mapping[str, Any],
        scope: str | None,
    ) -> None:
        status = response.status_code
        summary = error_summary(response, (token,))
        detail = f": {summary}" if summary else ""
        if status == 403:
            needed = f"the `{scope}` scope" if scope else "a scope"
            raise WhoopAuthError(
                f"WHOOP refused access (403): the app lacks {needed}, or the member did not grant it. "
                "Run `whoop-dagster auth` and grant it.",
                endpoint=endpoint,
                params=params,
                status=status,
            )
        if status == 404:
            raise WhoopNotFoundError(f"not found (404){detail}", endpoint=endpoint, params=params, status=status)
        if status >= 500:
            raise WhoopAPIError(
                f"WHOOP API server error {status} after retries{detail}",
                endpoint=endpoint,
                params=params,
                status=status,
            )
        raise WhoopAPIError(f"WHOOP API error {status}{detail}", endpoint=endpoint, params=params, status=status)

    # -- rate limits -------------------------------------------------------------------------

    def _wait_for_rate_limit(self, endpoint: str | None = None, params: Mapping[str, Any] | None = None) -> None:
        pause = self.limiter.paused_for()
        if pause > self.max_rate_limit_wait_s:
            raise WhoopRateLimitError(
                f"WHOOP's rate limit resets in {pause:.0f} s (probably the daily limit), longer than the "
                f"{self.max_rate_limit_wait_s:.0f} s this client waits",
                endpoint=endpoint,
                params=params,
            )
        waited = self.limiter.acquire()
        if waited > 0:
            self.stats.add(rate_limit_waits=1, rate_limit_wait_seconds=waited)

    def _observe_rate_limit_headers(self, response: requests.Response) -> None:
        remaining = _header_number(response.headers, "X-RateLimit-Remaining")
        reset = _header_number(response.headers, "X-RateLimit-Reset")
        if remaining is not None and remaining <= 0 and reset is not None and response.status_code != 429:
            logger.info("WHOOP rate limit exhausted; pausing %.1f s until it resets", reset)
            self.limiter.pause_for(reset + self.rate_limit_margin_s)

    def _wait_after_429(
        self, response: requests.Response, attempt: int, *, endpoint: str, params: Mapping[str, Any]
    ) -> None:
        self.stats.add(rate_limited_responses=1)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reset = _header_number(response.headers, "X-RateLimit-Reset")
        wait = retry_after if retry_after is not None else reset
        if wait is None:
            wait = self.limiter.window_s  # no hint at all: wait a whole window
        wait += self.rate_limit_margin_s
        if attempt > self.max_rate_limit_retries:
            raise WhoopRateLimitError(
                f"WHOOP answered 429 {attempt} times in a row despite waiting as told",
                endpoint=endpoint,
                params=params,
                status=429,
            )
        if wait > self.max_rate_limit_wait_s:
            raise WhoopRateLimitError(
                f"WHOOP's rate limit resets in {wait:.0f} s (probably the daily limit), longer than the "
                f"{self.max_rate_limit_wait_s:.0f} s this client waits",
                endpoint=endpoint,
                params=params,
                status=429,
            )
        logger.info("%s: WHOOP answered 429; waiting %.1f s before trying again", endpoint, wait)
        self.limiter.pause_for(wait)

    def _backoff(self, attempt: int) -> None:
        delay = min(self.backoff_max_s, self.backoff_factor * 2 ** (attempt - 1))
        time.sleep(delay + random.uniform(0, self.backoff_factor))  # noqa: S311 - jitter, not cryptography

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _endpoint(endpoint: Endpoint | str, *, collection: bool) -> Endpoint:
        ep = get_endpoint(endpoint) if isinstance(endpoint, str) else endpoint
        if ep.collection != collection:
            use = "iter_records/iter_pages/get_by_id" if ep.collection else "get_object"
            raise ValueError(f"{ep.name} is {'a collection' if ep.collection else 'a single object'}: use {use}")
        return ep

    def _member_user_id(self) -> Any:
        if self._user_id is None:
            self.get_object(USER_PROFILE)
        return self._user_id


def _shape(value: Any) -> str:
    """A short description of a JSON value's type, for messages (never its content)."""
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)[:8]}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__

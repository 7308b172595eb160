"""Typed errors of the WHOOP client: each names the endpoint, the request and, where known, the record.

Only values passed in are rendered: ``params`` must never hold credentials.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeVar

_E = TypeVar("_E", bound="WhoopError")


def _describe(endpoint: str | None, params: Mapping[str, Any] | None) -> str:
    parts = []
    if endpoint:
        parts.append(f"endpoint={endpoint}")
    for key, value in sorted((params or {}).items()):
        if value is not None:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


class WhoopError(Exception):
    """Base class of every error raised by the WHOOP client."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        params: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.params = dict(params or {})
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        context = _describe(self.endpoint, self.params)
        return f"{self.message} [{context}]" if context else self.message

    def with_context(self: _E, **context: Any) -> _E:
        """A copy of this error whose message also names ``context`` (e.g. the partition range)."""
        clone = copy.copy(self)
        clone.params = {**self.params, **context}
        return clone


class WhoopAuthError(WhoopError):
    """OAuth failed: no usable token, a rejected refresh token, or a 401 after refreshing."""


class WhoopRateLimitError(WhoopError):
    """The API kept answering 429 after the client waited as long as it was told to."""


class WhoopAPIError(WhoopError):
    """The API answered with an error status (after retries) or could not be reached."""


class WhoopPayloadError(WhoopError):
    """The API answered, but the body is not what the v2 schema promises."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        params: Mapping[str, Any] | None = None,
        record_id: str | int | None = None,
        status: int | None = None,
    ) -> None:
        self.record_id = record_id
        merged = dict(params or {})
        if record_id is not None:
            merged["record_id"] = record_id
        super().__init__(message, endpoint=endpoint, params=merged, status=status)


class WhoopNotFoundError(WhoopAPIError):
    """The API answered 404: the record does not exist (any more) or the path is wrong."""


class WhoopRefreshTokenRejectedError(WhoopAuthError):
    """The token endpoint rejected a refresh token (``invalid_grant``): it was used or revoked.

    Raised by ``OAuthApp.refresh``; the token manager decides whether another process
    rotated the token meanwhile (then it uses theirs) or the user must authorize again.
    """

"""Query parameters of collections: ISO 8601 instants and opaque keyset ``next_token`` values.

A token carries a fingerprint of its query, so the server rejects one replayed against another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timezone

from whoop_dagster.emulator.clock import to_ms


class QueryError(ValueError):
    """A collection query parameter is malformed: answered with 400."""


def parse_instant(name: str, text: str) -> int:
    """An ISO 8601 date-time (``Z`` or an offset; naive means UTC) in epoch milliseconds."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise QueryError(f"{name} is not an ISO 8601 date-time: {text!r}") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return to_ms(moment)


def fingerprint(user_index: int, endpoint: str, start_ms: int | None, end_ms: int | None) -> str:
    """A short hash of the query a token belongs to (``end`` None = defaulted to now)."""
    raw = f"{user_index}|{endpoint}|{start_ms}|{end_ms}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_token(key: tuple[int, str], query_fingerprint: str) -> str:
    """The opaque ``next_token`` that continues after sort key ``key``."""
    raw = f"{key[0]}:{key[1]}:{query_fingerprint}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query_fingerprint: str) -> tuple[int, str]:
    """The sort key inside ``token``; QueryError if it is garbage or belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        start, key, owner = raw.split(":")
        start_ms = int(start)
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise QueryError("nextToken is not a token this API issued") from err
    if owner != query_fingerprint:
        raise QueryError("nextToken belongs to a different query (endpoint, start or end changed)")
    return start_ms, key

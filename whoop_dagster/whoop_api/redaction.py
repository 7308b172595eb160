"""The project's one secret redactor: known secrets and anything that looks like a credential out of a text."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)", re.DOTALL)
_URL_USERINFO = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# `key=value`, `key: value`, `"key": "value"` for names that hold credentials.
_CREDENTIAL_PAIR = re.compile(
    r"""(?P<key>["']?\b(?:refresh_token|access_token|id_token|token|client_secret|secret|password|passwd"""
    r"""|api_key|apikey|private_key|private_key_password|authorization)["']?\s*[=:]\s*)"""
    # The value, unless it is an auth scheme (`Authorization: Bearer ...`, handled above) or already redacted.
    r"""(?P<quote>["']?)(?!(?:Bearer|Basic|Token)\b|\[redacted)[^"'\s&,;})\]]+""",
    re.IGNORECASE,
)
# OAuth authorization codes travel as `code=...` in redirect URLs.
_QUERY_CODE = re.compile(r"\b(code|state)=[^&\s\"',;)]+", re.IGNORECASE)
_OPAQUE_CANDIDATE = re.compile(r"[A-Za-z0-9+/_.~\-]{20,}")
_SEGMENT_SEPARATORS = re.compile(r"[/._~+\-]")
_PATH_SEPARATORS = re.compile(r"[/.]")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


def _has_letters_and_digits(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def _mixed_case(text: str) -> bool:
    """Upper and lower case in about equal shares: random base64, not ``snake_case``/``CamelCase``/``SCREAMING``."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and 0.2 <= sum(c.isupper() for c in letters) / len(letters) <= 0.8


def _looks_opaque(candidate: str) -> bool:
    """A long hex string, or a word-free run of letters and digits (tokens, JWTs, keys).

    Identifiers, dotted module paths, file paths, dates and UUIDs break into short segments at
    ``/ . _ - ~ +`` and are kept; random base64 does not. A URL-safe token that breaks into short
    pieces at ``-``/``_`` is still caught: a long run between dots and slashes in mixed case.
    """
    if _HEX.fullmatch(candidate):
        return True
    if any(len(segment) >= 16 and _has_letters_and_digits(segment) for segment in _SEGMENT_SEPARATORS.split(candidate)):
        return True
    return any(len(part) >= 32 and _mixed_case(part) for part in _PATH_SEPARATORS.split(candidate))


def hide_known(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every one of ``secrets`` (longest first) replaced by ``[redacted]``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with ``secrets`` and anything that looks like a credential replaced by ``[redacted]``."""
    text = hide_known(text, secrets)
    text = _PEM_BLOCK.sub("[redacted private key]", text)
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _CREDENTIAL_PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{REDACTED}", text)
    text = _QUERY_CODE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _OPAQUE_CANDIDATE.sub(lambda m: REDACTED if _looks_opaque(m.group(0)) else m.group(0), text)


def redact(text: str, secrets: Iterable[str | None] = (), *, max_length: int = 200) -> str:
    """:func:`scrub_secrets` on one line, shortened to ``max_length`` characters: for error messages."""
    text = " ".join(scrub_secrets(text, secrets).split())
    return text if len(text) <= max_length else text[: max_length - 3] + "..."

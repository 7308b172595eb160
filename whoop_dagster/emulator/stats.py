"""Request log and counters, so tests and benchmarks see what the client did; never a token."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

#: Query keys that may carry credentials; never stored.
SENSITIVE_KEYS = frozenset({"code", "access_token", "refresh_token", "client_secret", "id_token", "token", "password"})

#: The log keeps the most recent entries only, so a long-running demo does not grow without bound.
MAX_LOG_ENTRIES = 100_000


@dataclass(frozen=True)
class RequestLogEntry:
    """One request as the emulator saw it.

    ``route`` is the path template (``/developer/v2/cycle/{id}``) used for counters;
    ``fault`` names the injected fault that shaped the answer, if any; ``timestamp`` is
    real UTC wall time (not the emulator clock), so request rates can be read from it.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    timestamp: datetime
    user_index: int | None
    route: str
    fault: str | None = None
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timestamp"] = self.timestamp.isoformat()
        return data


def redact(query: dict[str, str]) -> dict[str, str]:
    """``query`` without the keys that can carry credentials."""
    return {k: v for k, v in query.items() if k.lower() not in SENSITIVE_KEYS}


class RequestLog:
    """Thread-safe request log with counters by route and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestLogEntry] = deque(maxlen=MAX_LOG_ENTRIES)
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._by_route_status: Counter[tuple[str, int]] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._by_route[entry.route] += 1
            self._by_status[entry.status] += 1
            self._by_route_status[(entry.route, entry.status)] += 1
            if entry.fault:
                self._faults[entry.fault] += 1

    def entries(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._entries)

    def counters(self) -> dict[str, Any]:
        with self._lock:
            by_route_status: dict[str, dict[str, int]] = {}
            for (route, status), n in sorted(self._by_route_status.items()):
                by_route_status.setdefault(route, {})[str(status)] = n
            return {
                "requests": sum(self._by_route.values()),
                "by_path": dict(sorted(self._by_route.items())),
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
                "by_path_status": by_route_status,
                "rate_limited": self._by_status.get(429, 0),
                "faults_fired": dict(sorted(self._faults.items())),
            }

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_route.clear()
            self._by_status.clear()
            self._by_route_status.clear()
            self._faults.clear()

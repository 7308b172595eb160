"""Fault injection: make chosen requests fail the ways real networks and APIs fail (kinds in ``FAULT_KINDS``)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("rate_limit", "server_error", "slow", "malformed_json", "truncated", "expired_token")

_OPTIONS: dict[str, dict[str, Any]] = {
    "rate_limit": {"reset": 1},
    "server_error": {"status": 500},
    "slow": {"seconds": 2.0},
    "malformed_json": {},
    "truncated": {},
    "expired_token": {},
}

DEFAULT_PATH = "/v2/"


@dataclass
class Fault:
    """One injected fault and how often it has matched and fired."""

    id: int
    kind: str
    path: str = DEFAULT_PATH
    after: int = 0
    times: int | None = 1
    options: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """The list of active faults; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self, kind: str, *, path: str = DEFAULT_PATH, after: int = 0, times: int | None = 1, **options: Any
    ) -> Fault:
        """Inject a fault of one of ``FAULT_KINDS`` (options in ``_OPTIONS``, docs/emulator.md) and return it."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        unknown = set(options) - set(_OPTIONS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no option(s) {', '.join(sorted(unknown))}")
        if after < 0 or (times is not None and times < 1):
            raise ValueError("after must be >= 0 and times >= 1 (or None for ever)")
        merged = {**_OPTIONS[kind], **options}
        if kind == "server_error" and not 500 <= int(merged["status"]) <= 599:
            raise ValueError(f"server_error status must be 5xx, got {merged['status']}")
        with self._lock:
            fault = Fault(next(self._ids), kind, path, after, times, merged)
            self._faults.append(fault)
            return fault

    def add_many(self, specs: list[dict[str, Any]]) -> list[Fault]:
        """Add faults from JSON-like dicts: ``{"kind": ..., "path": ..., "after": ..., ...options}``."""
        return [self.add(**spec) for spec in specs]

    def list(self) -> list[dict[str, Any]]:
        """Every fault with its counters (exhausted ones included, until cleared)."""
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> None:
        """Remove one fault by id."""
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def match(self, path: str) -> Fault | None:
        """Count a request to ``path`` against every fault and return the one that fires, if any."""
        with self._lock:
            firing = None
            for fault in self._faults:
                if fault.exhausted or fault.path not in path:
                    continue
                fault.seen += 1
                if firing is None and fault.seen > fault.after:
                    fault.fired += 1
                    firing = fault
            return firing

"""Fault injection: make chosen requests fail the ways real networks and APIs fail (kinds in ``FAULT_KINDS``)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

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


@dataclass
class RequestHook:
    """An action run once, on the ``after + 1``-th request whose path contains ``path``."""

    id: int
    action: Callable[[], None]
    path: str = DEFAULT_PATH
    after: int = 0
    seen: int = 0
    #: Set once the action has run (or raised).
    fired: threading.Event = field(default_factory=threading.Event)
    #: What the action raised (it never becomes the request's answer).
    error: BaseException | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "after": self.after, "seen": self.seen, "fired": self.fired.is_set()}


class FaultInjector:
    """The list of active faults and request hooks; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._hooks: list[RequestHook] = []
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

    def on_request(self, action: Callable[[], None], *, path: str = DEFAULT_PATH, after: int = 0) -> RequestHook:
        """Run ``action`` while the emulator handles the ``after + 1``-th request to ``path`` (in process only).

        The action runs in the handler thread before that request is answered; what it
        raises is kept in the hook's ``error`` (the request is answered normally).
        """
        if after < 0:
            raise ValueError("after must be >= 0")
        with self._lock:
            hook = RequestHook(next(self._ids), action, path, after)
            self._hooks.append(hook)
            return hook

    def list(self) -> list[dict[str, Any]]:
        """Every fault with its counters (exhausted ones included, until cleared)."""
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def hooks(self) -> list[dict[str, Any]]:
        """Every request hook with its counters (fired ones included, until cleared)."""
        with self._lock:
            return [h.to_dict() for h in self._hooks]

    def clear(self) -> None:
        """Remove every fault and request hook."""
        with self._lock:
            self._faults.clear()
            self._hooks.clear()

    def remove(self, fault_id: int) -> None:
        """Remove one fault by id."""
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def match(self, path: str) -> Fault | None:
        """Count a request to ``path`` against every fault and return the one that fires, if any.

        Request hooks due on this request run first (outside the lock: an action may take a while).
        """
        with self._lock:
            due = []
            for hook in self._hooks:
                if hook.seen > hook.after or hook.path not in path:
                    continue  # already due once, or not its path
                hook.seen += 1
                if hook.seen > hook.after:
                    due.append(hook)
            firing = None
            for fault in self._faults:
                if fault.exhausted or fault.path not in path:
                    continue
                fault.seen += 1
                if firing is None and fault.seen > fault.after:
                    fault.fired += 1
                    firing = fault
        for hook in due:
            try:
                hook.action()
            except Exception as err:  # kept for the caller, never turned into the request's answer
                logger.debug("request hook %d raised %s", hook.id, type(err).__name__)
                hook.error = err
            finally:
                hook.fired.set()
        return firing

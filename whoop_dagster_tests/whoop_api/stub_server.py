"""A scripted HTTP server on loopback, for answers the emulator never gives.

The emulator serves valid data and the faults real networks produce; the client must
also survive a server that breaks the schema (a record without its id, a repeated
``next_token``, a token echoed in an error body). ``StubServer`` answers each path from
a script of responses over real HTTP, so the client is still tested end to end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Scripted:
    """One answer: a status, a JSON payload (or raw body) and headers."""

    status: int = 200
    payload: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        return b"" if self.payload is None else json.dumps(self.payload).encode()


@dataclass
class Seen:
    """A request as the stub received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    at: float  # time.monotonic() on arrival


class StubServer:
    """Answers ``path`` with the scripted responses in order; the last one repeats."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self.base_url = ""

    def script(self, path: str, *responses: Scripted) -> None:
        with self._lock:
            self._scripts[path] = list(responses)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Scripted:
        parts = urlsplit(raw_path)
        form = dict(parse_qsl(body.decode())) if body else {}
        with self._lock:
            self.requests.append(
                Seen(method, parts.path, dict(parse_qsl(parts.query)), headers, form, time.monotonic())
            )
            script = self._scripts.get(parts.path)
            if not script:
                return Scripted(404, {"error": "not_found"})
            return script.pop(0) if len(script) > 1 else script[0]


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = stub._answer(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            encoded = answer.encoded()
            self.send_response(answer.status)
            if encoded:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(encoded)

        do_GET = do_POST = do_DELETE = _respond

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def run_stub() -> Iterator[StubServer]:
    """Serve a ``StubServer`` on 127.0.0.1 (a free port) until the block ends."""
    stub = StubServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="whoop stub server", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

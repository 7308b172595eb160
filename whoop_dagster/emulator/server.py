"""HTTP plumbing: a threaded stdlib HTTP/1.1 server on 127.0.0.1 that hands requests to ``api.Api``."""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from whoop_dagster.emulator.api import Request, Response

if TYPE_CHECKING:
    from whoop_dagster.emulator.api import Api

logger = logging.getLogger(__name__)

#: The emulator never listens beyond loopback.
HOST = "127.0.0.1"

# Idle keep-alive connections are closed after this long, so handler threads do not linger.
_IDLE_TIMEOUT_S = 30
_MAX_BODY_BYTES = 1 << 20


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to loopback that knows its ``Api``."""

    daemon_threads = True  # a hung client connection must not keep the process alive
    allow_reuse_address = True

    def __init__(self, port: int, api: Api) -> None:
        self.api = api
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "WhoopEmulator/1.0"
    timeout = _IDLE_TIMEOUT_S
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds 40 ms per request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY_BYTES:
            self.close_connection = True  # the body's end is unknown: do not read the next request from it
            self._write(Response(400 if length < 0 else 413, b"", None))
            return
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )
        self._write(self.server.api.handle(request))

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.truncate:
                # Promise the whole body, send half, hang up: the client sees an incomplete read.
                self.send_header("Content-Length", str(len(response.body) + 1024))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(response.body[: len(response.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout fired during a `slow` fault): nothing to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        # The request log records every request; stderr stays quiet.
        logger.debug("%s - %s", self.address_string(), format % args)

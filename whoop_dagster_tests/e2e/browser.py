"""Headless Chromium (Debian's ``chromium``) driven through the Chrome DevTools Protocol.

The protocol runs over ``--remote-debugging-pipe`` (file descriptors 3 and 4 of the
browser, NUL-terminated JSON messages): no debugging port is opened and no client
library is needed. Only what the end-to-end test uses is here: open a page, wait for
a condition in it, take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")

#: Everything that would reach beyond loopback (updates, sync, field trials, QUIC) is off.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """Chromium is missing, exited, or answered a command with an error."""


def find_chromium() -> str | None:
    """Path of the system Chromium, or None."""
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevToolsPipe:
    """One CDP connection over the browser's pipes: commands in order, events kept aside."""

    def __init__(self, to_browser: int, from_browser: int) -> None:
        self._out = to_browser
        self._in = from_browser
        self._buffer = b""
        self._next_id = 0

    def close(self) -> None:
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        """Send one command and return its ``result``; raise on a protocol error or timeout."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self, deadline: float, waiting_for: str) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {waiting_for} in time")
            ready, _, _ = select.select([self._in], [], [], remaining)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium closed the DevTools pipe while waiting for {waiting_for}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)


class Page:
    """One tab, attached through a flat CDP session."""

    def __init__(self, pipe: DevToolsPipe, session: str) -> None:
        self._pipe = pipe
        self._session = session

    def call(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        return self._pipe.call(method, params, session=self._session, timeout=timeout)

    def before_each_document(self, script: str) -> None:
        """Run ``script`` in every document this page loads, before the page's own scripts."""
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": script})

    def goto(self, url: str) -> None:
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression!r} raised: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float, interval: float = 0.5) -> Any:
        """Poll ``expression`` until it is truthy; return its value. Raises with the last value on timeout."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise BrowserError(f"{expression!r} still {value!r} after {timeout:.0f}s")

    def wait_until_stable(self, expression: str, timeout: float, interval: float = 0.25) -> Any:
        """Poll ``expression`` until it gives the same truthy value twice in a row (an animation or
        repaint has settled); return that value. Raises with the last value on timeout."""
        deadline = time.monotonic() + timeout
        previous = value = self.evaluate(expression)
        while time.monotonic() < deadline:
            time.sleep(interval)
            value = self.evaluate(expression)
            if value and value == previous:
                return value
            previous = value
        raise BrowserError(f"{expression!r} did not settle in {timeout:.0f}s (last {value!r})")

    def screenshot(self, path: Path) -> Path:
        """Save the viewport as a PNG."""
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


def _pipe_fds_to_3_and_4(from_parent: int, to_parent: int) -> None:
    """In the child: the fds Chromium's ``--remote-debugging-pipe`` reads (3) and writes (4).

    Both are first copied above 10, so neither can be overwritten by the other's ``dup2``.
    """
    reading = fcntl.fcntl(from_parent, fcntl.F_DUPFD, 10)
    writing = fcntl.fcntl(to_parent, fcntl.F_DUPFD, 10)
    os.dup2(reading, 3)
    os.dup2(writing, 4)


@contextmanager
def headless_chromium(
    executable: str, width: int = 1600, height: int = 1000, log_path: Path | None = None
) -> Iterator[Page]:
    """A headless Chromium with one blank page of ``width`` x ``height``; killed (its whole group) afterwards."""
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as profile:
        log = log_path.open("wb") if log_path else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(3, 4),
                preexec_fn=lambda: _pipe_fds_to_3_and_4(to_browser_r, from_browser_w),
            )
        finally:
            if log_path:
                log.close()
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = DevToolsPipe(to_browser_w, from_browser_r)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            page = Page(pipe, session)
            page.call("Page.enable")
            page.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            yield page
        finally:
            with contextlib.suppress(BrowserError, OSError):
                pipe.call("Browser.close", timeout=5)
            pipe.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

"""``whoop-dagster auth``: authorize a real WHOOP account and store its tokens where the deployment keeps them.

The redirect comes back to a loopback port (or the code is pasted); reading the profile proves it worked.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from whoop_dagster import environment
from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.errors import WhoopAuthError, WhoopError
from whoop_dagster.whoop_api.token_store import FileTokenStore, TokenStore, WarehouseTokenStore

CALLBACK_TIMEOUT_SECONDS = 300


def oauth_app_from_env(port: int) -> OAuthApp:
    """The OAuth app from ``WHOOP_CLIENT_ID``/``_SECRET`` (and optional redirect/base URL)."""
    client_id = os.getenv("WHOOP_CLIENT_ID", "").strip()
    client_secret = os.getenv("WHOOP_CLIENT_SECRET", "").strip()
    if not client_id or not client_secret:
        raise WhoopAuthError("set WHOOP_CLIENT_ID and WHOOP_CLIENT_SECRET (from the WHOOP developer dashboard) first")
    return OAuthApp(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=os.getenv("WHOOP_REDIRECT_URI", f"http://localhost:{port}/callback"),
        oauth_base_url=os.getenv("WHOOP_OAUTH_BASE_URL", "https://api.prod.whoop.com"),
    )


def code_from_redirect(pasted: str, expected_state: str | None) -> str:
    """The ``code`` from a pasted redirect URL (checking its ``state``) or a bare code."""
    pasted = pasted.strip()
    if "code=" not in pasted:
        return pasted
    query = parse_qs(urlparse(pasted).query)
    if expected_state is not None:
        OAuthApp.verify_state(expected_state, (query.get("state") or [None])[0])
    if "error" in query:
        raise WhoopAuthError(f"WHOOP refused the authorization: {query['error'][0]}")
    return query["code"][0]


def receive_callback(
    port: int,
    expected_state: str,
    on_listening: Callable[[], None] = lambda: None,
    timeout: float = CALLBACK_TIMEOUT_SECONDS,
) -> str:
    """Serve ``http://127.0.0.1:{port}/callback`` until the redirect arrives; return its code.

    ``on_listening`` runs once the port is open (it shows the user the authorization URL).
    """
    results: queue.Queue[str | Exception] = queue.Queue()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                results.put(code_from_redirect(f"http://localhost{self.path}", expected_state))
                body, status = b"WHOOP authorization received. You can close this tab.", 200
            except WhoopError as err:
                results.put(err)
                body, status = b"Authorization failed; see the terminal.", 400
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # the query holds the code: never log it
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        on_listening()
        outcome = results.get(timeout=timeout)
    except queue.Empty:
        raise WhoopAuthError(f"no redirect arrived on port {port} within {timeout:.0f} s; try --code") from None
    finally:
        server.shutdown()
        server.server_close()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def token_store_for_deployment() -> TokenStore:
    """The token store the code location will read: a file locally, the warehouse table in deployments."""
    from whoop_dagster.resources import build_warehouse

    deployment = environment.current_deployment()
    if deployment.uses_snowflake:
        warehouse = build_warehouse(deployment)
        return WarehouseTokenStore(connect=warehouse.dbapi_connection, schema="raw", paramstyle=warehouse.paramstyle)
    path = environment.token_store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTokenStore(str(path))


def _show(url: str) -> None:
    print("Open this URL, log in to WHOOP and allow access:\n\n  " + url)


def run_auth(
    port: int = 8765, code: str | None = None, state: str | None = None, present: Callable[[str], None] = _show
) -> int:
    """The ``auth`` command; returns the process exit code.

    ``present`` shows the authorization URL to the user (tests play the browser there).
    """
    from whoop_dagster.whoop_api.client import WhoopClient
    from whoop_dagster.whoop_api.endpoints import USER_PROFILE

    try:
        app = oauth_app_from_env(port)
        if code is None:
            expected_state = OAuthApp.new_state()
            url = app.authorization_url(expected_state)
            print(
                f"Waiting for the redirect to {app.redirect_uri} (if your app's redirect URI is not this "
                "loopback address, copy the URL WHOOP sends you to and run `whoop-dagster auth --code '<URL>'`)"
            )
            code = receive_callback(port, expected_state, on_listening=lambda: present(url))
        else:
            code = code_from_redirect(code, state)
        store = token_store_for_deployment()
        store.save(app.exchange_code(code))
        with WhoopClient(
            os.getenv("WHOOP_API_BASE_URL", "https://api.prod.whoop.com/developer"), TokenManager(app, store)
        ) as client:
            profile = client.get_object(USER_PROFILE)
    except WhoopError as err:
        print(f"Authorization failed: {err}")
        return 1
    print(f"Connected as {profile['first_name']} {profile['last_name']}; tokens stored in {store!r}.")
    return 0

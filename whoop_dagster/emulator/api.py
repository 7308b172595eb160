"""Request handling of the emulator, independent of the HTTP plumbing in ``server``.

Checks in a gateway's order: rate limit, injected faults, bearer token, route, scope, then the handler.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from whoop_dagster.emulator.faults import Fault
from whoop_dagster.emulator.oauth import AccessGrant, OAuthError
from whoop_dagster.emulator.paging import QueryError, decode_token, encode_token, fingerprint, parse_instant
from whoop_dagster.emulator.stats import RequestLogEntry, redact
from whoop_dagster.whoop_api.endpoints import ENDPOINTS, MAX_PAGE_SIZE, SLEEP, Endpoint

if TYPE_CHECKING:
    from whoop_dagster.emulator.emulator import Emulator

logger = logging.getLogger(__name__)

API_PREFIX = "/developer"
OAUTH_AUTH_PATH = "/oauth/oauth2/auth"
OAUTH_TOKEN_PATH = "/oauth/oauth2/token"  # noqa: S105 - a URL path, not a password
CONTROL_PREFIX = "/_emulator"
DEFAULT_LIMIT = 10
# User-Agent prefixes of HTTP libraries' defaults (see EmulatorConfig.block_default_user_agents).
DEFAULT_USER_AGENTS = ("python-requests/", "python-urllib/", "python-httpx/", "aiohttp/", "curl/", "okhttp/")


@dataclass
class Request:
    """An HTTP request, decoded. ``headers`` keys are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    client_ip: str = "127.0.0.1"


@dataclass
class Response:
    """What to send back, plus what the request log needs to know about it."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False  # the `truncated` fault: promise more bytes than are sent
    route: str = ""
    user_index: int | None = None
    fault: str | None = None


def json_response(status: int, payload: Any, **extra: Any) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False).encode(), **extra)


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    kind: str
    endpoint: Endpoint | None
    pattern: re.Pattern[str]

    @property
    def served(self) -> Endpoint:
        """The endpoint of a data route (collections, single objects, by-id reads)."""
        if self.endpoint is None:
            raise LookupError(f"route {self.template} serves no endpoint")
        return self.endpoint


def _route(method: str, template: str, kind: str, endpoint: Endpoint | None) -> _Route:
    # "{anything}" in a registry path becomes one path segment named `id`.
    regex = re.sub(r"\\\{[a-z0-9_]+\\\}", "(?P<id>[^/]+)", re.escape(template))
    return _Route(method, re.sub(r"\{[a-z0-9_]+\}", "{id}", template), kind, endpoint, re.compile(regex))


def _build_routes() -> tuple[_Route, ...]:
    """Every data route, derived from the endpoint registry (paths and scopes live there only)."""
    routes = []
    for endpoint in ENDPOINTS.values():
        routes.append(_route("GET", endpoint.path, "collection" if endpoint.collection else "single", endpoint))
        if endpoint.by_id_path:
            kind = "recovery_of_cycle" if endpoint.partition_by_sleep else "by_id"
            routes.append(_route("GET", endpoint.by_id_path, kind, endpoint))
    routes.append(_route("GET", "/v2/cycle/{cycle_id}/sleep", "sleep_of_cycle", SLEEP))
    routes.append(_route("DELETE", "/v2/user/access", "revoke", None))
    routes.append(_route("GET", "/v1/activity-mapping/{activity_v1_id}", "activity_mapping", None))
    return tuple(routes)


ROUTES = _build_routes()


class Api:
    """Turns ``Request`` into ``Response`` for one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.config = emulator.config

    # -- entry point --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer ``request`` and log it (control requests are not logged)."""
        started = time.perf_counter()
        try:
            if request.path.startswith(CONTROL_PREFIX + "/"):
                return self._control(request)
            if self._blocked_user_agent(request):
                response = self.error(403, "forbidden", "send a User-Agent that names your application")
            elif request.path.startswith("/oauth/"):
                response = self._oauth(request)
            elif request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
                response = self._developer(request)
            else:
                response = self.error(404, "not_found", f"no such path: {request.path}")
        except Exception:  # a bug in the emulator must still answer, not hang the client
            logger.exception("emulator failed on %s %s", request.method, request.path)
            response = self.error(500, "internal_error", "the emulator failed; see its log")
        self.emu.log.record(
            RequestLogEntry(
                method=request.method,
                path=request.path,
                query=redact(request.query),
                status=response.status,
                timestamp=datetime.now(timezone.utc),
                user_index=response.user_index,
                route=f"{request.method} {response.route or request.path}",
                fault=response.fault,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        )
        return response

    def _blocked_user_agent(self, request: Request) -> bool:
        if not self.config.block_default_user_agents:
            return False
        agent = request.headers.get("user-agent", "").strip().lower()
        return not agent or agent.startswith(DEFAULT_USER_AGENTS)

    def error(self, status: int, code: str, message: str) -> Response:
        """An error answer in the configured ``error_body_style``."""
        style = self.config.error_body_style
        if style == "empty":
            return Response(status, b"", None)
        if style == "text":
            return Response(status, message.encode(), "text/plain; charset=utf-8")
        if style == "problem":
            phrase = HTTPStatus(status).phrase
            body = {"type": "about:blank", "title": phrase, "status": status, "detail": message}
            return json_response(status, body, content_type="application/problem+json")
        return json_response(status, {"error": code, "message": message})

    # -- faults -------------------------------------------------------------------------

    def _fault_response(self, fault: Fault | None) -> Response | None:
        """The answer an immediate fault gives instead of the real one (None: carry on)."""
        if fault is None:
            return None
        if fault.kind == "slow":
            # Interruptible, so stopping the emulator never waits for a sleeping handler.
            self.emu.stop_event.wait(float(fault.options["seconds"]))
            return None
        if fault.kind == "rate_limit":
            reset = str(int(fault.options["reset"]))
            response = self.error(429, "rate_limited", "too many requests (injected fault)")
            response.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
            if self.config.retry_after_header:
                response.headers["Retry-After"] = reset
            return response
        if fault.kind == "server_error":
            status = int(fault.options["status"])
            return self.error(status, "server_error", f"injected {status}")
        if fault.kind == "expired_token":
            response = self.error(401, "invalid_token", "the access token expired (injected fault)")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        return None

    @staticmethod
    def _mangle(response: Response, fault: Fault | None) -> Response:
        if fault is not None and fault.kind == "malformed_json":
            cut = response.body[: max(len(response.body) // 2, 1)] if response.body else b"{"
            response.status, response.body, response.content_type = 200, cut + b"\x00<html>", "application/json"
        elif fault is not None and fault.kind == "truncated":
            response.truncate = True
        return response

    # -- /developer ---------------------------------------------------------------------

    def _developer(self, request: Request) -> Response:
        decision = self.emu.limiter.hit()
        if not decision.allowed:
            response = self.error(429, "rate_limited", "rate limit exceeded; wait X-RateLimit-Reset seconds")
            response.headers.update(decision.headers)
            if self.config.retry_after_header:
                response.headers["Retry-After"] = decision.headers["X-RateLimit-Reset"]
            return response
        fault = self.emu.faults.match(request.path)
        response = self._fault_response(fault) or self._mangle(self._data(request), fault)
        response.headers = {**decision.headers, **response.headers}  # a fault's own values win
        response.fault = fault.kind if fault else None
        return response

    def _data(self, request: Request) -> Response:
        path = request.path[len(API_PREFIX) :]
        route, match = None, None
        allowed_methods = set()
        for candidate in ROUTES:
            found = candidate.pattern.fullmatch(path)
            if found:
                allowed_methods.add(candidate.method)
                if candidate.method == request.method:
                    route, match = candidate, found
                    break
        try:
            grant = self.emu.oauth.check_access(request.headers.get("authorization"))
        except OAuthError as err:
            response = self.error(401, err.error, err.description)
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            response.route = API_PREFIX + route.template if route else ""
            return response
        if route is None or match is None:
            if allowed_methods:
                response = self.error(405, "method_not_allowed", f"{request.method} is not allowed on {path}")
                response.headers["Allow"] = ", ".join(sorted(allowed_methods))
            else:
                response = self.error(404, "not_found", f"no such path: {request.path}")
            response.user_index = grant.user_index
            return response
        response = self._dispatch(route, match.groupdict().get("id"), request, grant)
        response.route = API_PREFIX + route.template
        response.user_index = grant.user_index
        return response

    def _dispatch(self, route: _Route, record_id: str | None, request: Request, grant: AccessGrant) -> Response:
        if route.endpoint is not None and route.endpoint.scope not in grant.scopes:
            return self.error(403, "insufficient_scope", f"this request needs the {route.endpoint.scope} scope")
        handlers: dict[str, Callable[[_Route, str, Request, int], Response]] = {
            "collection": self._collection,
            "single": self._single,
            "by_id": self._by_id,
            "sleep_of_cycle": self._by_id,
            "recovery_of_cycle": self._by_id,
            "revoke": self._revoke,
            "activity_mapping": self._activity_mapping,
        }
        return handlers[route.kind](route, record_id or "", request, grant.user_index)

    def _single(self, route: _Route, _id: str, _request: Request, user: int) -> Response:
        dataset = self.emu.dataset
        return json_response(200, dataset.profile(user) if route.served.name == "user_profile" else dataset.body(user))

    def _by_id(self, route: _Route, record_id: str, _request: Request, user: int) -> Response:
        dataset = self.emu.dataset
        record = None
        if route.kind == "by_id" and route.endpoint is not None and route.endpoint.name != "cycle":
            record = dataset.get(route.endpoint.name, record_id, user)
        elif record_id.isdigit():  # cycle ids are integers: anything else names no cycle (404)
            if route.kind == "sleep_of_cycle":
                record = dataset.sleep_of_cycle(record_id, user)
            else:
                record = dataset.get("recovery" if route.kind == "recovery_of_cycle" else "cycle", record_id, user)
        return (
            json_response(200, record) if record is not None else self.error(404, "not_found", f"no record {record_id}")
        )

    def _revoke(self, _route: _Route, _id: str, _request: Request, user: int) -> Response:
        self.emu.oauth.revoke_user(user)
        return Response(204, b"", None)

    def _activity_mapping(self, _route: _Route, v1: str, _request: Request, user: int) -> Response:
        uuid = self.emu.dataset.activity_mapping(int(v1), user) if v1.isdigit() else None
        if uuid is None:
            return self.error(404, "not_found", f"no activity had v1 id {v1}")
        return json_response(200, {"v2_activity_id": uuid})

    def _collection(self, route: _Route, _id: str, request: Request, user: int) -> Response:
        try:
            return self._page(route.served, request.query, user)
        except QueryError as err:
            return self.error(400, "invalid_request", str(err))

    def _page(self, endpoint: Endpoint, query: dict[str, str], user: int) -> Response:
        limit = self._limit(query.get("limit"))
        start_ms = parse_instant("start", query["start"]) if query.get("start") else None
        end_param = parse_instant("end", query["end"]) if query.get("end") else None
        now_ms = self.emu.clock.now_ms()
        end_ms = end_param if end_param is not None else now_ms
        if start_ms is not None and start_ms > end_ms:
            raise QueryError("start must not be after end")
        owner = fingerprint(user, endpoint.name, start_ms, end_param)
        before = decode_token(query["nextToken"], owner) if query.get("nextToken") else None
        records, last = self.emu.dataset.page(
            endpoint.name, user, start_ms=start_ms, end_ms=end_ms, now_ms=now_ms, before=before, limit=limit
        )
        body: dict[str, Any] = {"records": records}
        if last is not None:
            body["next_token"] = encode_token(last, owner)
        else:
            # How the last page says so is configurable: WHOOP documents none of the three.
            style = self.config.last_page_token
            if style != "absent":
                body["next_token"] = None if style == "null" else ""
        return json_response(200, body)

    def _limit(self, raw: str | None) -> int:
        if raw is None or raw == "":
            return DEFAULT_LIMIT
        try:
            limit = int(raw)
        except ValueError as err:
            raise QueryError(f"limit must be an integer, got {raw!r}") from err
        if limit < 1:
            raise QueryError("limit must be at least 1")
        if limit > MAX_PAGE_SIZE:
            if self.config.over_limit_behavior == "400":
                raise QueryError(f"limit must be at most {MAX_PAGE_SIZE}")
            limit = MAX_PAGE_SIZE
        return limit

    # -- /oauth -------------------------------------------------------------------------

    def _oauth(self, request: Request) -> Response:
        fault = self.emu.faults.match(request.path)
        injected = self._fault_response(fault)
        if injected is not None:
            injected.fault, injected.route = fault.kind if fault else None, request.path
            return injected
        response = self._oauth_real(request)
        response.route = request.path
        response.fault = fault.kind if fault else None
        return self._mangle(response, fault)

    def _oauth_real(self, request: Request) -> Response:
        oauth = self.emu.oauth
        try:
            if request.path == OAUTH_AUTH_PATH and request.method == "GET":
                location = oauth.authorize(request.query)
                return Response(302, b"", None, headers={"Location": location, "Cache-Control": "no-store"})
            if request.path == OAUTH_TOKEN_PATH and request.method == "POST":
                form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
                tokens = oauth.token(form, request.headers.get("authorization"))
                return json_response(200, tokens, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
        except OAuthError as err:
            return json_response(err.status, {"error": err.error, "error_description": err.description})
        return self.error(404, "not_found", f"no such OAuth endpoint: {request.method} {request.path}")

    # -- /_emulator (control, loopback only) ---------------------------------------------

    def _control(self, request: Request) -> Response:
        if not (request.client_ip.startswith("127.") or request.client_ip == "::1"):
            return self.error(403, "forbidden", "control endpoints answer loopback clients only")
        path = request.path[len(CONTROL_PREFIX) :]
        handlers: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/stats"): lambda r: json_response(200, self.emu.stats()),
            ("POST", "/reset_stats"): lambda r: self._done(self.emu.reset_stats),
            ("GET", "/faults"): lambda r: json_response(200, self.emu.faults.list()),
            ("POST", "/faults"): self._add_faults,
            ("DELETE", "/faults"): lambda r: self._done(self.emu.faults.clear),
            ("POST", "/advance"): self._advance,
            ("GET", "/info"): lambda r: json_response(200, self.emu.info()),
            ("POST", "/expire_access_tokens"): lambda r: self._done(self.emu.expire_access_tokens),
            ("POST", "/refresh_token"): lambda r: json_response(
                200, {"refresh_token": self.emu.grant_tokens(self._user(r))["refresh_token"]}
            ),
        }
        try:
            handler = handlers.get((request.method, path))
            if handler is not None:
                return handler(request)
            parts = path.strip("/").split("/")
            if request.method == "GET" and len(parts) == 2 and parts[0] == "truth":
                return json_response(200, self.emu.dataset.records(parts[1], self._user(request)))
            if request.method == "POST" and len(parts) == 3 and parts[0] == "rescore":
                return json_response(200, self.emu.rescore(parts[1], parts[2], self._user(request)))
            if request.method == "DELETE" and len(parts) == 3 and parts[0] == "records":
                self.emu.delete(parts[1], parts[2], self._user(request))
                return Response(204, b"", None)
        except KeyError as err:
            return self.error(404, "not_found", str(err.args[0]) if err.args else "not found")
        except (ValueError, TypeError) as err:
            return self.error(400, "invalid_request", str(err))
        return self.error(404, "not_found", f"no such control endpoint: {request.method} {request.path}")

    @staticmethod
    def _done(action: Callable[[], Any]) -> Response:
        action()
        return json_response(200, {"ok": True})

    @staticmethod
    def _user(request: Request) -> int:
        return int(request.query.get("user", "0"))

    def _add_faults(self, request: Request) -> Response:
        specs = json.loads(request.body or b"[]")
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("POST /_emulator/faults takes a JSON list of fault objects")
        return json_response(200, [fault.to_dict() for fault in self.emu.faults.add_many(specs)])

    def _advance(self, request: Request) -> Response:
        now = self.emu.advance(timedelta(seconds=float(request.query.get("seconds", "0"))))
        return json_response(200, {"now": now.isoformat()})

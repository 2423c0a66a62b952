"""The gateway: the ASGI application in front of the worker instances (`http_server` listens for it).

A request for a function with a warm instance free (or one that frees up while it waits in line)
runs on the event loop from start to end: routing, the frame to the worker and back, the record,
the journal line. Only what may block runs on a thread pool: the control API, starting an instance
(and reporting its load error), a debugged request.
Framing problems (400/408/413/431) were refused by `http_protocol` before anything here runs, and a
body that never completed arrives as a disconnect: such a request is never invoked.

Its request cycle has the Cocopot/Flask shape, written out by hand (no context-local globals):

  before    Host allow-list (`access`: against DNS rebinding), the control API's cross-site checks,
            request id, timing, path checks
  dispatch  the control API under `/__funcstudio/`, else `RouteTable.match` -> supervisor
  after     `X-Funcstudio-Request-Id` on every response
  teardown  publishes the finished invocation, always, also after an exception

The gateway's own errors answer in JSON; what a function (or the platform's route table)
answers keeps the platform's shape.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from studio import __version__
from studio.project.model import Function, Project, Route
from studio.runtime.access import AccessPolicy
from studio.runtime.debug import DEBUG_HEADER, PROFILE_HEADER
from studio.runtime.direct import build_direct_request, route_info
from studio.runtime.events import ErrorInfo, InvocationFinished, InvocationRecord, ParityWarning
from studio.runtime.faults import no_match_owner, render_no_match
from studio.runtime.http_protocol import WHOLE_RESPONSE
from studio.runtime.records import record_to_json
from studio.runtime.supervisor import Invocation, Supervisor, new_request_id

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__funcstudio"
REQUEST_ID_HEADER = "X-Funcstudio-Request-Id"
INVOCATION_TYPE_HEADER = "X-Funcstudio-Invocation-Type"
NOT_TOKEN = re.compile(r"[^A-Za-z0-9!#$%&'*+\-.^_`|~]")
"""A character outside RFC 9110's token: a response header name holding one cannot go out."""
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""A control character other than tab: a header value holding one cannot go out. (Regexes: a set
lookup per character cost ~14,000 instructions per request.)"""
RECENT_RECORDS = 256
REQUEST_THREADS = 512
"""Requests on a thread at once (starting an instance, debugged, control API); more wait in line for
a thread. Requests served on the loop and idle connections cost none."""
SERVER_HEADER = f"funcstudio/{__version__}"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
              "proxy-connection", "te", "trailer"}

Lookup = Callable[[str], dict | None]
"""request id -> a JSON-able invocation (the store's view), or None."""

CONTROL_MAP = Map([
    Rule(f"{CONTROL_PREFIX}/health", endpoint="health", methods=["GET"]),
    Rule(f"{CONTROL_PREFIX}/routes", endpoint="routes", methods=["GET"]),
    Rule(f"{CONTROL_PREFIX}/functions/<path:function_id>/invoke", endpoint="invoke", methods=["POST"]),
    Rule(f"{CONTROL_PREFIX}/invocations/<request_id>", endpoint="invocation", methods=["GET"]),
], strict_slashes=False)


def is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


_BLANK_RECORD = InvocationRecord(request_id="", function_id=None, platform=None, kind=None, trigger="", method="",
                                 path="")


def dispatcher_for(project: Project) -> str:
    """`asgi` once any EdgeOne entry is ASGI, else `flask` (RUNTIME_SPEC.md §2.5)."""
    for fn in project.functions:
        if fn.platform == "edgeone" and fn.kind == "asgi":
            return "asgi"
    return "flask"


def response_problem(status: int | None, headers) -> str | None:
    """Why a function's response cannot go out over HTTP as it is, or None."""
    if status is not None and not 200 <= int(status) <= 999:
        return f"status {status} is not a final HTTP status (200-999)"
    for name, value in headers:
        if not name or NOT_TOKEN.search(name) or BAD_VALUE.search(value):
            return (f"header {name!r}: {value!r} has a name that is not an HTTP token "
                    f"(a space, colon, bracket...) or a value with a line break or control character")
    return None


def match_warnings(match) -> tuple[ParityWarning, ...]:
    """Parity warnings only the route table knows (RUNTIME_SPEC.md §6); the worker adds the others."""
    found = []
    shadowed = getattr(match, "shadowed", None)
    route = getattr(match, "route", None)
    if shadowed is not None and route is not None:
        found.append(ParityWarning(
            "EO-STATIC-SHADOWS",
            f"The static route {route.path} answered {match.path}, which {shadowed.path} "
            f"({shadowed.file}) matches exactly; production sends it to {route.file} too.",
            "Move the static file, or make it an index of a folder without dynamic siblings."))
    return tuple(found)


@dataclass(frozen=True)
class RoutingState:
    """One consistent view of the project; swapped whole on reload, so a request never sees half."""

    project: Project
    table: object
    dispatcher: str
    asgi_single: bool = False
    """The project's only EdgeOne route is an ASGI entry: uvicorn serves it directly (§2.5)."""

    @classmethod
    def build(cls, project: Project) -> RoutingState:
        from studio.project.routing import RouteTable

        edgeone = [r for r in project.routes if r.platform == "edgeone"]
        single = len(edgeone) == 1 and edgeone[0].kind == "asgi"
        return cls(project=project, table=RouteTable(project.routes), dispatcher=dispatcher_for(project),
                   asgi_single=single)


@dataclass
class HttpRequest:
    """What the gateway needs of one HTTP request, read off the ASGI scope (plain data, no I/O)."""

    method: str
    path: str
    raw_path: str
    query_string: str
    headers: list[tuple[str, str]]
    """As the platform's WSGI front end hands them on: Title-Case names, repeats joined with ','."""
    remote_addr: str
    scheme: str
    server: tuple
    body: bytes = b""

    @classmethod
    def from_scope(cls, scope: dict, body: bytes) -> HttpRequest:
        client = scope.get("client") or ("127.0.0.1", 0)
        return cls(method=scope["method"].upper(), path=scope["path"],
                   raw_path=scope.get("raw_path", b"").decode("latin-1"),
                   query_string=scope.get("query_string", b"").decode("latin-1"),
                   headers=merged_headers(scope["headers"]), remote_addr=client[0],
                   scheme=scope.get("scheme", "http"), server=scope.get("server") or ("127.0.0.1", 0), body=body)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def host(self) -> str:
        return self.header("Host") or f"{self.server[0]}:{self.server[1]}"


def merged_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Header pairs the way werkzeug's WSGI server presented them (the worker's adapters expect that):
    names with '_' dropped (they would alias '-' names), Title-Case, a repeated name joined with ','."""
    merged: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        if "_" in key:
            continue
        key = key.title()
        text = value.decode("latin-1")
        merged[key] = f"{merged[key]},{text}" if key in merged else text
    return list(merged.items())


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        out, names = [], set()
        for name, value in self.headers:
            names.add(name.lower())
            out.append((name.encode("latin-1"), _header_bytes(value)))
        if "server" not in names:  # a handler class's own Server/Date pass through once
            out.append((b"server", SERVER_HEADER.encode()))
        if "date" not in names:
            out.append((b"date", http_date()))
        out.append((b"content-length", b"%d" % len(self.body)))
        return out


def _header_bytes(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


_date = [0, b""]


def http_date() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[1] = formatdate(now, usegmt=True).encode()
        _date[0] = now
    return _date[1]


@dataclass
class _Cycle:
    """Per-request state passed explicitly through the hooks."""

    request_id: str
    started_at: float
    t0: float
    record: InvocationRecord | None = None
    dispatched: bool = False
    announced: bool = False
    """`InvocationStarted` was published."""
    base: InvocationRecord | None = None
    extra: dict = field(default_factory=dict)


def _settle(answered: asyncio.Future, reply: Reply | None, exc: BaseException | None) -> None:
    if answered.done():  # the request's coroutine was cancelled (the server is stopping)
        return
    if exc is not None:
        answered.set_exception(exc)
    else:
        answered.set_result(reply)


def _cancel_if_cancelled(loop: asyncio.AbstractEventLoop, answered: asyncio.Future, work) -> None:
    """The pool dropped the request before it ran (closing): the coroutine must not wait forever."""
    if work.cancelled():
        try:
            loop.call_soon_threadsafe(answered.cancel)
        except RuntimeError:
            pass  # the loop is closed already


def json_response(payload: object, status: int = 200) -> Reply:
    return Reply(status, [("Content-Type", "application/json; charset=utf-8")],
                 json.dumps(payload, ensure_ascii=False, indent=None, default=str).encode("utf-8"))


def json_error(status: int, error: str, message: str, **extra) -> Reply:
    return json_response({"error": error, "message": message, **extra}, status)


def _route_json(route: Route) -> dict:
    return {"path": route.path, "src": route.src, "function_id": route.function_id, "file": route.file,
            "platform": route.platform, "kind": route.kind, "framework": route.framework,
            "methods": list(route.methods), "params": list(route.params), "catch_all": route.catch_all,
            "is_framework": route.is_framework}


class Gateway:
    def __init__(self, supervisor: Supervisor, project: Project, *, host: str = "127.0.0.1", port: int = 0,
                 lookup: Lookup | None = None) -> None:
        self.supervisor = supervisor
        self.bus = supervisor.bus
        self.state = RoutingState.build(project)
        self.host = host
        self.access = AccessPolicy(host, port)
        self.lookup = lookup
        self.recording_status: Callable[[], dict] | None = None
        """The store's `recording` fields for /health (set by whoever records this runtime)."""
        self._recent: OrderedDict[str, tuple] = OrderedDict()
        """request id -> (record, logs) of the last invocations; shaped as JSON only when asked for."""
        self._recent_lock = threading.Lock()
        self.reloading = False
        self._in_flight = 0
        """Requests being handled on the loop (read and written on the loop's thread only)."""
        self._pool = ThreadPoolExecutor(max_workers=REQUEST_THREADS, thread_name_prefix="funcstudio-request")

    @property
    def port(self) -> int:
        return self.access.port

    @port.setter
    def port(self, value: int) -> None:
        self.access.port = value

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- state ---------------------------------------------------------------------------

    def set_project(self, project: Project) -> None:
        self.state = RoutingState.build(project)

    def host_allowed(self, host: str) -> bool:
        return self.access.host_allowed(host)

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return  # no lifespan, no WebSocket
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left, or its framing was refused mid-body: never invoked
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._in_flight += 1
        try:
            reply = await self.handle(scope, body)
        except asyncio.CancelledError:
            return  # the server is stopping and has closed this connection: nobody to answer
        finally:
            self._in_flight -= 1
        headers = reply.asgi_headers()
        whole = scope.get("extensions", {}).get(WHOLE_RESPONSE)
        if whole is not None and whole(reply.status, headers, reply.body):
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def handle(self, scope: dict, body: bytes) -> Reply:
        """One request, start to end, on the event loop: its finished invocation is published before
        the reply goes out. Only what may block (the control API, a request that has to wait for or
        start an instance) runs on a pool thread."""
        cycle = _Cycle(request_id=new_request_id(), started_at=time.time(), t0=time.perf_counter())
        try:
            try:
                request = HttpRequest.from_scope(scope, body)
                reply = self.before_request(request, cycle) or await self.dispatch(request, cycle)
            except HTTPException as exc:
                reply = self.handle_http_exception(exc, cycle)
            except Exception as exc:  # noqa: BLE001 - the gateway answers everything, keeps serving
                reply = self.handle_exception(exc, cycle)
            return self.after_request(reply, cycle)
        finally:  # also when the request was cancelled: its invocation still ends
            try:
                self.teardown_request(cycle)
            except Exception:  # noqa: BLE001 - publishing failed; the answer still goes out
                log.exception("publishing request %s failed", cycle.request_id)

    def on_pool(self, call: Callable, *args, **kwargs) -> asyncio.Future:
        """`call(*args, **kwargs)` on a pool thread, its result handed to the loop with one call
        (run_in_executor's future chaining cost a few tens of microseconds per request)."""
        loop = asyncio.get_running_loop()
        answered = loop.create_future()
        work = self._pool.submit(self._run_for, loop, answered, partial(call, *args, **kwargs))
        work.add_done_callback(partial(_cancel_if_cancelled, loop, answered))
        return answered

    @staticmethod
    def _run_for(loop: asyncio.AbstractEventLoop, answered: asyncio.Future, call: Callable) -> None:
        result, failure = None, None
        try:
            result = call()
        except BaseException as exc:  # noqa: BLE001 - raised in the request's coroutine
            failure = exc
        try:
            loop.call_soon_threadsafe(_settle, answered, result, failure)
        except RuntimeError:
            pass  # the loop is closed: the server stopped and nobody waits for this answer

    # -- hooks ---------------------------------------------------------------------------

    def before_request(self, request: HttpRequest, cycle: _Cycle) -> Reply | None:
        control = is_control(request.path)
        host = request.header("Host")
        if host is not None and not (self.access.host_allowed(host) if control
                                     else self.access.route_host_allowed(host)):
            return json_error(403, "host-not-allowed",
                              f"Host {host!r} is not allowed: the gateway runs code and answers only its "
                              f"own names (DNS rebinding protection).")
        if control:
            refused = self.access.cross_site(request.header("Origin"), request.header("Sec-Fetch-Site"))
            if refused is not None:
                return json_error(403, *refused)
        path = request.path
        if "\x00" in path:
            return json_error(400, "bad-path", "the URL path contains a NUL byte")
        if any(seg in ("..", ".") for seg in path.split("/")) or "\\.." in path:
            return json_error(400, "path-traversal", f"the URL path {path!r} contains '.' or '..' segments")
        return None

    def after_request(self, reply: Reply, cycle: _Cycle) -> Reply:
        reply.headers.append((REQUEST_ID_HEADER, cycle.request_id))
        return reply

    def teardown_request(self, cycle: _Cycle) -> None:
        record = cycle.record
        if record is None and cycle.dispatched and cycle.base is not None:
            # dispatch started but never produced a record: still end the invocation
            record = dataclasses.replace(cycle.base, status=500, fault="internal",
                                         duration_ms=(time.perf_counter() - cycle.t0) * 1000)
        if record is not None:
            self.finish(record, cycle.extra.get("logs"))

    def finish(self, record: InvocationRecord, logs=None) -> None:
        with self._recent_lock:
            self._recent[record.request_id] = (record, logs)
            while len(self._recent) > RECENT_RECORDS:
                self._recent.popitem(last=False)
        self.bus.publish(InvocationFinished(record))

    def handle_http_exception(self, exc: HTTPException, cycle: _Cycle) -> Reply:
        code = exc.code or 500
        return json_error(code, (exc.name or "error").lower().replace(" ", "-"), exc.description or "",
                          request_id=cycle.request_id)

    def handle_exception(self, exc: Exception, cycle: _Cycle) -> Reply:
        log.exception("gateway failure on request %s", cycle.request_id)
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if cycle.base is not None and cycle.record is None:
            cycle.record = dataclasses.replace(
                cycle.base, status=500, fault="internal",
                error=ErrorInfo(type=type(exc).__name__, message=str(exc), traceback=trace),
                duration_ms=(time.perf_counter() - cycle.t0) * 1000)
        return json_error(500, "internal", f"funcstudio failed: {type(exc).__name__}: {exc}",
                          request_id=cycle.request_id, traceback=trace)

    # -- dispatch ------------------------------------------------------------------------

    async def dispatch(self, request: HttpRequest, cycle: _Cycle) -> Reply:
        if is_control(request.path):
            return await self.on_pool(self.dispatch_control, request, cycle)
        prepared = self.prepare_http(request, cycle)
        if isinstance(prepared, Reply):
            return prepared
        function, worker_request, warnings = prepared
        run = {"request_id": cycle.request_id, "base": cycle.base, "warnings": warnings}
        # announced once the request is on its way to the worker: the subscribers' work on the start
        # (the recorder holding it back) then overlaps with the function running
        invocation = await self.supervisor.run_on_loop(function, worker_request, request.body, **run,
                                                       alone=self._in_flight == 1,
                                                       on_sent=partial(self.announce, cycle))
        if not cycle.announced:
            self.announce(cycle)
        if invocation is None:  # no warm instance free: wait for one, or start one, on a thread
            invocation = await self.on_pool(self.supervisor.run, function, worker_request, request.body, **run)
        return self._respond(invocation, cycle)

    def announce(self, cycle: _Cycle) -> None:
        """Publish `InvocationStarted` once per request."""
        if not cycle.announced and cycle.base is not None:
            cycle.announced = True
            base = cycle.base
            self.supervisor.started(cycle.request_id, base.function_id, "http", base.method, base.path)

    def dispatch_control(self, request: HttpRequest, cycle: _Cycle) -> Reply:
        endpoint, args = CONTROL_MAP.bind("localhost").match(request.path, method=request.method)
        return getattr(self, f"control_{endpoint}")(request, cycle, **args)

    def _base_record(self, cycle: _Cycle, function: Function | None, trigger: str, method: str, path: str,
                     query_string: str, params: dict, headers, body: bytes) -> InvocationRecord:
        # from a blank record: InvocationRecord's frozen __init__ sets its ~35 fields one by one
        return _BLANK_RECORD.evolve(
            request_id=cycle.request_id, function_id=function.id if function else None,
            platform=function.platform if function else None, kind=function.kind if function else None,
            trigger=trigger, method=method, path=path, query_string=query_string, params=dict(params),
            request_headers=tuple((str(k), str(v)) for k, v in headers), request_body=body,
            started_at=cycle.started_at,
        )

    def prepare_http(self, request: HttpRequest, cycle: _Cycle) -> Reply | tuple:
        """Route the request and shape it for the worker: the platform's own answer when no route
        matches, else (function, worker request, the route table's parity warnings)."""
        state = self.state  # read once: a reload swaps it whole
        method = request.method.upper()
        path = request.path
        query_string = request.query_string
        headers = request.headers
        body = request.body
        match = state.table.match(method, path)
        route = getattr(match, "route", None)
        function = state.project.function(route.function_id) if route is not None else None
        params = {k: v for k, v in (getattr(match, "params", None) or {}).items() if v is not None}
        cycle.base = self._base_record(cycle, function, "http", method, path, query_string, params, headers, body)
        cycle.dispatched = True
        if route is None or function is None:
            self.announce(cycle)
            status = int(getattr(match, "status", 404) or 404)
            owner = no_match_owner(state.project, path)
            production = getattr(getattr(self.supervisor.settings, "edgeone", None), "headers", "production")
            status, hdrs, text = render_no_match(
                status if status in (404, 405) else 404, state.dispatcher, owner=owner,
                allowed=tuple(getattr(match, "allowed", ()) or ()),
                request_id=cycle.request_id if production == "production" else None,
                path=path, host=request.host or "")
            cycle.record = dataclasses.replace(cycle.base, status=status, response_headers=tuple(hdrs),
                                               response_body=text,
                                               duration_ms=(time.perf_counter() - cycle.t0) * 1000)
            return Reply(status, list(hdrs), text)
        route_dict, _ = route_info(route, path)
        route_dict["params"] = dict(getattr(match, "params", None) or {})
        worker_request = {
            "method": method,
            "path": path,
            "query_string": query_string,
            "headers": [[k, v] for k, v in headers],
            "remote_addr": request.remote_addr or "127.0.0.1",
            "scheme": request.scheme,
            "host": request.host,
            "server_port": self.port,
            "dispatcher": state.dispatcher,
            "route": route_dict,
            "request_id": cycle.request_id,
            "asgi_single": state.asgi_single,
        }
        if request.raw_path.startswith("/"):
            worker_request["raw_path"] = request.raw_path
        self.debug_options(worker_request, request.header(DEBUG_HEADER) is not None,
                           request.header(PROFILE_HEADER) is not None)
        return function, worker_request, match_warnings(match)

    def _respond(self, invocation: Invocation, cycle: _Cycle) -> Reply:
        record = invocation.record
        cycle.extra["logs"] = invocation.logs
        problem = response_problem(record.status, record.response_headers)
        if problem is not None:
            # HTTP cannot carry it: answer 502 and keep what the function returned in the record
            message = f"The function's response cannot be sent over HTTP: {problem}."
            record = dataclasses.replace(
                record, status=502, response_headers=(("Content-Type", "application/json; charset=utf-8"),),
                response_body=json.dumps({"error": "bad-response", "message": message}).encode(),
                error=record.error or ErrorInfo(type="InvalidResponse", message=message, traceback=""))
        cycle.record = record
        headers = [(k, v) for k, v in record.response_headers if k.lower() not in HOP_BY_HOP]
        return Reply(record.status or 500, headers, record.response_body)

    # -- control API ---------------------------------------------------------------------

    def control_health(self, request: HttpRequest, cycle: _Cycle) -> Reply:
        state = self.state
        return json_response({
            "status": "ok",
            "project": str(state.project.root),
            "functions": len(state.project.functions),
            "routes": len(state.project.routes),
            "dispatcher": state.dispatcher,
            "instances": self.supervisor.instances(),
            "waiting": self.supervisor.waiting(),
            "reloading": self.reloading,
            **(self.recording_status() if self.recording_status is not None else
               {"recording": "off", "recording_reason": "nothing records this runtime"}),
        })

    def control_routes(self, request: HttpRequest, cycle: _Cycle) -> Reply:
        state = self.state
        routes = []
        for route in state.project.routes:
            item = _route_json(route)
            inner = self.supervisor.inner_routes(route.function_id)
            if inner is not None:
                item["inner_routes"] = inner
            routes.append(item)
        return json_response({"dispatcher": state.dispatcher, "routes": routes,
                              "functions": [fn.id for fn in state.project.functions]})

    def control_invocation(self, request: HttpRequest, cycle: _Cycle, request_id: str) -> Reply:
        found = self.lookup(request_id) if self.lookup is not None else None
        with self._recent_lock:
            recent = self._recent.get(request_id)
        if found is None:
            found = record_to_json(*recent) if recent is not None else None
        elif recent is not None and recent[0].profile and not found.get("profile"):
            found["profile"] = [dict(row) for row in recent[0].profile]  # the store does not keep profiles
        if found is None:
            return json_error(404, "unknown-invocation", f"no invocation with request id {request_id!r}")
        return json_response(found)

    def control_invoke(self, request: HttpRequest, cycle: _Cycle, function_id: str) -> Reply:
        state = self.state
        function = state.project.function(function_id)
        if function is None:
            known = [fn.id for fn in state.project.functions]
            shown = ", ".join(known[:20]) + (f", … ({len(known) - 20} more)" if len(known) > 20 else "")
            return json_error(404, "unknown-function",
                              f"no function with id or alias {function_id!r} in this project; "
                              f"known ids: {shown or '(none)'} (all routes: GET {CONTROL_PREFIX}/routes)",
                              functions=known)
        raw = request.body
        try:
            event = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            if function.platform == "scf":  # the platform's own answer (RUNTIME_SPEC.md §3.7)
                from studio.runtime.platforms import scf_error_body

                body = scf_error_body(400, f"InvalidParameterValue: the event is not JSON: {exc}", cycle.request_id)
                return Reply(400, [("Content-Type", "application/json")], body)
            return json_error(400, "bad-event", f"the event is not JSON: {exc}")
        kind = request.header(INVOCATION_TYPE_HEADER) or "RequestResponse"
        if kind not in ("RequestResponse", "Event"):
            return json_error(400, "bad-invocation-type",
                              f"{INVOCATION_TYPE_HEADER} must be RequestResponse or Event, not {kind!r}")
        trigger = "async" if kind == "Event" else "invoke"
        options = {"debug": request.header(DEBUG_HEADER) is not None,
                   "profile": request.header(PROFILE_HEADER) is not None}
        if kind == "Event":
            threading.Thread(target=self.invoke_direct, args=(function, event, trigger, cycle.request_id),
                             kwargs=options, name=f"funcstudio-async-{cycle.request_id[:8]}", daemon=True).start()
            return json_response({"request_id": cycle.request_id, "function_id": function.id,
                                  "status": 202, "accepted": True}, 202)
        record, logs = self.invoke_direct(function, event, trigger, cycle.request_id, **options)
        return json_response(record_to_json(record, logs))

    def debug_options(self, worker_request: dict, marked: bool, profile: bool = False) -> None:
        """Session breakpoints (runtime/debug.py) and profiling, when they apply to this request."""
        spec = self.supervisor.debug.spec_for_request(marked)
        if spec is not None:
            worker_request["debug"] = spec
        if profile or self.supervisor.debug.profile_requests:
            worker_request["profile"] = True

    def invoke_direct(self, function: Function, event: object, trigger: str,
                      request_id: str | None = None, *, debug: bool = False, profile: bool = False):
        """Run a function by id with an event; publishes and returns (record, logs). `debug` marks it
        for the session breakpoints, `profile` runs it under cProfile."""
        request_id = request_id or new_request_id()
        defaults = {"remote_addr": "127.0.0.1", "scheme": "http", "host": f"127.0.0.1:{self.port}",
                    "server_port": self.port, "dispatcher": self.state.dispatcher}
        t0 = time.perf_counter()
        cycle = _Cycle(request_id=request_id, started_at=time.time(), t0=t0)
        worker_request, body = build_direct_request(function, event, request_id, trigger, defaults)
        self.debug_options(worker_request, debug, profile)
        method = str(worker_request.get("method") or "INVOKE")
        path = str(worker_request.get("path") or f"/{function.id}")
        params = (worker_request.get("route") or {}).get("params") or {}
        recorded_body = body
        if not body and worker_request.get("type") == "event":
            # An event function has no HTTP body: the event is what it was sent, so the record keeps
            # it there (History, `show` and `export --pytest` replay it from there).
            try:
                recorded_body = json.dumps(event, ensure_ascii=False).encode("utf-8")
            except (TypeError, ValueError):
                recorded_body = b""
        base = self._base_record(cycle, function, trigger, method, path,
                                 str(worker_request.get("query_string") or ""), params,
                                 worker_request.get("headers") or (), recorded_body)
        self.supervisor.started(request_id, function.id, trigger, method, path)
        record, logs = None, []
        try:
            invocation = self.supervisor.run(function, worker_request, body, request_id=request_id, base=base)
            record, logs = invocation.record, invocation.logs
        except Exception as exc:  # noqa: BLE001 - recorded as an internal fault
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            record = dataclasses.replace(
                base, status=500, fault="internal",
                error=ErrorInfo(type=type(exc).__name__, message=str(exc), traceback=trace),
                duration_ms=(time.perf_counter() - t0) * 1000)
        finally:
            if record is None:
                record = dataclasses.replace(base, status=500, fault="internal")
            self.finish(record, logs)
        return record, logs

"""The gateway: a werkzeug WSGI app in front of the worker instances.

Its request cycle has the Cocopot/Flask shape, written out by hand (no context-local globals):

  before    Host allow-list (against DNS rebinding), request id, timing, size and path checks
  dispatch  the control API under `/__funcstudio/`, else `RouteTable.match` -> supervisor
  after     `X-Funcstudio-Request-Id` on every response
  teardown  publishes the finished invocation, always, also after an exception

The gateway's own errors answer in JSON; what a function (or the platform's route table)
answers keeps the platform's shape.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import socket
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from studio.project.model import Function, Project, Route
from studio.runtime.direct import build_direct_request, route_info
from studio.runtime.events import ErrorInfo, InvocationFinished, InvocationRecord, ParityWarning
from studio.runtime.faults import render_no_match
from studio.runtime.records import record_to_json
from studio.runtime.supervisor import Invocation, Supervisor, new_request_id

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__funcstudio"
REQUEST_ID_HEADER = "X-Funcstudio-Request-Id"
INVOCATION_TYPE_HEADER = "X-Funcstudio-Invocation-Type"
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Request bodies beyond this are refused with 413 (platforms cap far lower: SCF 6 MB)."""
MAX_HEADER_BYTES = 64 * 1024
CLIENT_TIMEOUT_S = 60.0
"""A client silent this long mid-request (a body it declared but never sent) loses its connection."""
MAX_METHOD_CHARS = 32
METHOD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")
"""RFC 9110 token characters: anything else in a method is malformed HTTP."""
RECENT_RECORDS = 256
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
        if not name or any(c in name for c in " \t\r\n:") or any(c in value for c in "\r\n\x00"):
            return f"header {name!r}: {value!r} contains a space, colon or line break"
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
class _Cycle:
    """Per-request state passed explicitly through the hooks."""

    request_id: str
    started_at: float
    t0: float
    record: InvocationRecord | None = None
    dispatched: bool = False
    base: InvocationRecord | None = None
    extra: dict = field(default_factory=dict)


def json_response(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, indent=None, default=str), status=status,
                    content_type="application/json; charset=utf-8")


def json_error(status: int, error: str, message: str, **extra) -> Response:
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
        self.port = port
        self.lookup = lookup
        self._recent: OrderedDict[str, dict] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.reloading = False

    # -- state ---------------------------------------------------------------------------

    def set_project(self, project: Project) -> None:
        self.state = RoutingState.build(project)

    def host_allowed(self, host: str) -> bool:
        """Loopback names and the configured host, on our port (or with no port given)."""
        if self.host in ("0.0.0.0", "::"):
            return True  # bound to every interface on purpose: names are not known in advance
        name, port = host.lower(), None
        if name.startswith("["):
            end = name.find("]")
            name, rest = name[: end + 1], name[end + 1 :]
            port = rest[1:] if rest.startswith(":") else None
        elif name.count(":") == 1:
            name, port = name.split(":")
        configured = f"[{self.host}]" if ":" in self.host else self.host
        if name not in {"127.0.0.1", "localhost", "[::1]", configured.lower()}:
            return False
        return port is None or port == str(self.port)

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        cycle = _Cycle(request_id=new_request_id(), started_at=time.time(), t0=time.perf_counter())
        try:
            response = self.before_request(request, cycle) or self.dispatch(request, cycle)
        except HTTPException as exc:
            response = self.handle_http_exception(exc, cycle)
        except Exception as exc:  # noqa: BLE001 - the gateway answers everything, keeps serving
            response = self.handle_exception(exc, cycle)
        response = self.after_request(response, cycle)
        try:
            return response(environ, start_response)
        finally:
            self.teardown_request(cycle)

    # -- hooks ---------------------------------------------------------------------------

    def before_request(self, request: Request, cycle: _Cycle) -> Response | None:
        host = request.headers.get("Host")
        if host is not None and not self.host_allowed(host):
            return json_error(403, "host-not-allowed",
                              f"Host {host!r} is not allowed: the gateway runs code and answers only "
                              f"loopback names (DNS rebinding protection).")
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if header_bytes > MAX_HEADER_BYTES:
            return json_error(413, "headers-too-large",
                              f"request headers are {header_bytes} bytes; the limit is {MAX_HEADER_BYTES}")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise RequestEntityTooLarge(f"request body is {request.content_length} bytes; "
                                        f"the limit is {MAX_BODY_BYTES}")
        path = request.path
        if "\x00" in path:
            return json_error(400, "bad-path", "the URL path contains a NUL byte")
        if any(seg in ("..", ".") for seg in path.split("/")) or "\\.." in path:
            return json_error(400, "path-traversal", f"the URL path {path!r} contains '.' or '..' segments")
        return None

    def after_request(self, response: Response, cycle: _Cycle) -> Response:
        response.headers[REQUEST_ID_HEADER] = cycle.request_id
        return response

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
            self._recent[record.request_id] = record_to_json(record, logs)
            while len(self._recent) > RECENT_RECORDS:
                self._recent.popitem(last=False)
        self.bus.publish(InvocationFinished(record))

    def handle_http_exception(self, exc: HTTPException, cycle: _Cycle) -> Response:
        code = exc.code or 500
        return json_error(code, (exc.name or "error").lower().replace(" ", "-"), exc.description or "",
                          request_id=cycle.request_id)

    def handle_exception(self, exc: Exception, cycle: _Cycle) -> Response:
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

    def dispatch(self, request: Request, cycle: _Cycle) -> Response:
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            adapter = CONTROL_MAP.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            return getattr(self, f"control_{endpoint}")(request, cycle, **args)
        return self.dispatch_http(request, cycle)

    def _base_record(self, cycle: _Cycle, function: Function | None, trigger: str, method: str, path: str,
                     query_string: str, params: dict, headers, body: bytes) -> InvocationRecord:
        return InvocationRecord(
            request_id=cycle.request_id, function_id=function.id if function else None,
            platform=function.platform if function else None, kind=function.kind if function else None,
            trigger=trigger, method=method, path=path, query_string=query_string, params=dict(params),
            request_headers=tuple((str(k), str(v)) for k, v in headers), request_body=body,
            started_at=cycle.started_at,
        )

    def dispatch_http(self, request: Request, cycle: _Cycle) -> Response:
        state = self.state  # read once: a reload swaps it whole
        method = request.method.upper()
        path = request.path
        query_string = request.environ.get("QUERY_STRING", "")
        headers = list(request.headers.items())
        body = request.get_data(cache=False)
        match = state.table.match(method, path)
        route = getattr(match, "route", None)
        function = state.project.function(route.function_id) if route is not None else None
        params = {k: v for k, v in (getattr(match, "params", None) or {}).items() if v is not None}
        cycle.base = self._base_record(cycle, function, "http", method, path, query_string, params, headers, body)
        cycle.dispatched = True
        self.supervisor.started(cycle.request_id, cycle.base.function_id, "http", method, path)
        if route is None or function is None:
            status = int(getattr(match, "status", 404) or 404)
            status, hdrs, text = render_no_match(status if status in (404, 405) else 404, state.dispatcher)
            cycle.record = dataclasses.replace(cycle.base, status=status, response_headers=tuple(hdrs),
                                               response_body=text,
                                               duration_ms=(time.perf_counter() - cycle.t0) * 1000)
            return Response(text, status=status, headers=hdrs)
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
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        if raw_uri and raw_uri.startswith("/"):
            worker_request["raw_path"] = raw_uri.split("?", 1)[0]
        invocation = self.supervisor.run(function, worker_request, body, request_id=cycle.request_id,
                                         base=cycle.base)
        routing_warnings = match_warnings(match)
        if routing_warnings:
            record = invocation.record
            invocation.record = dataclasses.replace(record, warnings=(*record.warnings, *routing_warnings))
        return self._respond(invocation, cycle)

    def _respond(self, invocation: Invocation, cycle: _Cycle) -> Response:
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
        return Response(record.response_body, status=record.status or 500, headers=headers)

    # -- control API ---------------------------------------------------------------------

    def control_health(self, request: Request, cycle: _Cycle) -> Response:
        state = self.state
        return json_response({
            "status": "ok",
            "project": str(state.project.root),
            "functions": len(state.project.functions),
            "routes": len(state.project.routes),
            "dispatcher": state.dispatcher,
            "instances": self.supervisor.instances(),
            "reloading": self.reloading,
        })

    def control_routes(self, request: Request, cycle: _Cycle) -> Response:
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

    def control_invocation(self, request: Request, cycle: _Cycle, request_id: str) -> Response:
        found = self.lookup(request_id) if self.lookup is not None else None
        if found is None:
            with self._recent_lock:
                found = self._recent.get(request_id)
        if found is None:
            return json_error(404, "unknown-invocation", f"no invocation with request id {request_id!r}")
        return json_response(found)

    def control_invoke(self, request: Request, cycle: _Cycle, function_id: str) -> Response:
        state = self.state
        function = state.project.function(function_id)
        if function is None:
            known = [fn.id for fn in state.project.functions]
            shown = ", ".join(known[:20]) + (f", … ({len(known) - 20} more)" if len(known) > 20 else "")
            return json_error(404, "unknown-function",
                              f"no function with id or alias {function_id!r} in this project; "
                              f"known ids: {shown or '(none)'} (all routes: GET {CONTROL_PREFIX}/routes)",
                              functions=known)
        raw = request.get_data(cache=False)
        try:
            event = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            if function.platform == "scf":  # the platform's own answer (RUNTIME_SPEC.md §3.7)
                from studio.runtime.platforms import scf_error_body

                body = scf_error_body(400, f"InvalidParameterValue: the event is not JSON: {exc}", cycle.request_id)
                return Response(body, status=400, content_type="application/json")
            return json_error(400, "bad-event", f"the event is not JSON: {exc}")
        kind = request.headers.get(INVOCATION_TYPE_HEADER, "RequestResponse")
        if kind not in ("RequestResponse", "Event"):
            return json_error(400, "bad-invocation-type",
                              f"{INVOCATION_TYPE_HEADER} must be RequestResponse or Event, not {kind!r}")
        trigger = "async" if kind == "Event" else "invoke"
        if kind == "Event":
            threading.Thread(target=self.invoke_direct, args=(function, event, trigger, cycle.request_id),
                             name=f"funcstudio-async-{cycle.request_id[:8]}", daemon=True).start()
            return json_response({"request_id": cycle.request_id, "function_id": function.id,
                                  "status": 202, "accepted": True}, 202)
        record, logs = self.invoke_direct(function, event, trigger, cycle.request_id)
        return json_response(record_to_json(record, logs))

    def invoke_direct(self, function: Function, event: object, trigger: str,
                      request_id: str | None = None):
        """Run a function by id with an event; publishes and returns (record, logs)."""
        request_id = request_id or new_request_id()
        defaults = {"remote_addr": "127.0.0.1", "scheme": "http", "host": f"127.0.0.1:{self.port}",
                    "server_port": self.port, "dispatcher": self.state.dispatcher}
        t0 = time.perf_counter()
        cycle = _Cycle(request_id=request_id, started_at=time.time(), t0=t0)
        worker_request, body = build_direct_request(function, event, request_id, trigger, defaults)
        method = str(worker_request.get("method") or "INVOKE")
        path = str(worker_request.get("path") or f"/{function.id}")
        params = (worker_request.get("route") or {}).get("params") or {}
        base = self._base_record(cycle, function, trigger, method, path,
                                 str(worker_request.get("query_string") or ""), params,
                                 worker_request.get("headers") or (), body)
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


class PortInUse(OSError):
    pass


def serve(app, host: str, port: int):
    """A werkzeug threaded server on (host, port), silent, not yet serving. Raises PortInUse."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        timeout = CLIENT_TIMEOUT_S  # per read; without it a stalled client holds its thread forever

        def log_request(self, *args, **kwargs) -> None:  # the serve printer reports invocations
            pass

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            method = self.command or ""
            if not method or len(method) > MAX_METHOD_CHARS or not METHOD_CHARS.issuperset(method):
                self.send_error(400, f"invalid HTTP method {method[:MAX_METHOD_CHARS]!r}")
                return False
            return True

        def log(self, type: str, message: str, *args) -> None:
            if type == "error":
                log.debug(message, *args)

        # http.server's send_response adds Server and Date before the app's headers are known, so a
        # handler class's own Server/Date (which pass through on the platform) would be doubled.
        def send_response(self, code: int, message: str | None = None) -> None:
            self.log_request(code)
            self.send_response_only(code, message)
            self._header_names: set[str] | None = set()

        def send_header(self, keyword: str, value: str) -> None:
            names = getattr(self, "_header_names", None)
            if names is not None:
                names.add(keyword.lower())
            super().send_header(keyword, value)

        def end_headers(self) -> None:
            names = getattr(self, "_header_names", None)
            if names is not None:
                self._header_names = None
                if "server" not in names:
                    super().send_header("Server", self.version_string())
                if "date" not in names:
                    super().send_header("Date", self.date_time_string())
            super().end_headers()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """Malformed HTTP (bad request line, header too long, ...): a JSON answer with a status
            line, where http.server would send bare HTML to what it takes for HTTP/0.9."""
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            short = self.responses.get(code, ("Error", ""))[0]
            body = json.dumps({"error": short.lower().replace(" ", "-"), "message": message or short,
                               "status": code}).encode("utf-8")
            self.send_response(code, short)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header(REQUEST_ID_HEADER, new_request_id())
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
            self.close_connection = True

    # Bind here: werkzeug's own bind prints to stderr and exits the process when the port is taken.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(exc.errno, f"port {port} on {host} is already in use; "
                                       f"pick another with --port, or --port 0 for any free one") from exc
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        return make_server(host, sock.getsockname()[1], app, threaded=True, request_handler=QuietHandler,
                           fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor

"""EdgeOne function handlers: `handler(event, context)`, `handler(event)`, `handler(request)` (§2.7)."""

from __future__ import annotations

import base64
import functools
import inspect
import json
from urllib.parse import parse_qs

from . import capture
from .httpreq import HttpRequest

TEXT_PLAIN = "text/plain; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
ENVELOPE_KEYS = ("statusCode", "headers", "body", "isBase64Encoded")


def is_event_style(fn) -> tuple[bool, int]:
    """(event style?, how many positional arguments it takes, capped at 2). Worked out once per
    handler: `inspect.signature` on every request was a tenth of a warm invocation's time."""
    try:
        return _style_of(fn)
    except TypeError:  # an unhashable callable: nothing to remember it by
        return _event_style(fn)


@functools.lru_cache(maxsize=64)
def _style_of(fn) -> tuple[bool, int]:
    return _event_style(fn)


def _event_style(fn) -> tuple[bool, int]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False, 1
    names = [p.name for p in params]
    event = bool(names) and (names[0] in ("event", "evt") or (len(names) > 1 and names[1] in ("context", "ctx")))
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return event, 2
    return event, min(len(positional), 2)


def build_event(req: HttpRequest) -> dict:
    grouped: dict[str, list[str]] = {}
    for key, value in req.query_pairs():
        grouped.setdefault(key, []).append(value)
    query = {k: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}
    return {
        "httpMethod": req.method,
        "path": req.path,
        "queryStringParameters": query or None,
        "headers": req.header_dict(),
        "body": req.body.decode("utf-8", "replace"),
        "isBase64Encoded": False,
        "pathParameters": dict(req.params) or None,
    }


class SimpleRequest:
    """The ASGI dispatcher's request object (also used when Flask is not installed)."""

    def __init__(self, req: HttpRequest) -> None:
        self.method = req.method
        self.path = req.path
        self.query_string = req.query_string.encode("latin-1", "replace")
        self.headers = req.header_dict()
        self.host = req.header("host") or req.host
        self.remote_addr = req.remote_addr
        self.scheme = req.scheme
        self.url = f"{self.scheme}://{self.host}{req.target}"
        self.content_type = req.header("content-type")
        self.content_length = len(req.body)
        self.params = dict(req.params)
        self.data = req.body
        self.args = parse_qs(req.query_string, keep_blank_values=True)

    def get_data(self, as_text: bool = False):
        return self.data.decode("utf-8", "replace") if as_text else self.data

    def get_json(self, silent: bool = False):
        try:
            return json.loads(self.data)
        except ValueError:
            if silent:
                return None
            raise


class FlaskRequestContext:
    """Runs a handler with a real Flask `request`, as the Flask dispatcher does."""

    _app = None

    @classmethod
    def prepare(cls) -> None:
        """Create the dispatcher app ahead of time (the zygote does, so forks inherit it)."""
        if cls._app is None:
            import flask

            cls._app = flask.Flask("edgeone_dispatcher")

    def __init__(self, req: HttpRequest) -> None:
        import flask

        FlaskRequestContext.prepare()
        self._ctx = FlaskRequestContext._app.request_context(req.wsgi_environ())
        self.flask = flask

    def __enter__(self):
        self._ctx.push()
        return self.flask.request._get_current_object()

    def __exit__(self, *exc_info) -> None:
        self._ctx.pop()


def _flask_available() -> bool:
    try:
        import flask  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken flask install means SimpleRequest
        return False
    return True


def invoke(fn, req: HttpRequest, invocation, fixed: bool):
    event_style, arity = is_event_style(fn)
    prefix = "Handler error in ASGI dispatcher: " if req.asgi else "Handler error: "
    event = None
    try:
        if event_style:
            event = build_event(req)
            rv = fn(event, {}) if arity >= 2 else fn(event)
            return _map_return(rv, req, invocation, fixed, None)
        if req.asgi or not _flask_available():
            return _map_return(fn(SimpleRequest(req)), req, invocation, fixed, None)
        context = FlaskRequestContext(req)
        with context as request:
            request.params = dict(req.params)
            rv = fn(request)
            return _map_return(rv, req, invocation, fixed, context.flask)
    except Exception as exc:  # noqa: BLE001 - the platform answers any exception with a 500
        invocation.set_error(exc)
        _warn_null_params(exc, event, invocation)
        text = f"{prefix}{exc}\n{capture.traceback_text(exc)}"
        invocation.platform_log(text.rstrip("\n"), "ERROR")
        return 500, [("Content-Type", TEXT_PLAIN)], text.encode("utf-8")


def _warn_null_params(exc: Exception, event: dict | None, invocation) -> None:
    if event is None or not isinstance(exc, (TypeError, AttributeError)) or "NoneType" not in str(exc):
        return
    nulls = [k for k in ("queryStringParameters", "pathParameters") if event.get(k) is None]
    if nulls:
        invocation.warn(
            "EO-NULL-PARAMS",
            f"The handler failed on None while {' and '.join(nulls)} {'was' if len(nulls) == 1 else 'were'} "
            "null: the platform sends null, not {}, when there are no parameters.",
            "Use (event.get('queryStringParameters') or {}) before looking keys up.",
        )


def _map_return(rv, req: HttpRequest, invocation, fixed: bool, flask_module):
    """The return-value table of RUNTIME_SPEC.md §2.7."""
    if flask_module is not None and isinstance(rv, flask_module.Response):
        invocation.set_return(repr(rv))
        return rv.status_code, list(rv.headers.items()), rv.get_data()
    invocation.set_return(rv)
    if rv is None:
        return 204, [], b""
    if isinstance(rv, dict):
        return _envelope(rv, invocation, fixed)
    if isinstance(rv, str):
        return 200, [("Content-Type", TEXT_PLAIN)], rv.encode("utf-8")
    if isinstance(rv, (bytes, bytearray)):
        return 200, [("Content-Type", "application/octet-stream")], bytes(rv)
    if flask_module is None and hasattr(rv, "status_code") and hasattr(rv, "get_data"):
        # A Flask Response outside the Flask dispatcher: it is JSON-encoded, which fails.
        raise TypeError(f"Object of type {type(rv).__name__} is not JSON serializable")
    return 200, [("Content-Type", "application/json")], json.dumps(rv, ensure_ascii=False).encode("utf-8")


def _envelope(rv: dict, invocation, fixed: bool):
    if not any(key in rv for key in ENVELOPE_KEYS):
        invocation.warn(
            "EO-DICT-ENVELOPE",
            "The handler returned a plain dict. The platform treats every dict as a response envelope "
            "(statusCode/headers/body), so production answers 200 with an EMPTY body.",
            "Return {'statusCode': 200, 'body': {...}} or json.dumps(...) the data.",
        )
        if fixed:
            return 200, [("Content-Type", JSON_TYPE)], json.dumps(rv, ensure_ascii=False).encode("utf-8")
    status = int(rv.get("statusCode", 200))
    headers = [(str(k), str(v)) for k, v in dict(rv.get("headers") or {}).items()]
    body = rv.get("body", "")
    has_type = any(k.lower() == "content-type" for k, _ in headers)
    if isinstance(body, dict):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if not has_type:
            headers.append(("Content-Type", JSON_TYPE))
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        data = ("" if body is None else str(body)).encode("utf-8")
    if not has_type and not isinstance(body, dict):
        headers.append(("Content-Type", "text/html; charset=utf-8"))
    if rv.get("isBase64Encoded") is True:
        invocation.warn(
            "EO-B64-IGNORED",
            "The envelope sets isBase64Encoded: true, which the platform ignores: production sends the "
            "base64 text itself, not the decoded bytes.",
            "Return raw bytes (application/octet-stream) instead of a base64 envelope.",
        )
        if fixed:
            try:
                data = base64.b64decode(data)
            except ValueError:
                pass
    return status, headers, data

"""Direct (non-HTTP) invocations: an event in, the worker's request dict and body out.

The control API (`POST /__funcstudio/functions/<id>/invoke`) and `funcstudio invoke <id>` run a
function by id with a JSON event. An HTTP function (EdgeOne) reads the event as a description
of an HTTP request; an event function receives it as is. Platforms register their own builder
in `BUILDERS` (engineer G: SCF API Gateway/timer events, CocoBase payloads).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

from studio.project.model import Function, Route

Builder = Callable[[Function, object, str, str, dict], tuple[dict, bytes]]
"""(function, event, request_id, trigger, http_defaults) -> (request dict, body)."""


def _cocobase_request(function: Function, event: object, request_id: str, trigger: str,
                      defaults: dict) -> tuple[dict, bytes]:
    from studio.runtime.platforms import cocobase_direct_request

    return cocobase_direct_request(function, event, request_id, trigger, defaults)


BUILDERS: dict[str, Builder] = {"cocobase": _cocobase_request}


def route_info(route: Route | None, path: str) -> tuple[dict, dict[str, str]]:
    """The `route` part of a worker request and the params the path gives it."""
    if route is None:
        return {"path": path, "params": [], "strip_prefix": None, "catch_all": False,
                "is_framework": False}, {}
    params: dict[str, str] = {}
    m = re.match(route.src, path.rstrip("/") or "/")
    if m is not None:
        for name, value in zip(route.params, m.groups(), strict=False):
            if value is not None:
                params[name] = value
    return {
        "path": route.path,
        "params": params,
        "strip_prefix": route.strip_prefix,
        "catch_all": route.catch_all,
        "is_framework": route.is_framework,
        "excluded_dir": route.excluded_dir,
    }, params


def _http_from_event(function: Function, event: object, request_id: str, trigger: str,
                     defaults: dict) -> tuple[dict, bytes]:
    """An EdgeOne-style request description (`httpMethod`/`method`, `path`, `headers`, `body`)."""
    ev = event if isinstance(event, dict) else {}
    route = function.routes[0] if function.routes else None
    default_path = route.path.split(":", 1)[0].rstrip("/") or "/" if route else "/"
    path = str(ev.get("path") or default_path)
    method = str(ev.get("httpMethod") or ev.get("method") or ("POST" if "body" in ev else "GET")).upper()
    query = ev.get("queryStringParameters") or ev.get("query") or {}
    query_string = urlencode(query, doseq=True) if isinstance(query, dict) else str(query)
    headers = ev.get("headers") or {}
    header_pairs = [[str(k), str(v)] for k, v in (headers.items() if isinstance(headers, dict) else headers)]
    raw = ev.get("body", b"")
    if isinstance(raw, (dict, list)):
        body = json.dumps(raw, ensure_ascii=False).encode()
        if not any(k.lower() == "content-type" for k, _ in header_pairs):
            header_pairs.append(["Content-Type", "application/json"])
    elif ev.get("isBase64Encoded") and isinstance(raw, str):
        body = base64.b64decode(raw)
    elif isinstance(raw, str):
        body = raw.encode("utf-8")
    else:
        body = bytes(raw or b"")
    route_dict, _params = route_info(route, path)
    host = defaults.get("host", "127.0.0.1")
    if not any(k.lower() == "host" for k, _ in header_pairs):
        header_pairs.insert(0, ["Host", host])
    request = {
        **defaults,
        "method": method,
        "path": path,
        "query_string": query_string,
        "headers": header_pairs,
        "route": route_dict,
        "request_id": request_id,
        "trigger": trigger,
    }
    return request, body


def _plain_event(function: Function, event: object, request_id: str, trigger: str,
                 defaults: dict) -> tuple[dict, bytes]:
    return {"type": "event", "event": event, "context": {}, "trigger": trigger, "request_id": request_id}, b""


def build_direct_request(function: Function, event: object, request_id: str, trigger: str,
                         defaults: dict) -> tuple[dict, bytes]:
    builder = BUILDERS.get(function.platform)
    if builder is not None:
        return builder(function, event, request_id, trigger, defaults)
    if function.kind == "scf-event":
        return _plain_event(function, event, request_id, trigger, defaults)
    return _http_from_event(function, event, request_id, trigger, defaults)


"""Loading an entry file and telling what it is: app type, framework and the framework's routes."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys

from . import pinned_source

ASGI_CLASSES = ("FastAPI", "Starlette", "Quart", "Sanic")
ASGI_MODULES = ("fastapi", "starlette", "quart", "sanic")
WSGI_CLASSES = ("Flask", "Bottle", "WSGIApplication", "Django")
WSGI_MODULES = ("flask", "bottle", "django", "werkzeug", "pyramid")
FRAMEWORKS = ("flask", "django", "fastapi", "starlette", "sanic", "quart", "bottle", "cocopot")


def module_name_for(entry_path: str, code_root: str) -> str:
    """`api/users/[id].py` -> `api_users_[id]` (RUNTIME_SPEC.md §2.4)."""
    relative = os.path.relpath(entry_path, code_root).replace(os.sep, "/")
    if relative.endswith(".py"):
        relative = relative[:-3]
    return relative.replace("/", "_")


def load_module(name: str, path: str, source: bytes | None = None):
    """Import the file at `path` as module `name`; from `source` instead of the disk when given."""
    entry_loader = pinned_source.EntryLoader(name, path, source) if source is not None else None
    spec = importlib.util.spec_from_file_location(name, path, loader=entry_loader)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _call_params(obj) -> list[str]:
    bound_call = getattr(obj, "__call__", None)  # noqa: B004 - the signature is what we want
    for target in (obj, bound_call):
        if target is None:
            continue
        try:
            return list(inspect.signature(target).parameters)
        except (TypeError, ValueError):
            continue
    return []


def app_type(obj) -> str | None:
    """'asgi' | 'wsgi' | None by the platform adapter's rules (first hit wins)."""
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    call = getattr(cls, "__call__", None)  # noqa: B004 - we inspect it, not test callability
    if (inspect.iscoroutinefunction(obj) or (call is not None and inspect.iscoroutinefunction(call))
            or callable(getattr(obj, "asgi", None)) or cls.__name__ in ASGI_CLASSES
            or module.startswith(ASGI_MODULES)):
        return "asgi"
    if (cls.__name__ in WSGI_CLASSES or module.startswith(WSGI_MODULES)
            or callable(getattr(obj, "wsgi_app", None))):
        return "wsgi"
    params = _call_params(obj)
    if len(params) >= 2 and params[1] in ("start_response", "sr"):
        return "wsgi"
    return None


def framework_of(obj) -> str | None:
    module = (getattr(type(obj), "__module__", "") or "").split(".")[0].lower()
    if module in FRAMEWORKS:
        return module
    name = type(obj).__name__.lower()
    if name in FRAMEWORKS:
        return name
    if name == "wsgihandler" or name == "asgihandler":
        return "django"
    return None


def detect(module) -> tuple[str, str, object] | None:
    """(kind, attribute, object) of the entry, or None when nothing usable is defined."""
    from http.server import BaseHTTPRequestHandler

    namespace = vars(module)
    for name in ("app", "application"):
        obj = namespace.get(name)
        if obj is None:
            continue
        kind = app_type(obj)
        if kind:
            return kind, name, obj
    for name in ("handler", "Handler"):
        obj = namespace.get(name)
        if obj is None:
            continue
        if isinstance(obj, type) and issubclass(obj, BaseHTTPRequestHandler):
            return "handler-class", name, obj
        if callable(obj):
            return "http-function", name, obj
    return None


# -- the framework's own routes --------------------------------------------------------------


def inner_routes(obj, framework: str | None) -> list[dict]:
    try:
        if framework == "flask" or hasattr(obj, "url_map"):
            return _flask_routes(obj)
        if framework == "django":
            return _django_routes()
        if framework == "cocopot":
            return _cocopot_routes(obj)
        if framework == "sanic":
            return _sanic_routes(obj)
        if hasattr(obj, "routes"):
            return _starlette_routes(obj.routes, "")
    except Exception:  # noqa: BLE001 - route listing is informative, never fatal
        return []
    return []


def _flask_routes(app) -> list[dict]:
    routes = []
    for rule in app.url_map.iter_rules():
        methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        routes.append({"methods": methods, "path": rule.rule, "name": rule.endpoint})
    return routes


def _starlette_routes(routes, prefix: str) -> list[dict]:
    found = []
    for route in routes:
        path = prefix + getattr(route, "path", "")
        sub = getattr(route, "routes", None)
        if sub and not hasattr(route, "endpoint"):
            found.extend(_starlette_routes(sub, path))
            continue
        methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
        found.append({"methods": methods, "path": path, "name": getattr(route, "name", None)})
    return found


def _django_routes() -> list[dict]:
    from django.urls import get_resolver

    found: list[dict] = []

    def walk(patterns, prefix):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, text)
            else:
                found.append({"methods": [], "path": "/" + text.lstrip("^").rstrip("$"),
                              "name": getattr(pattern, "name", None)})

    walk(get_resolver().url_patterns, "")
    return found


def _cocopot_routes(app) -> list[dict]:
    router = app.router
    found = []
    for rule, by_method in router.static_routes.items():
        args = next(iter(by_method.values()))
        found.append({"methods": sorted(by_method), "path": rule, "name": args.get("endpoint")})
    for pattern in router.dynamic_patterns:
        by_method = router.dynamic_routes[pattern]
        args = next(iter(by_method.values()))
        found.append({"methods": sorted(by_method), "path": args.get("rule"), "name": args.get("endpoint")})
    return found


def _sanic_routes(app) -> list[dict]:
    found = []
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        found.append({"methods": sorted(set(route.methods) - {"HEAD", "OPTIONS"}), "path": path,
                      "name": route.name})
    return found


def route_matching(routes: list[dict], path: str) -> str | None:
    """The first declared route (Flask `<x>`, Starlette `{x}`, Sanic `<x>`, Django path or regex)
    whose template matches `path`, or None."""
    for route in routes:
        template = str(route.get("path") or "")
        if template and _template_regex(template).fullmatch(path):
            return template
    return None


def _template_regex(template: str):
    if template.startswith("/^") or template.endswith("$"):  # a Django re_path
        try:
            return re.compile("/" + template.lstrip("/").lstrip("^").rstrip("$"))
        except re.error:
            return re.compile(re.escape(template))
    parts = re.split(r"(<[^>]+>|\{[^}]+\})", template)
    pattern = ""
    for part in parts:
        if part.startswith(("<", "{")) and part.endswith((">", "}")):
            pattern += ".+" if "path" in part.split(":")[0] or part.endswith(":path}") else "[^/]+"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


# -- import failures that production would answer differently ---------------------------------


def sibling_import(exc: BaseException, entry_path: str, code_root: str) -> str | None:
    """The missing module's name when it exists beside the entry but not under the code root."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    head = exc.name.split(".")[0]
    folder = os.path.dirname(entry_path)
    if os.path.realpath(folder) == os.path.realpath(code_root):
        return None
    if os.path.exists(os.path.join(folder, head + ".py")) or os.path.isdir(os.path.join(folder, head)):
        return head
    return None

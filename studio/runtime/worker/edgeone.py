"""The EdgeOne Pages adapter: load one `cloud-functions/` entry, answer as the platform's app.py does.

RUNTIME_SPEC.md §2.4-§2.9: module naming, app type, dispatcher header case, the four invocation
modes, prefix stripping, return mapping, 404/405/500 bodies, injected headers and stderr lines.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
import warnings
from urllib.parse import urlsplit, urlunsplit

from . import asgi, capture, cocopot_compat, eo_function, handler_class, loader, wsgi
from .httpreq import HttpRequest, werkzeug_case

EXCLUDED_DIRS = ("__pycache__", ".git", "node_modules", "venv", ".venv", "scripts", "tests", ".pytest_cache")
COPIED_EXTENSIONS = (".py", ".json", ".yaml", ".yml", ".txt", ".toml", ".ini", ".env")
FLASK_DISPATCHER_METHODS = frozenset(("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"))
FLASK_405 = ("<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
             "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n")
INTERNAL_HOST = "127.0.0.1:9000"  # the SCF web function behind the platform listens on $PORT 9000
# Bytecode and extension modules are produced or installed in place in production.
_ALWAYS_READABLE = (".pyc", ".pyo", ".so", ".pyd")


_OID = uuid.NAMESPACE_OID.bytes


def log_uuid(request_id: str) -> str:
    """`uuid.uuid5(NAMESPACE_OID, request_id).hex` without building UUID objects (per request)."""
    digest = bytearray(hashlib.sha1(_OID + request_id.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def create(runtime):
    warnings.simplefilter("ignore")  # production runs `python3 -W ignore -u app.py`
    # The platform's web function listens on $PORT (9000); `edgeone pages dev` picks 9100 and up.
    dev = str(runtime.extra.get("edgeone.headers") or "production") == "dev"
    os.environ.setdefault("PORT", "9100" if dev else "9000")
    install_file_filter(runtime)
    cocopot_compat.install(runtime)
    return EdgeOneAdapter(runtime)


def _excluded_dir(relative: str) -> str | None:
    for part in relative.split("/")[:-1]:
        if part in EXCLUDED_DIRS:
            return part
    return None


def install_file_filter(runtime) -> None:
    """Make opening a file that the build does not copy fail as in production (EO-FILE-NOT-COPIED)."""
    root = runtime.code_root.rstrip("/") + "/"
    # An interpreter that lives inside the code root (a venv there) must still import its packages.
    prefixes = tuple({os.path.realpath(p).rstrip("/") + "/" for p in (sys.prefix, sys.base_prefix)})

    def hook(event, args):
        if event != "open":
            return
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return
        if isinstance(mode, str):
            if any(c in mode for c in "wax+"):
                return
        elif isinstance(flags, int) and (flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            return
        full = os.path.abspath(path)
        if not full.startswith(root) or full.startswith(prefixes):
            return
        relative = full[len(root):]
        extension = os.path.splitext(relative)[1].lower()
        if "/__pycache__/" in "/" + relative or extension in _ALWAYS_READABLE:
            return
        excluded = _excluded_dir(relative)
        if extension in COPIED_EXTENSIONS and excluded is None:
            return
        if os.path.isdir(full) or not os.path.exists(full):
            return  # a folder, or a file missing here too (a path hook probing sys.path): no difference
        why = f"its folder {excluded}/ is excluded from the build" if excluded else \
            f"the build copies only {' '.join(COPIED_EXTENSIONS)} files"
        runtime.current().warn(
            "EO-FILE-NOT-COPIED",
            f"open({relative!r}) failed: {why}, so the file does not exist in production.",
            "Store the data in a .json/.txt file beside the code, or fetch it from storage.",
        )
        raise FileNotFoundError(2, "No such file or directory", path)

    sys.addaudithook(hook)


class EdgeOneAdapter:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.kind = self.config.get("kind") or "http-function"
        self.framework = None
        self.inner_routes: list[dict] = []
        self.target = None
        self.asgi_runner = None
        self._redirect_slashes: bool | None = None
        relative = os.path.relpath(runtime.entry_path, runtime.code_root).replace(os.sep, "/")
        self.module_name = loader.module_name_for(runtime.entry_path, runtime.code_root)
        self.excluded = _excluded_dir(relative)
        self.headers_mode = str(runtime.extra.get("edgeone.headers") or "production")
        if self.excluded:
            return  # production has no module behind this route (EO-EXCLUDED-DIR-ROUTE)
        try:
            module = loader.load_module(self.module_name, runtime.entry_path, runtime.entry_source)
        except Exception as exc:
            self._warn_sibling(exc)
            raise
        detected = loader.detect(module)
        if detected is None:
            if not any(not name.startswith("__") for name in vars(module)):
                # an empty module (discovery never routes one) was truncated by an in-place save after the
                # route was found, so this is a load error (the supervisor serves the last good
                # instance, or the next one reads the finished file), not the platform's 404
                raise SyntaxError(f"{relative} defines nothing (an unfinished save?)")
            self.kind = None
            return
        self.kind, _attribute, self.target = detected
        if self.kind in ("wsgi", "asgi"):
            self.framework = loader.framework_of(self.target)
        if self.kind == "asgi":
            router = getattr(self.target, "router", None)
            redirect = getattr(router, "redirect_slashes", None)
            self._redirect_slashes = redirect if isinstance(redirect, bool) else None
            self.asgi_runner = asgi.AsgiRunner(self.target)
            self.asgi_runner.startup()
        if self.kind in ("wsgi", "asgi"):
            self.inner_routes = loader.inner_routes(self.target, self.framework)
        if self.framework == "cocopot" or cocopot_compat.used_by(runtime.project_modules()):
            runtime.load_invocation.warn(*cocopot_compat.SHIM_WARNING)

    def _warn_sibling(self, exc: BaseException) -> None:
        name = loader.sibling_import(exc, self.runtime.entry_path, self.runtime.code_root)
        if name:
            self.runtime.current().warn(
                "EO-SIBLING-IMPORT",
                f"`import {name}` finds {name}.py beside the entry only because of how it ran here; "
                "production puts only cloud-functions/ on sys.path, so it fails with ModuleNotFoundError.",
                f"Import it from the cloud-functions root, e.g. `from {self._package_of_entry()} import {name}`.",
            )

    def _package_of_entry(self) -> str:
        relative = os.path.relpath(os.path.dirname(self.runtime.entry_path), self.runtime.code_root)
        return relative.replace(os.sep, ".")

    # -- one request -------------------------------------------------------------------------

    def invoke(self, invocation, request: dict, body: bytes):
        if request.get("type") == "event":
            text = "EdgeOne functions answer HTTP requests only; send an HTTP request.\n"
            return 400, [("Content-Type", "text/plain; charset=utf-8")], text.encode()
        req = HttpRequest(request, body, self._request_headers(request))
        if self.headers_mode == "production":
            os.environ["_LAMBDA_RUNTIME_REQUEST_ID"] = req.request_id
        host = req.header("eo-pages-host")
        if host:
            proto = req.header("x-forwarded-proto") or "https"
            invocation.platform_log(f"Pages request path: {proto}://{host}{req.path}")
        else:
            invocation.platform_log(f"Pages request path: {req.path}")
        status, headers, data, own = self._dispatch(invocation, req)
        if invocation.exception is not None:
            self._warn_sibling(invocation.exception)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(data))))
        if not (own and req.asgi):
            headers.append(("eo-pages-inner-scf-status", str(status)))
            headers.append(("eo-pages-inner-status-intercept", "true" if status >= 500 else "false"))
            request_id = os.environ.get("_LAMBDA_RUNTIME_REQUEST_ID")
            if request_id:
                headers.append(("Functions-Request-Id", request_id))
        invocation.platform_log(f"Pages response status: {status}")
        return status, headers, data

    def _request_headers(self, request: dict) -> list[tuple[str, str]]:
        pairs = [(str(k), str(v)) for k, v in request.get("headers") or []]
        names = {k.lower() for k, _ in pairs}
        if self.headers_mode == "production":
            request_id = request.get("request_id") or uuid.uuid4().hex
            host = next((v for k, v in pairs if k.lower() == "host"), request.get("host") or "localhost")
            synthetic = [
                ("eo-pages-host", host), ("x-forwarded-proto", "https"),
                ("eo-connecting-ip", request.get("remote_addr") or "127.0.0.1"),
                ("eo-connecting-geo", "asn=0,nation_name=local,region_code=LOCAL"),
                ("eo-log-uuid", log_uuid(request_id)),
                ("x-scf-request-id", request_id), ("x-scf-region", "ap-guangzhou"),
            ]
            pairs += [(k, v) for k, v in synthetic if k not in names]
        elif self.headers_mode == "dev":
            original_host = next((v for k, v in pairs if k.lower() == "host"), request.get("host") or "")
            pairs = [(k, v) for k, v in pairs if k.lower() != "host"] + [
                ("host", "127.0.0.1:9100"), ("x-forwarded-for", request.get("remote_addr") or "127.0.0.1"),
                ("x-forwarded-port", str(request.get("server_port") or "")),
                ("x-forwarded-proto", request.get("scheme") or "http"), ("x-forwarded-host", original_host),
            ]
        if (request.get("dispatcher") or "flask") == "asgi":
            return [(k.lower(), v) for k, v in pairs]
        return [(werkzeug_case(k), v) for k, v in pairs]

    def _plain(self, req: HttpRequest, status: int, text: str):
        ctype = "text/plain; charset=utf-8" if req.asgi else "text/plain"
        return status, [("Content-Type", ctype)], text.encode(), True

    def _dispatch(self, invocation, req: HttpRequest):
        fixed = self.runtime.fixed
        route = req.route
        if not req.asgi and req.method not in FLASK_DISPATCHER_METHODS:
            # the Flask dispatcher's catch-all rules list these methods only; Flask answers the rest
            return 405, [("Content-Type", "text/html; charset=utf-8"),
                         ("Allow", ", ".join(sorted(FLASK_DISPATCHER_METHODS)))], FLASK_405.encode(), False
        if self.excluded:
            invocation.warn(
                "EO-EXCLUDED-DIR-ROUTE",
                f"This entry lies in {self.excluded}/, which the build does not copy: production routes the "
                "request here, prints `Error loading module` and answers 404.",
                f"Move the file out of {self.excluded}/ or rename the folder.",
            )
            invocation.platform_log(f"Error loading module {self.module_name}: No such file or directory", "ERROR")
            return self._plain(req, 404, "Not Found")
        if self.kind is None:
            return self._plain(req, 404, "Not Found")
        if route.get("catch_all") and not route.get("is_framework") and not any(req.params.values()):
            # A framework app under [[x]] receives `/` here, which the official templates rely on
            # (`GET /api/` is their root endpoint): only a handler sees the difference (null params).
            invocation.warn(
                "EO-CATCHALL-EMPTY",
                "This catch-all route answered a path with nothing after its prefix. The docs say "
                "[[x]] needs one segment or more, but production matches zero too.",
                "Handle the empty case explicitly; do not rely on a sibling route receiving it.",
            )
        if self.kind == "http-function":
            return (*eo_function.invoke(self.target, req, invocation, fixed), False)
        if self.kind == "handler-class":
            return (*handler_class.invoke(self.target, req, invocation, fixed,
                                          lambda: self._plain(req, 405, "Method Not Allowed")[:3],
                                          project_root=self.runtime.project_root), False)
        strip = route.get("strip_prefix")
        if route.get("is_framework") and route.get("path") == "/" and not route.get("catch_all") \
                and req.path != "/":
            invocation.warn(
                "EO-ROOT-FRAMEWORK",
                "A framework app in cloud-functions/index.py answers only `/` in production (the adapter's "
                "root special case never matches), so this path gets 404 there.",
                "Move the app to cloud-functions/[[default]].py (a catch-all) to serve every path.",
            )
            if not fixed:
                return self._plain(req, 404, "Not Found")
        if strip and (req.path == strip or req.path.startswith(strip + "/")):
            script_name, path_info = strip, req.path[len(strip):] or "/"
        else:
            script_name, path_info = "", req.path
        invocation.app_path = path_info
        if self.kind == "wsgi":
            answer = self._wsgi(invocation, req, script_name, path_info, fixed)
        else:
            answer = self._asgi(invocation, req, script_name, path_info)
        if answer[0] == 404 and script_name:
            self._warn_stripped(invocation, req, script_name, path_info)
        return (*answer, False)

    def _warn_stripped(self, invocation, req: HttpRequest, prefix: str, path_info: str) -> None:
        """The app 404s on the stripped path but declares a route for the full one: it was written
        for the URL the client sees, not for the path production hands it."""
        declared = loader.route_matching(self.inner_routes, req.path)
        if declared is None:
            return
        invocation.warn(
            "EO-PREFIX-STRIPPED",
            f"The app answered 404 for {path_info}: production strips the route prefix {prefix} from {req.path} "
            f"before the app sees it, and the app's route {declared} matches only the unstripped path.",
            f"Declare the route without the prefix ({declared[len(prefix):] if declared.startswith(prefix) else declared}"
            f"), or move the file so that its place under cloud-functions/ gives no prefix.",
        )

    def _wsgi(self, invocation, req: HttpRequest, script_name: str, path_info: str, fixed: bool):
        prefix = "WSGI error in ASGI dispatcher: " if req.asgi else "WSGI error: "
        if req.asgi and self.framework == "django":
            invocation.warn(
                "EO-ASGI-DISPATCH-WSGI",
                "Another entry in this project is ASGI, so production runs every route under the ASGI "
                "dispatcher, where this Django WSGI app fails with `Expected ASGI message "
                "'http.response.body', but got 'http.response.start'`.",
                "Serve Django through get_asgi_application(), or remove the ASGI entry (Django's own "
                "asgi.py counts).",
            )
            if not fixed:
                message = "Expected ASGI message 'http.response.body', but got 'http.response.start'."
                return self._error(invocation, prefix, RuntimeError(message))
        environ = req.wsgi_environ(script_name, path_info)
        cocopot_compat.before_request(self.target, invocation, req)
        try:
            return wsgi.call(self.target, environ)
        except Exception as exc:  # noqa: BLE001 - the platform answers any exception with a 500
            return self._error(invocation, prefix, exc)

    def _asgi(self, invocation, req: HttpRequest, root_path: str, path: str):
        single = bool(req.raw.get("asgi_single"))
        router = getattr(self.target, "router", None)
        if self._redirect_slashes is not None:
            # uvicorn serving a project's only ASGI route runs it with redirect_slashes off
            router.redirect_slashes = False if single else self._redirect_slashes
        status, headers, body = self._asgi_once(invocation, req, root_path, path)
        if single and status == 404 and req.method in ("GET", "HEAD", "OPTIONS") and not path.endswith("/"):
            status, headers, body = self._asgi_once(invocation, req, root_path, path + "/")
        if not single and status in (307, 308) and path != "/":
            headers = self._slash_redirect(invocation, req, root_path, path, headers)
        return status, headers, body

    def _slash_redirect(self, invocation, req: HttpRequest, root_path: str, path: str, headers):
        location = next((v for k, v in headers if k.lower() == "location"), None)
        if location is None:
            return headers
        parts = urlsplit(location)
        if parts.path not in (path.rstrip("/"), path + "/") or parts.path == path:
            return headers
        invocation.warn(
            "EO-SLASH-REDIRECT",
            f"The app redirects {req.path} to add or drop a trailing slash. Under the ASGI dispatcher production "
            "sends that 307 with a Location on the function's internal host (and without the route prefix), "
            "which the client cannot reach.",
            "Call the path without a trailing slash, or declare both forms in the app.",
        )
        if self.runtime.fixed:
            target = f"{req.scheme}://{req.header('host') or req.host}{root_path}{parts.path}"
        else:
            target = urlunsplit((parts.scheme or "http", INTERNAL_HOST, parts.path, parts.query, parts.fragment))
        if parts.query and self.runtime.fixed:
            target += "?" + parts.query
        return [(k, target if k.lower() == "location" else v) for k, v in headers]

    def _asgi_once(self, invocation, req: HttpRequest, root_path: str, path: str):
        scope = asgi.http_scope(req, path, root_path)
        response, error = self.asgi_runner.request(scope, req.body)
        if error is not None:
            invocation.set_error(error)
            if not response["started"]:
                return self._error(invocation, "ASGI error: ", error)
            invocation.platform_log(f"ASGI error: {error}\n{capture.traceback_text(error)}".rstrip("\n"), "ERROR")
        return response["status"], response["headers"], response["body"]

    def _error(self, invocation, prefix: str, exc: BaseException):
        invocation.set_error(exc)
        text = f"{prefix}{exc}\n{capture.traceback_text(exc)}"
        invocation.platform_log(text.rstrip("\n"), "ERROR")
        return 500, [("Content-Type", "text/plain; charset=utf-8")], text.encode("utf-8")

    def close(self) -> None:
        if self.asgi_runner is not None:
            self.asgi_runner.close()


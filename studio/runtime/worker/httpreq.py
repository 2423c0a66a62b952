"""The HTTP request of an invoke frame, seen the way a platform dispatcher hands it to user code."""

from __future__ import annotations

import io
import sys
from urllib.parse import parse_qsl, quote

from . import serve

_CASED: dict[str, str] = {}
_CASED_MAX = 512


def werkzeug_case(name: str) -> str:
    """Header names as Flask's `request.headers` yields them (`user-agent` -> `User-Agent`);
    remembered, since the same few names come with every request."""
    cased = _CASED.get(name)
    if cased is None:
        cased = name.replace("_", "-").title()
        if len(_CASED) < _CASED_MAX:
            _CASED[name] = cased
    return cased


class TrackedHeaders(dict):
    """A plain dict of headers that notices lookups missing only by case (EO-HEADER-CASE)."""

    warning_id = "EO-HEADER-CASE"

    def _miss(self, key) -> None:
        if not isinstance(key, str):
            return
        lowered = key.lower()
        for existing in dict.keys(self):
            if existing.lower() == lowered:
                invocation = serve.current()
                if invocation is not None:
                    invocation.warn(
                        self.warning_id,
                        f"Header lookup {key!r} missed: the header arrived as {existing!r}. "
                        "Header case depends on the dispatcher, and production fails the same lookup.",
                        "Look headers up case-insensitively, e.g. {k.lower(): v for k, v in headers.items()}.",
                    )
                return

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            self._miss(key)
            raise

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        self._miss(key)
        return default

    def __contains__(self, key) -> bool:
        found = dict.__contains__(self, key)
        if not found:
            self._miss(key)
        return found


class HttpRequest:
    """Fields of the invoke frame's `request`, with headers already in the dispatcher's case."""

    def __init__(self, request: dict, body: bytes, header_pairs: list[tuple[str, str]]) -> None:
        self.raw = request
        self.method = str(request.get("method") or "GET").upper()
        self.path = request.get("path") or "/"
        self.raw_path = request.get("raw_path") or quote(self.path, safe="/%:@!$&'()*+,;=~")
        self.query_string = request.get("query_string") or ""
        self.remote_addr = request.get("remote_addr") or "127.0.0.1"
        self.scheme = request.get("scheme") or "http"
        self.host = request.get("host") or "localhost"
        self.server_port = int(request.get("server_port") or (443 if self.scheme == "https" else 80))
        self.dispatcher = request.get("dispatcher") or "flask"
        self.route = request.get("route") or {}
        self.params = {str(k): ("" if v is None else str(v)) for k, v in (self.route.get("params") or {}).items()}
        self.request_id = request.get("request_id") or ""
        self.body = body
        self.headers = header_pairs

    @property
    def asgi(self) -> bool:
        return self.dispatcher == "asgi"

    @property
    def target(self) -> str:
        """The request line's target: raw path plus query."""
        return self.raw_path + ("?" + self.query_string if self.query_string else "")

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default

    def header_dict(self) -> TrackedHeaders:
        merged: dict[str, str] = {}
        for key, value in self.headers:
            merged[key] = merged[key] + ", " + value if key in merged else value
        return TrackedHeaders(merged)

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def server_name_port(self) -> tuple[str, int]:
        """(name, port) from the Host header: `example.test:8080`, `[::1]:8080`, `example.test`."""
        host = self.header("host") or self.host
        if host.startswith("["):
            name, _, rest = host.partition("]")
            name, port = name + "]", rest[1:] if rest.startswith(":") else ""
        elif host.count(":") == 1:
            name, _, port = host.partition(":")
        else:
            name, port = host, ""
        try:
            return name, int(port) if port else self.server_port
        except ValueError:
            return name, self.server_port

    def wsgi_environ(self, script_name: str = "", path_info: str | None = None) -> dict:
        name, port = self.server_name_port()
        path_info = self.path if path_info is None else path_info
        environ = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": _latin1(script_name),
            "PATH_INFO": _latin1(path_info),
            "QUERY_STRING": self.query_string,
            "SERVER_NAME": name,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "REMOTE_PORT": "0",
            "REQUEST_URI": self.target,
            "RAW_URI": self.target,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(self.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(self.body)),
        }
        for key, value in self.headers:
            upper = key.upper().replace("-", "_")
            if upper == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif upper == "CONTENT_LENGTH":
                continue
            else:
                field = "HTTP_" + upper
                environ[field] = environ[field] + "," + value if field in environ else value
        return environ


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")

"""EdgeOne handler classes: a BaseHTTPRequestHandler run on a synthetic socket (§2.6)."""

from __future__ import annotations

import io
import types

from . import capture, makers
from .httpreq import HttpRequest

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class _SyntheticSocket:
    """Just enough of a socket for StreamRequestHandler: a readable request, a recorded reply."""

    def __init__(self, raw_request: bytes) -> None:
        self._request = raw_request
        self.written = bytearray()

    def makefile(self, mode: str = "r", *args, **kwargs):
        if "r" in mode:
            return io.BytesIO(self._request)
        return _Writer(self)

    def sendall(self, data) -> None:
        self.written += bytes(data)

    def settimeout(self, *_args) -> None:
        pass

    def setsockopt(self, *_args) -> None:
        pass

    def getpeername(self):
        return ("127.0.0.1", 0)

    def close(self) -> None:
        pass


class _Writer(io.RawIOBase):
    def __init__(self, sock: _SyntheticSocket) -> None:
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)


def _silenced(cls):
    return type(cls.__name__, (cls,), {
        "log_request": lambda self, *a, **k: None,
        "log_message": lambda self, *a, **k: None,
        "__module__": cls.__module__,
    })


def invoke(cls, req: HttpRequest, invocation, fixed: bool, not_allowed, project_root: str | None = None):
    if not hasattr(cls, "do_" + req.method):
        return not_allowed()
    if project_root is not None:  # EdgeOne Makers: `self.context.agent.store`, `self.context.env`
        cls = makers.attach(cls, project_root, lambda: invocation)
    lines = [f"{req.method} {req.target} HTTP/1.1"]
    for key, value in req.headers:
        if key.lower() != "content-length":
            lines.append(f"{key}: {value}")
    lines.append(f"{'content-length' if req.asgi else 'Content-Length'}: {len(req.body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + req.body
    sock = _SyntheticSocket(raw)
    name, port = req.server_name_port()
    server = types.SimpleNamespace(server_name=name, server_port=port)
    try:
        _silenced(cls)(sock, (req.remote_addr, 0), server)
    except Exception as exc:  # noqa: BLE001 - the platform answers any exception with a 500
        invocation.set_error(exc)
        text = f"BaseHTTPRequestHandler error: {exc}\n{capture.traceback_text(exc)}"
        invocation.platform_log(text.rstrip("\n"), "ERROR")
        return 500, [("Content-Type", "text/plain; charset=utf-8")], text.encode("utf-8")
    return _parse(bytes(sock.written), invocation, fixed)


def _parse(written: bytes, invocation, fixed: bool):
    head, _, body = written.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        error = {"type": "RuntimeError", "message": "the handler wrote no HTTP status line",
                 "traceback": "RuntimeError: the handler wrote no HTTP status line\n", "frames": []}
        invocation.error = invocation.error or error
        text = "BaseHTTPRequestHandler error: the handler wrote no HTTP status line\n"
        return 500, [("Content-Type", "text/plain; charset=utf-8")], text.encode()
    pairs = []
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            pairs.append((key.strip(), value.strip()))
    collapsed: dict[str, str] = {}
    repeated = set()
    for key, value in pairs:
        if key in collapsed:
            repeated.add(key)
        collapsed[key] = value
    if repeated:
        invocation.warn(
            "EO-HEADERS-COLLAPSED",
            f"The handler sent {', '.join(sorted(repeated))} more than once; the platform keeps headers "
            "in a dict, so production sends only the last value.",
            "Send one header per name (join cookie values differently, or use a framework app).",
        )
    headers = pairs if fixed else list(collapsed.items())
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        invocation.warn(
            "EO-BINARY-BODY",
            "The response body is not valid UTF-8; the platform decodes it with errors ignored, so "
            "production drops the undecodable bytes.",
            "Serve binary data from a function handler returning bytes, or base64-encode it as text.",
        )
        if not fixed:
            body = body.decode("utf-8", "ignore").encode("utf-8")
    headers = [(k, str(len(body)) if k.lower() == "content-length" else v) for k, v in headers]
    return status, headers, body

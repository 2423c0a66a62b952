"""The HTTP/1.1 connection protocol the gateway listens with: uvicorn's httptools protocol, stricter.

llhttp (under httptools) already refuses what werkzeug's development server let through:
Transfer-Encoding together with Content-Length, a bad or duplicated Content-Length, and chunk
sizes that overrun the body. This protocol adds the framing rules llhttp leaves to the server, so
that a malformed or oversized request is answered here and never reaches the application:

  - HTTP/0.9 (a request line without a version)                  400
  - a request head larger than `max_head_bytes`                   431
  - a body declared or streamed larger than `max_body_bytes`      413, without reading it whole
  - a head or body that stalls for `stall_timeout_s`              408
  - every refusal is JSON naming the reason (uvicorn answers plain text) and closes the connection.

It also offers the application one ASGI extension, `WHOLE_RESPONSE`: a response known whole (status,
headers, body) goes out in one write. uvicorn's `send` writes the head and the body apart, two TCP
segments that a keep-alive client reads in two wake-ups.

A request the protocol refused mid-body reaches the application as `http.disconnect`, which the
gateway treats as "never invoke".
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus

import httptools
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# uvicorn precomputes status lines for 100-599 only; a function may answer anything up to 999.
for _code in range(600, 1000):
    httptools_impl.STATUS_LINE.setdefault(_code, b"HTTP/1.1 %d \r\n" % _code)

WHOLE_RESPONSE = "funcstudio.whole_response"
"""`scope["extensions"][WHOLE_RESPONSE](status, headers, body) -> bool`: headers are (bytes, bytes)
with the Content-Length; False (nothing written) when the response must go through `send`."""

LINGER_S = 2.0
"""After refusing a body, keep discarding what the client still sends this long before closing, so
it can read the answer instead of meeting a connection reset mid-upload."""


@dataclass(frozen=True)
class HttpLimits:
    max_head_bytes: int = 64 * 1024
    max_body_bytes: int = 32 * 1024 * 1024
    stall_timeout_s: float = 4.0
    """A request whose head or body makes no progress this long is answered 408 (and never invoked)."""
    keep_alive_s: float = 30.0
    """An idle keep-alive connection is closed after this long (it costs no thread meanwhile)."""


def refusal(status: int, error: str, message: str) -> bytes:
    """A complete HTTP/1.1 response refusing the request; the connection closes after it."""
    body = json.dumps({"error": error, "message": message, "status": status}).encode()
    phrase = HTTPStatus(status).phrase
    return b"".join([
        f"HTTP/1.1 {status} {phrase}\r\n".encode(),
        b"content-type: application/json; charset=utf-8\r\n",
        b"content-length: %d\r\n" % len(body),
        b"x-funcstudio-request-id: %s\r\n" % str(uuid.uuid4()).encode(),
        b"connection: close\r\n\r\n",
        body,
    ])


def looks_like_http09(data: bytes) -> bool:
    """The first line of `data` is a complete request line with a method and target but no version."""
    end = data.find(b"\n")
    if end < 0:
        return False
    line = data[:end].rstrip(b"\r").lstrip()
    parts = line.split(b" ")
    return len(parts) == 2 and all(parts) and not line.endswith(b"HTTP/1.1") and not line.endswith(b"HTTP/1.0")


class GatewayProtocol(HttpToolsProtocol):
    """One client connection. `limits` is bound per server (see `protocol_for`)."""

    limits = HttpLimits()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between requests or inside a request head
        self._head_bytes = 0
        self._marks = 0  # heads and messages completed on this connection
        self._begun = False  # the parser has started on a request it has not finished
        self._body_bytes = 0
        self._progress = 0.0  # monotonic time of the last byte of the current head or body
        self._stall_timer = None
        self._refused = False
        self._deferred: bytes | None = None  # a refusal waiting for earlier pipelined answers

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # uvicorn arms its idle timer only after a first response: a silent client would stay forever
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                            self.timeout_keep_alive_handler)

    def connection_lost(self, exc) -> None:
        self._cancel_stall_timer()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:
        """The client closed its sending side. A complete request still gets its answer (then the
        connection closes); one whose body stopped short is dropped and never invoked."""
        cycle = self.cycle
        if self._refused:
            return True  # the refusal's linger closes the connection
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            cycle.keep_alive = False  # a complete request: answer it, then close
            return True
        return None

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: discard, never buffer
        self._progress = time.monotonic()
        if not self._begun and looks_like_http09(data):  # `data` starts a request
            self.refuse(400, "http-0.9", "HTTP/0.9 requests (no version on the request line) are not served")
            return
        self._unset_keepalive_if_required()
        marks = self._marks
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no upgrades here: the request is served as plain HTTP, then the connection closes
            # (llhttp stops parsing after an upgrade request, so nothing after it would be read)
            if self.cycle is not None:
                self.cycle.keep_alive = False
        except httptools.HttpParserError as exc:
            if not self._refused:
                reason = str(exc) or type(exc).__name__
                self.refuse(400, "malformed-http", f"malformed HTTP request: {reason}")
            return
        if self._refused:
            return
        # Timers only for what is left waiting: a request that arrived whole arms none.
        cycle = self.cycle
        if self._in_head:
            if self._marks == marks:  # all of `data` belongs to an unfinished head
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_head_bytes:
                    self.refuse(431, "headers-too-large",
                                f"the request head is over {self.limits.max_head_bytes} bytes")
                    return
            if self._begun and self._stall_timer is None and (cycle is None or cycle.response_complete):
                self._arm_stall_timer()
        elif (self._stall_timer is None and cycle is not None and cycle.more_body
              and not cycle.response_complete and not self.pipeline):
            self._arm_stall_timer()  # the body is still due: it must keep coming

    # -- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._marks += 1
        self._in_head = False
        self._head_bytes = 0
        self._body_bytes = 0
        version = self.parser.get_http_version()
        if version not in ("1.1", "1.0"):
            self.refuse(400, "http-version", f"HTTP/{version} is not served here (HTTP/1.0 and 1.1 are)")
            return
        length = self._declared_length()
        if length is not None and length > self.limits.max_body_bytes:
            self.refuse(413, "body-too-large",
                        f"the request body is {length} bytes; the limit is {self.limits.max_body_bytes}")
            return
        if self.parser.should_upgrade() and (length or self._chunked()):
            # llhttp ends an upgrade request at its head: the body would silently go missing
            self.refuse(400, "upgrade-with-body",
                        "an Upgrade request with a body is not served (no upgrades here); "
                        "send it without the Upgrade header")
            return
        self._cancel_stall_timer()  # the head is complete; data_received times a body still due
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # uvicorn made this request's cycle
            self.scope["extensions"] = {WHOLE_RESPONSE: partial(self._whole_response, cycle)}

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            self.refuse(413, "body-too-large",
                        f"the request body is over the limit of {self.limits.max_body_bytes} bytes")
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_stall_timer()
        self._marks += 1
        self._begun = False
        self._in_head = True
        self._head_bytes = 0
        if not self._refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        if self._deferred is not None:
            if not self.pipeline and (cycle is None or cycle.response_complete):
                answer, self._deferred = self._deferred, None
                self._unset_keepalive_if_required()
                self._write_refusal(answer)
            return
        if not self._refused and cycle is not None and not cycle.response_complete and cycle.more_body:
            self._arm_stall_timer()  # a pipelined request just started and its body is still due

    def _whole_response(self, cycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        """Head and body in one write, the cycle's state moved as uvicorn's `send` moves it."""
        if cycle.response_started or cycle.flow.write_paused:
            return False  # uvicorn's `send` raises, or waits for the client to drain
        if cycle.disconnected:
            return True  # as uvicorn: nobody to answer
        names = b"".join(name for name, _ in headers)
        values = b"".join(value for _, value in headers)
        # uvicorn's own checks, once over all names and once over all values (character classes)
        if httptools_impl.HEADER_RE.search(names) or httptools_impl.HEADER_VALUE_RE.search(values):
            raise RuntimeError("Invalid HTTP header name or value.")
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        parts = [httptools_impl.STATUS_LINE[status]]
        for name, value in headers:
            parts += (name.lower(), b": ", value, b"\r\n")
        if not cycle.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if cycle.scope["method"] != "HEAD":
            parts.append(body)
        self.transport.write(b"".join(parts))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()
        return True

    def send_400_response(self, msg: str) -> None:  # uvicorn's own path (e.g. an upgrade it cannot do)
        self.refuse(400, "malformed-http", msg)

    # -- refusing --------------------------------------------------------------------------

    def _declared_length(self) -> int | None:
        for name, value in self.headers:
            if name == b"content-length":
                return int(value)  # llhttp accepted it: one value, digits only
        return None

    def _chunked(self) -> bool:
        return any(name == b"transfer-encoding" for name, _ in self.headers)

    def refuse(self, status: int, error: str, message: str) -> None:
        """Answer `status` now, end the request for the application (it sees a disconnect) and
        close the connection after a short linger that discards whatever the client still sends."""
        if self._refused:
            return
        self._refused = True
        self._cancel_stall_timer()
        self._unset_keepalive_if_required()
        cycle = self.cycle
        if self.pipeline or (cycle is not None and not cycle.response_complete and not cycle.more_body):
            # a later (pipelined) request is refused while earlier ones are still being answered:
            # its answer goes out after theirs, in order
            self._deferred = refusal(status, error, message)
            return
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:  # the application already answered: just cut it short
                self.transport.close()
                cycle.disconnected = True
                cycle.message_event.set()
                return
            cycle.disconnected = True
            cycle.message_event.set()
        self._write_refusal(refusal(status, error, message))

    def _write_refusal(self, answer: bytes) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        try:
            self.transport.write_eof()
        except (NotImplementedError, AttributeError, RuntimeError, OSError):
            self.transport.close()
            return
        self.loop.call_later(LINGER_S, self.transport.close)

    def _arm_stall_timer(self) -> None:
        self._cancel_stall_timer()
        self._progress = time.monotonic()
        self._stall_timer = self.loop.call_later(self.limits.stall_timeout_s, self._check_stall)

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _check_stall(self) -> None:
        self._stall_timer = None
        if self._refused or self.transport.is_closing():
            return
        idle = time.monotonic() - self._progress
        if idle < self.limits.stall_timeout_s:
            self._stall_timer = self.loop.call_later(self.limits.stall_timeout_s - idle, self._check_stall)
            return
        if self.cycle is not None and self.cycle.response_complete and not self._begun:
            self.transport.close()  # idle between requests: nothing to answer
            return
        what = "request head" if self._in_head else "request body"
        self.refuse(408, "request-timeout",
                    f"the {what} stopped arriving for {self.limits.stall_timeout_s:g} s "
                    f"(shorter than its Content-Length?); the request was not run")


def protocol_for(limits: HttpLimits) -> type[GatewayProtocol]:
    """A protocol class bound to `limits` (uvicorn instantiates the class itself)."""
    return type("BoundGatewayProtocol", (GatewayProtocol,), {"limits": limits})

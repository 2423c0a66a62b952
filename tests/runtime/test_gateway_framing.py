"""Lying and malformed HTTP framing on a raw socket (issue 11, item 6): every case is answered by the
listening server and never reaches a function. A function that ran would leave an invocation on the
bus, so each test checks there is none for the request it sent."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from gw_helpers import request, serving, wait_until, write_files

pytestmark = pytest.mark.slow

SECRET = "Bearer secret-token-of-an-earlier-request"
FILES = {
    "cloud-functions/echo.py": """
        from http.server import BaseHTTPRequestHandler

        class handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                self.wfile.write(body)
    """,
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("framing"), FILES)
    with serving(root) as rt:
        # fill the server's memory with another request's secrets first: none may ever reach a function
        big = b"s" * (4 * 1024 * 1024)
        reply = request(rt.port, "POST", "/echo", body=big, headers={"Authorization": SECRET, "Cookie": SECRET})
        assert reply.status == 200 and reply.body == big
        yield rt


def invoked(runtime) -> list:
    from studio.runtime.events import InvocationStarted

    return runtime.events.of(InvocationStarted)


def exchange(port: int, data: bytes, *, half_close: bool = False, timeout: float = 30.0) -> bytes:
    """Send `data`, then read until the server closes (or the timeout, which fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def refused(raw: bytes, status: int) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), raw[:200]
    assert b"connection: close" in head.lower()
    return json.loads(body)


def assert_not_invoked(runtime, before: int) -> None:
    # a well-formed request on a fresh connection is answered, and it is the only new invocation
    reply = request(runtime.port, "POST", "/echo", body=b"after")
    assert reply.status == 200 and reply.body == b"after"
    new = invoked(runtime)[before:]
    assert [e.request_id for e in new] == [reply.headers["x-funcstudio-request-id"]]
    record = wait_until(lambda: runtime.events.finished(new[0].request_id), 10)
    assert record.request_body == b"after"
    assert SECRET not in json.dumps([list(h) for h in record.request_headers])


POST = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.mark.parametrize("head, error", [
    (POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     "Transfer-Encoding can't be present with Content-Length"),
    (POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     "Content-Length"),
    (POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", "Duplicate Content-Length"),
    (POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "Duplicate Content-Length"),
    (POST + b"Content-Length: 5x\r\n\r\nhello", "Content-Length"),
    (POST + b"Content-Length: -5\r\n\r\nhello", "Content-Length"),
    (POST + b"Content-Length: 5, 5\r\n\r\nhello", "Content-Length"),
    (POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", "chunk"),  # chunk overruns its size
    (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "chunk size"),
    (POST + b"Transfer-Encoding: gzip\r\n\r\nhello", "Transfer-Encoding"),
    (b"GET /echo\r\n", "HTTP/0.9"),
    (b"GET /echo\r\n\r\n", "HTTP/0.9"),
    (b"GET /echo HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", "HTTP/2.0"),
], ids=["te+cl", "cl+te", "duplicate-cl", "conflicting-cl", "bad-cl", "negative-cl", "cl-list",
        "chunk-overrun", "bad-chunk-size", "te-not-chunked", "http0.9", "http0.9-blank", "http2-on-http1"])
def test_malformed_framing_is_400_and_never_invoked(runtime, head, error):
    before = len(invoked(runtime))
    answer = refused(exchange(runtime.port, head), 400)
    assert error.lower() in answer["message"].lower()
    assert answer["error"] in ("malformed-http", "http-0.9", "http-version")
    assert_not_invoked(runtime, before)


def test_lying_chunk_size_then_close_never_reaches_the_function(runtime):
    """Declares 4 GiB, sends 2 bytes and closes: werkzeug's dev server handed the function ~32 MiB of
    its own uninitialised memory (earlier requests' secrets); here nothing runs."""
    before = len(invoked(runtime))
    raw = exchange(runtime.port, POST + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nab", half_close=True)
    assert raw == b"" or raw.startswith(b"HTTP/1.1 4")
    assert_not_invoked(runtime, before)


def test_short_bodies_time_out_408_and_are_never_invoked(runtime):
    """A Content-Length longer than the body, a chunk size longer than what follows, and a head that
    stops halfway, each with the connection left open: 408 after the stall timeout (4 s, the
    default), not a hang."""
    from studio.runtime.http_protocol import HttpLimits

    assert HttpLimits().stall_timeout_s <= 5
    before = len(invoked(runtime))
    cases = {"content-length": POST + b"Content-Length: 100\r\n\r\nshort",
             "chunk": POST + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nab",
             "head": POST + b"Content-Le"}
    answers: dict[str, bytes] = {}
    threads = [threading.Thread(target=lambda k=k, v=v: answers.__setitem__(k, exchange(runtime.port, v)))
               for k, v in cases.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for name in cases:
        answer = refused(answers[name], 408)
        assert answer["error"] == "request-timeout" and "not run" in answer["message"], name
    assert_not_invoked(runtime, before)


def test_a_chunked_body_over_the_limit_is_413_without_reading_it_whole(runtime):
    from studio.runtime.http_protocol import HttpLimits

    limit = HttpLimits().max_body_bytes
    before = len(invoked(runtime))
    chunk = b"x" * (1024 * 1024)
    total = 40 * 1024 * 1024
    assert total > limit
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=30) as sock:
        sent = threading.Event()

        def send() -> None:
            try:
                sock.sendall(POST + b"Transfer-Encoding: chunked\r\n\r\n")
                for _ in range(total // len(chunk)):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server stopped reading after its answer: expected
            finally:
                sent.set()

        sender = threading.Thread(target=send)
        sender.start()
        data = b""
        while chunk_in := sock.recv(65536):
            data += chunk_in
        sender.join(30)
    answer = refused(data, 413)
    assert answer["error"] == "body-too-large" and str(limit) in answer["message"]
    assert_not_invoked(runtime, before)


def test_a_declared_length_over_the_limit_is_413_before_the_body(runtime):
    from studio.runtime.http_protocol import HttpLimits

    before = len(invoked(runtime))
    raw = exchange(runtime.port, POST + b"Content-Length: %d\r\n\r\n" % (HttpLimits().max_body_bytes + 1))
    assert refused(raw, 413)["error"] == "body-too-large"
    assert_not_invoked(runtime, before)


def test_a_request_head_over_the_limit_is_431(runtime):
    before = len(invoked(runtime))
    raw = exchange(runtime.port, POST + b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 8000) for i in range(20)))
    assert refused(raw, 431)["error"] == "headers-too-large"
    assert_not_invoked(runtime, before)


def test_well_formed_pipelined_and_upgrade_requests_are_answered(runtime):
    """The strict protocol still serves what is well formed: two pipelined POSTs on one connection
    each get their own body, and an Upgrade request (no upgrades here) is answered, then closed."""
    pipelined = exchange(runtime.port, POST + b"Content-Length: 3\r\n\r\nabc" + POST
                         + b"Content-Length: 3\r\nConnection: close\r\n\r\ndef")
    assert pipelined.count(b"HTTP/1.1 200 OK") == 2
    assert pipelined.index(b"\r\n\r\nabc") < pipelined.index(b"\r\n\r\ndef")
    # a malformed request behind a good one: the good one is answered first, then the 400, in order
    before = len(invoked(runtime))
    mixed = exchange(runtime.port, POST + b"Content-Length: 3\r\n\r\nabc" + POST + b"Content-Length: 5x\r\n\r\n")
    first, _, rest = mixed.partition(b"\r\n\r\nabc")
    assert first.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.1" not in first[8:]
    assert refused(rest, 400)["error"] == "malformed-http"
    assert len(invoked(runtime)) == before + 1
    upgrade = exchange(runtime.port, b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
                       b"Upgrade: h2c\r\n\r\n")
    assert upgrade.startswith(b"HTTP/1.1 501") or upgrade.startswith(b"HTTP/1.1 405")  # echo has no do_GET
    # llhttp would end an Upgrade POST at its head and drop the body: refused rather than run without it
    before = len(invoked(runtime))
    with_body = exchange(runtime.port, POST + b"Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nup")
    assert refused(with_body, 400)["error"] == "upgrade-with-body"
    assert_not_invoked(runtime, before)


def test_a_request_split_right_after_another_is_not_taken_for_http09(runtime):
    """The next request's head starts in the same packet as the previous request's end and goes on
    in the next one; the continuation ("Host: x" has two words) is not a request line of its own."""
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=30) as sock:
        sock.sendall(POST + b"Content-Length: 3\r\n\r\nabcPOST /echo HTTP/1.1\r\n")
        first = sock.recv(65536)
        while b"abc" not in first:
            first += sock.recv(65536)
        sock.sendall(b"Host: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\ndef")
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    assert first.startswith(b"HTTP/1.1 200 OK") and rest.startswith(b"HTTP/1.1 200 OK") and rest.endswith(b"def")


def _answer(raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    return status, dict(line.lower().split(b": ", 1) for line in lines), body


def test_answers_written_whole_keep_uvicorns_framing(runtime):
    """The gateway writes an answer's head and body in one write (its own ASGI extension): HEAD still
    gets the Content-Length and no body, HTTP/1.0 and `Connection: close` get `connection: close`
    and the close, and keep-alive answers end exactly at their Content-Length."""
    status, headers, body = _answer(exchange(runtime.port, b"HEAD /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                           b"Connection: close\r\n\r\n"))
    assert status.startswith(b"HTTP/1.1 405") and int(headers[b"content-length"]) > 0 and body == b""  # no do_HEAD
    assert headers[b"connection"] == b"close"
    status, headers, body = _answer(exchange(runtime.port, b"POST /echo HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                                                           b"Content-Length: 2\r\n\r\nhi"))
    assert status == b"HTTP/1.1 200 OK" and headers[b"connection"] == b"close" and body == b"hi"
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=30) as sock:
        for text in (b"one", b"two"):
            sock.sendall(POST + b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
            raw = b""
            while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < len(text):
                raw += sock.recv(65536)
            status, headers, body = _answer(raw)
            assert status == b"HTTP/1.1 200 OK" and b"connection" not in headers and body == text

"""Small real-HTTP helpers for the gateway/supervisor/reload tests (no mocks: a real socket)."""

from __future__ import annotations

import http.client
import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import helpers


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 60.0, host: str = "127.0.0.1") -> Reply:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        pairs = resp.getheaders()
        return Reply(resp.status, {k.lower(): v for k, v in pairs}, pairs, data)
    finally:
        conn.close()


def raw_request(port: int, data: bytes, timeout: float = 30.0) -> bytes:
    """Send bytes as they are (malformed HTTP included) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll `predicate` until it returns a truthy value; the value, or AssertionError at the bound."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Every {relative path: text} into root, each text dedented and without its leading newlines."""
    return helpers.write_files(root, {rel: textwrap.dedent(text).lstrip("\n") for rel, text in files.items()})


class EventLog:
    """A bus subscriber that keeps every event (it only appends, as subscribers must)."""

    def __init__(self) -> None:
        self.events: list = []
        self._lock = threading.Lock()

    def __call__(self, event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, cls) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, cls)]

    def finished(self, request_id: str):
        from studio.runtime.events import InvocationFinished

        for e in self.of(InvocationFinished):
            if e.record.request_id == request_id:
                return e.record
        return None

    def logs(self, request_id: str) -> list:
        from studio.runtime.events import LogLine

        return [e for e in self.of(LogLine) if e.request_id == request_id]


@contextmanager
def serving(root: Path, settings=None, *, reload: bool = False) -> Iterator:
    """`root` served by a started Runtime on 127.0.0.1 (port 0), every event it publishes kept in
    `runtime.events` (an EventLog); stopped on exit."""
    from studio.runtime.server import Runtime

    runtime = Runtime(root, settings, host="127.0.0.1", port=0, reload=reload)
    runtime.events = EventLog()
    runtime.bus.subscribe(runtime.events)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()

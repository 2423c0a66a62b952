"""Shared pieces of the runtime benchmarks: a generated project, HTTP timing, medians."""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLASK_APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return "hello from flask"
"""

KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (file under cloud-functions/, source, request path)
    "handler-class": ("cls.py", """
        from http.server import BaseHTTPRequestHandler

        class handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"hello from a class"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
    """, "/cls"),
    "http-function": ("fn.py", """
        def handler(event, context):
            return {"statusCode": 200, "body": "hello from a function"}
    """, "/fn"),
    "wsgi (flask)": ("flask-app/index.py", FLASK_APP, "/flask-app/hello"),
}


def write_project(root: Path, kinds=KINDS) -> Path:
    for _kind, (rel, source, _path) in kinds.items():
        path = root / "cloud-functions" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return root


def get(port: int, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def timed_get(port: int, path: str) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    status, body = get(port, path)
    return (time.perf_counter() - t0) * 1000, status, body


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(*cells, widths=(26, 14, 14, 10)) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))


def writer_of(server_pid: int, wait_s: float = 5.0) -> int | None:
    """The pid of the store writer process (`python -m studio.store.ingester`) a recording server started."""
    deadline = time.monotonic() + wait_s
    while True:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read()
            except OSError:
                continue
            if parent == server_pid and b"studio.store.ingester" in command:
                return int(entry)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def cpu_ticks(pid: int) -> int:
    """utime + stime of `pid`, in clock ticks."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def settle(writer_pid: int | None, timeout_s: float = 10.0) -> None:
    """Wait until a recording server's writer process has stored what it was sent (its CPU time
    stops moving). It commits once requests pause, so without this its work would land in the next
    target's round, charging recording's cost to somebody else."""
    time.sleep(0.15)  # requests paused: the serving side sends the finished lines, the writer gathers
    if writer_pid is None:
        return
    deadline = time.monotonic() + timeout_s
    last, still = -1, 0
    while still < 2 and time.monotonic() < deadline:
        try:
            now = cpu_ticks(writer_pid)
        except OSError:
            return
        still = still + 1 if now == last else 0
        last = now
        time.sleep(0.05)

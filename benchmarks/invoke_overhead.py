"""Warm keep-alive request latency through funcstudio (gateway + isolated worker instance), per kind,
against plain servers running the same code in their own process (DESIGN.md §8, issue 11 item 9).

    .venv/bin/python benchmarks/invoke_overhead.py [--rounds 7] [--requests 300] [--servers 3]

Targets, each a server in its own process, all measured by the same client (this process, one
keep-alive HTTP/1.1 connection per target, sequential GETs):
  funcstudio          `Runtime` + the store recorder, as `funcstudio serve` wires it (journal, writer)
  funcstudio, no rec  the same runtime with nothing recording, so the recording cost shows on its own
  werkzeug            werkzeug's threaded server (HTTP/1.1 keep-alive) running the handler in-process
  functions-framework Google's functions-framework serving the same function (`def f(request)`)
  uvicorn bare ASGI   uvicorn + httptools + uvloop and an ASGI app answering the same bytes
The funcstudio project holds a handler class, a `handler(event, context)` function, a Flask (WSGI) and a
FastAPI (ASGI) entry; the baselines serve the function's answer. Targets take turns within each round
(the order rotates), so a noisy machine hits all of them; the medians of the per-round medians and
their ratios are printed. After every target's round the recording funcstudio's store writer process
is given time to commit what it was sent (it does so once requests pause), so that work is not
charged to whichever target runs next. What recording costs a server that is never quiet (the
writer committing during the stream) is `recording_split.py`'s sustained figure.

Two servers running the very same code differ on this 2-core VM: by 8 % over 40 rounds, and by 20-40 %
within a round when the machine is noisy (where the scheduler happens to place the gateway and its
worker). One server with
recording against one without measured that as much as recording itself, so the function entry is
served by `--servers` of each, their per-round medians averaged, and the spread between the servers
without recording is printed: the noise floor of the recording cost beside it.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runtime_bench import KINDS, ROOT, row, settle, write_project, writer_of

FASTAPI_APP = """
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.get("/hello", response_class=PlainTextResponse)
    def hello():
        return "hello from fastapi"
"""
ALL_KINDS = {**KINDS, "asgi (fastapi)": ("fastapi-app/index.py", FASTAPI_APP, "/fastapi-app/hello")}
BODY = b"hello from a function"

FUNCSTUDIO = """
import sys, time
sys.path.insert(0, {repo!r})
from studio.runtime.server import Runtime
runtime = Runtime({root!r}, host="127.0.0.1", port={port}, reload=False)
if {record!r}:
    from studio.store.wiring import record_runtime
    recording = record_runtime(runtime)
runtime.start()
while True:
    time.sleep(3600)
"""

APPS = """
BODY = {body!r}

def handler(event, context):  # the funcstudio project's function entry, verbatim in behaviour
    return {{"statusCode": 200, "body": BODY.decode()}}

def wsgi(environ, start_response):
    result = handler({{"httpMethod": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"]}}, {{}})
    body = result["body"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

def ff(request):  # functions-framework's signature
    return handler({{"httpMethod": request.method, "path": request.path}}, {{}})["body"]

async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]}})
    await send({{"type": "http.response.body", "body": BODY}})
"""

WERKZEUG = """
import sys
sys.path.insert(0, {here!r})
from werkzeug.serving import WSGIRequestHandler, make_server
from apps import wsgi

class KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like every other target

    def log_request(self, *a, **k):
        pass

make_server("127.0.0.1", {port}, wsgi, threaded=True, request_handler=KeepAlive).serve_forever()
"""

UVICORN = """
import sys
sys.path.insert(0, {here!r})
import uvicorn
uvicorn.run("apps:asgi", host="127.0.0.1", port={port}, http="httptools", loop="uvloop", log_level="critical",
            lifespan="off", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    """A server process and one keep-alive connection to it."""

    def __init__(self, name: str, argv: list[str], port: int, path: str, cwd: str | None = None) -> None:
        self.name, self.port, self.path = name, port, path
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.conn: http.client.HTTPConnection | None = None
        self.rounds: list[float] = []
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if self.get()[0] == 200:
                    break
            except OSError:
                self.conn = None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} never answered 200 on {path}")
            time.sleep(0.1)

    def get(self) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.conn.request("GET", self.path)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed the idle connection between rounds (its keep-alive timeout): reopen
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request("GET", self.path)
            response = self.conn.getresponse()
        body = response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, body

    def run(self, requests: int) -> None:
        for _ in range(20):  # warm this round's connection and caches
            self.get()
        latencies = []
        for _ in range(requests):
            t0 = time.perf_counter()
            status, _body = self.get()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert status == 200, (self.name, status)
        self.rounds.append(statistics.median(latencies))

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300, help="per target and round")
    parser.add_argument("--servers", type=int, default=3,
                        help="funcstudio servers with and without recording for the function entry, averaged")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        root = write_project(here / "project", ALL_KINDS)
        (here / "apps.py").write_text(APPS.format(body=BODY), encoding="utf-8")
        py = sys.executable
        fn_path = KINDS["http-function"][2]
        rec_port, norec_port = free_port(), free_port()
        targets = [
            Target("funcstudio", [py, "-c", FUNCSTUDIO.format(repo=str(ROOT), root=str(root), port=rec_port,
                                                              record=True)], rec_port, fn_path),
            Target("funcstudio, no rec", [py, "-c", FUNCSTUDIO.format(repo=str(ROOT), root=str(root),
                                                                      port=norec_port, record=False)],
                   norec_port, fn_path),
        ]
        for kind, (_rel, _src, path) in ALL_KINDS.items():
            if kind != "http-function":
                targets.append(_Alias(f"funcstudio {kind}", rec_port, path))
        recording, not_recording = [targets[0]], [targets[1]]
        for n in range(2, args.servers + 1):  # each recording server its own project: one writer per store
            extra = write_project(here / f"project-{n}", ALL_KINDS)
            for group, record in ((recording, True), (not_recording, False)):
                port = free_port()
                name = f"funcstudio{'' if record else ', no rec'} #{n}"
                group.append(Target(name, [py, "-c", FUNCSTUDIO.format(repo=str(ROOT), root=str(extra), port=port,
                                                                       record=record)], port, fn_path))
                targets.append(group[-1])
        port = free_port()
        targets.append(Target("werkzeug", [py, "-c", WERKZEUG.format(here=str(here), port=port)], port, "/fn"))
        if importlib.util.find_spec("functions_framework") is not None:
            port = free_port()
            targets.append(Target("functions-framework",
                                  [py, "-m", "functions_framework", "--source", str(here / "apps.py"),
                                   "--target", "ff", "--host", "127.0.0.1", "--port", str(port)], port, "/fn"))
        else:
            print("functions-framework is not installed (pip install -e '.[bench]'): left out of this run")
        port = free_port()
        targets.append(Target("uvicorn bare ASGI", [py, "-c", UVICORN.format(here=str(here), port=port)], port,
                              "/fn"))
        writers = {target.name: writer_of(target.proc.pid) for target in recording}
        if None in writers.values():
            raise RuntimeError("a recording funcstudio has no store writer process")
        try:
            for n in range(args.rounds):
                order = targets[n % len(targets):] + targets[: n % len(targets)]
                for target in order:
                    target.run(args.requests)
                    # after every round alike: recording's work stays in its own rounds (the aliases are
                    # served by the first recording server)
                    settle(writers.get(target.name, writers["funcstudio"] if isinstance(target, _Alias) else None))
        finally:
            for target in targets:
                target.stop()

        spread = _spread(not_recording)
        each = {group[0].name: " ".join(f"{t.median:.3f}" for t in group) for group in (recording, not_recording)}
        for group in (recording, not_recording):  # the function entry's figure: the servers' mean
            group[0].rounds = [statistics.mean(rounds) for rounds in zip(*(t.rounds for t in group), strict=True)]
        targets = [t for t in targets if t not in recording[1:] and t not in not_recording[1:]]
        by_name = {t.name: t for t in targets}
        base = by_name["werkzeug"]
        print(f"invoke_overhead: warm keep-alive GET, {args.rounds} rounds x {args.requests} sequential requests "
              f"per target (one connection each); median of per-round medians")
        print(row("target", "latency", "vs werkzeug", "", widths=(30, 12, 12, 2)))
        for target in targets:
            ratio = statistics.median(r / b for r, b in zip(target.rounds, base.rounds, strict=True))
            print(row(target.name, f"{target.median:.3f} ms", f"{ratio:.2f}x", "", widths=(30, 12, 12, 2)))
        on, off = by_name["funcstudio"], by_name["funcstudio, no rec"]
        cost = statistics.median((a - b) / b for a, b in zip(on.rounds, off.rounds, strict=True))
        print(f"recording cost (funcstudio with the recorder vs without, function entry, {args.servers} servers "
              f"each): {on.median - off.median:+.3f} ms, {cost * 100:+.1f} % of the warm path")
        if spread is not None:
            print("each server's median (ms): " + "; ".join(f"{name}: {medians}" for name, medians in each.items()))
            print(f"noise floor: the {args.servers} servers without recording differ by {spread * 100:.1f} % "
                  f"(median per round of slowest / fastest - 1)")


def _spread(group: list[Target]) -> float | None:
    """How far apart servers running the same code are: per round, slowest / fastest - 1; the median."""
    if len(group) < 2:
        return None
    return statistics.median(max(r) / min(r) - 1 for r in zip(*(t.rounds for t in group), strict=True))


class _Alias(Target):
    """Another path on an already running funcstudio (its own keep-alive connection)."""

    def __init__(self, name: str, port: int, path: str) -> None:  # noqa: D107 - no process of its own
        self.name, self.port, self.path = name, port, path
        self.conn = None
        self.rounds = []
        self.proc = None
        deadline = time.monotonic() + 120
        while self.get()[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} never answered 200 on {path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()


if __name__ == "__main__":
    main()

"""Many keep-alive clients at once: throughput, p50, p99 and errors (DESIGN.md §8, issue 11).

    .venv/bin/python benchmarks/scale.py [--clients 64 256] [--seconds 4] [--rounds 3] [--servers-only]
                                         [--compare-with OTHER_CHECKOUT]

The same http-function (`handler(event, context)` returning a small body) is served by
  funcstudio   `funcstudio serve` (isolated worker instances, recording on), a real subprocess
  funcstudio, no rec   the same runtime with nothing recording (the recording's share shows apart)
  werkzeug     werkzeug's threaded server running the same code as a WSGI app, in its process
  gunicorn     gunicorn with 2 sync workers running that WSGI app
and, to choose the listening server (issue 11 item 1) and see what it costs alone, with no function:
  listener     funcstudio's own HTTP server (http_server + http_protocol) handing each request to a
               thread and back, as the gateway does, answering a fixed body
  uvicorn      uvicorn + httptools + uvloop, a bare ASGI app
  granian      granian, 1 worker, a bare ASGI app
`--compare-with` adds `funcstudio serve` from another checkout (e.g. the commit before a change) as a
further target. Every server runs in its own process; the load comes from this process (asyncio, raw sockets, one
connection per client, kept alive; a connection the server closes is reopened). Targets take turns
within each round and the medians over rounds are printed, so a noisy machine hits all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _runtime_bench import ROOT, row

FUNCTION = """
def handler(event, context):
    return {"statusCode": 200, "body": "hello from a function"}
"""

APPS = """
import sys
sys.path.insert(0, {functions!r})
from fn import handler

def wsgi(environ, start_response):
    result = handler({{"httpMethod": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"]}}, {{}})
    body = result["body"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"21")]}})
    await send({{"type": "http.response.body", "body": b"hello from a function"}})
"""

WERKZEUG = """
import sys
sys.path.insert(0, {here!r})
from werkzeug.serving import WSGIRequestHandler, make_server
from apps import wsgi

class Quiet(WSGIRequestHandler):
    def log_request(self, *a, **k):
        pass

server = make_server("127.0.0.1", {port}, wsgi, threaded=True, request_handler=Quiet)
server.serve_forever()
"""

UVICORN = """
import sys
sys.path.insert(0, {here!r})
import uvicorn
uvicorn.run("apps:asgi", host="127.0.0.1", port={port}, http="httptools", loop="uvloop", log_level="critical",
            lifespan="off", access_log=False)
"""


NO_RECORDING = """
import sys, threading
sys.path.insert(0, {root!r})
from studio.runtime.server import Runtime
Runtime({project!r}, host="127.0.0.1", port={port}, reload=False).start()
threading.Event().wait()
"""

LISTENER = """
import asyncio, sys, threading
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, {root!r})
from studio.runtime.http_server import HttpServer

pool = ThreadPoolExecutor(64)
BODY = b"hello from a function"

def handle(scope, body):
    return [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(BODY))]

async def app(scope, receive, send):
    await receive()
    headers = await asyncio.get_running_loop().run_in_executor(pool, handle, scope, b"")
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": BODY}})

HttpServer(app, "127.0.0.1", {port}).start()
threading.Event().wait()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Target:
    def __init__(self, name: str, argv: list[str], path: str, port: int, env: dict | None = None,
                 cwd: str | None = None) -> None:
        self.name, self.path, self.port = name, path, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})}, cwd=cwd)
        wait_listening(port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


async def one_client(port: int, request: bytes, until: float, latencies: list[float], errors: list[str]) -> None:
    loop = asyncio.get_running_loop()
    reader = writer = None
    while loop.time() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and b"close" in value.lower():
                    close = True
            if length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(str(status))
            if close or lines[0].startswith(b"HTTP/1.0"):
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors.append(type(exc).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def load(port: int, path: str, clients: int, seconds: float) -> dict:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    warm: list[float] = []
    await asyncio.gather(*(one_client(port, request, loop.time() + 0.5, warm, []) for _ in range(clients)))
    latencies: list[float] = []
    errors: list[str] = []
    t0 = loop.time()
    await asyncio.gather(*(one_client(port, request, t0 + seconds, latencies, errors) for _ in range(clients)))
    elapsed = loop.time() - t0
    latencies.sort()
    ok = len(latencies) - len(errors)
    return {"rps": ok / elapsed, "p50": pct(latencies, 0.50), "p99": pct(latencies, 0.99), "errors": len(errors)}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def start_targets(tmp: Path, servers_only: bool, instances: int | None, other: Path | None) -> list[Target]:
    project = tmp / "project"
    (project / "cloud-functions").mkdir(parents=True)
    (project / "cloud-functions" / "fn.py").write_text(textwrap.dedent(FUNCTION).lstrip())
    if instances:
        (project / "funcstudio.toml").write_text(f"[runtime]\nmax_instances = {instances}\n")
    (tmp / "apps.py").write_text(APPS.format(functions=str(project / "cloud-functions")))
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    targets = []
    if not servers_only:
        port = free_port()
        targets.append(Target("funcstudio", [sys.executable, "-m", "studio", "serve", str(project), "--port",
                                             str(port), "--no-reload"], "/fn", port, env, cwd=str(tmp)))
        port = free_port()
        (tmp / "no_recording.py").write_text(NO_RECORDING.format(root=str(ROOT), project=str(project), port=port))
        targets.append(Target("funcstudio, no rec", [sys.executable, str(tmp / "no_recording.py")], "/fn", port,
                              env))
        if other is not None:
            port = free_port()
            other_env = {"PYTHONPATH": os.pathsep.join([str(other), os.environ.get("PYTHONPATH", "")])}
            # its own store: a checkout with an older schema refuses (stops recording in) a newer store
            other_project = tmp / "project-other"
            shutil.copytree(project, other_project, ignore=shutil.ignore_patterns(".funcstudio"))
            targets.append(Target(f"funcstudio@{other.name}", [sys.executable, "-m", "studio", "serve", str(other_project),
                                                               "--port", str(port), "--no-reload"],
                                  "/fn", port, other_env, cwd=str(tmp)))
        port = free_port()
        (tmp / "werkzeug_server.py").write_text(WERKZEUG.format(here=str(tmp), port=port))
        targets.append(Target("werkzeug threaded", [sys.executable, str(tmp / "werkzeug_server.py")], "/fn", port,
                              env))
        port = free_port()
        targets.append(Target("gunicorn -w 2", [sys.executable, "-m", "gunicorn", "-w", "2", "-b",
                                                f"127.0.0.1:{port}", "--log-level", "critical", "apps:wsgi"],
                              "/fn", port, env, cwd=str(tmp)))
        port = free_port()
        (tmp / "listener.py").write_text(LISTENER.format(root=str(ROOT), port=port))
        targets.append(Target("listener (no function)", [sys.executable, str(tmp / "listener.py")], "/", port, env))
    port = free_port()
    (tmp / "uvicorn_server.py").write_text(UVICORN.format(here=str(tmp), port=port))
    targets.append(Target("uvicorn bare ASGI", [sys.executable, str(tmp / "uvicorn_server.py")], "/", port, env))
    port = free_port()
    targets.append(Target("granian bare ASGI", [sys.executable, "-m", "granian", "--interface", "asgi",
                                                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                                "--log-level", "critical", "--no-ws", "apps:asgi"],
                          "/", port, env, cwd=str(tmp)))
    return targets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instances", type=int, default=None,
                        help="max_instances for funcstudio's function (default: the setting's default)")
    parser.add_argument("--servers-only", action="store_true", help="only the bare uvicorn and granian servers")
    parser.add_argument("--compare-with", type=Path, default=None,
                        help="another checkout whose `funcstudio serve` runs as a further target")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    with tempfile.TemporaryDirectory() as tmp:
        targets = start_targets(Path(tmp), args.servers_only, args.instances,
                                args.compare_with.resolve() if args.compare_with else None)
        try:
            results: dict[tuple[str, int], list[dict]] = {}
            for _round in range(args.rounds):
                for clients in args.clients:
                    for target in targets:
                        result = asyncio.run(load(target.port, target.path, clients, args.seconds))
                        results.setdefault((target.name, clients), []).append(result)
        finally:
            for target in targets:
                target.stop()
    print(f"scale: {args.seconds:g} s per run, {args.rounds} rounds, medians over rounds; keep-alive clients")
    widths = (24, 8, 12, 11, 11, 8)
    print(row("server", "clients", "req/s", "p50", "p99", "errors", widths=widths))
    for (name, clients), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
        errors = sum(r["errors"] for r in runs)
        print(row(name, clients, f"{med['rps']:.0f}", f"{med['p50']:.2f} ms", f"{med['p99']:.2f} ms", errors,
                  widths=widths))
    for clients in args.clients:
        base = results.get(("werkzeug threaded", clients))
        for name in ("funcstudio", "funcstudio, no rec", "listener (no function)"):
            mine = results.get((name, clients))
            if base and mine:  # each round's ratio (both ran in it), then the median over rounds
                rps = statistics.median(m["rps"] / b["rps"] for m, b in zip(mine, base, strict=True))
                p50 = statistics.median(m["p50"] / b["p50"] for m, b in zip(mine, base, strict=True))
                print(f"{name} / werkzeug at {clients} clients: throughput {rps:.2f}x, p50 {p50:.2f}x")


if __name__ == "__main__":
    main()

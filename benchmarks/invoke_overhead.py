"""Warm request latency and throughput through gateway + worker instance, per kind, against the
same code served in-process by werkzeug's plain threaded server (DESIGN.md §8).

    .venv/bin/python benchmarks/invoke_overhead.py [--requests 200] [--concurrency 4]

Both sides open a new connection per request (werkzeug's server speaks HTTP/1.0 by default) and
are measured in the same run, one after the other, so a noisy machine hits both.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _runtime_bench import KINDS, median, row, timed_get, write_project


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def baseline_app(kind: str, root: Path):
    """The same user code as a plain WSGI app, in this process."""
    rel, _source, _path = KINDS[kind]
    module = load_module(root / "cloud-functions" / rel, f"bench_{abs(hash(kind))}")
    if kind.startswith("wsgi"):
        prefix = "/" + rel.rsplit("/", 1)[0]

        def app(environ, start_response):  # the prefix stripping the platform does
            environ["SCRIPT_NAME"] = prefix
            environ["PATH_INFO"] = environ["PATH_INFO"][len(prefix):] or "/"
            return module.app(environ, start_response)
        return app
    if kind == "http-function":
        def app(environ, start_response):
            result = module.handler({"httpMethod": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"]}, {})
            body = result["body"].encode()
            start_response(f"{result['statusCode']} OK", [("Content-Length", str(len(body)))])
            return [body]
        return app

    import io

    def app(environ, start_response):  # handler class on an in-memory socket, as the adapter does
        handler_cls = module.handler

        class Sock:
            def __init__(self):
                self.out = io.BytesIO()

            def makefile(self, mode, *args, **kwargs):
                if "r" in mode:
                    return io.BytesIO(f"GET {environ['PATH_INFO']} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                return self.out

            def sendall(self, data):
                self.out.write(data)

        sock = Sock()

        class Server:
            server_name, server_port = "127.0.0.1", 0

        class Quiet(handler_cls):
            def log_message(self, *args):
                pass

        Quiet(sock, ("127.0.0.1", 0), Server())
        head, _, body = sock.out.getvalue().partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode()
        start_response(f"{status} OK", [("Content-Length", str(len(body)))])
        return [body]
    return app


def measure(port: int, path: str, requests: int, concurrency: int) -> tuple[float, float]:
    for _ in range(10):  # warm-up
        timed_get(port, path)
    latencies = []
    for _ in range(requests):
        ms, status, _body = timed_get(port, path)
        assert status == 200, status
        latencies.append(ms)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda _i: timed_get(port, path)[1], range(requests)))
    elapsed = time.perf_counter() - t0
    assert set(statuses) == {200}, set(statuses)
    return median(latencies), requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    from werkzeug.serving import WSGIRequestHandler, make_server

    from studio.project.settings import RuntimeSettings, Settings
    from studio.runtime.server import Runtime

    class Quiet(WSGIRequestHandler):
        def log_request(self, *a, **k):
            pass

    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp) / "bench")
        settings = Settings(runtime=RuntimeSettings(max_instances=args.concurrency))
        runtime = Runtime(root, settings, host="127.0.0.1", port=0, reload=False)
        runtime.start()
        print(f"invoke_overhead: {args.requests} sequential requests (median latency) and {args.requests} "
              f"with {args.concurrency} clients (throughput); new connection per request")
        print(row("kind", "funcstudio", "werkzeug", "ratio"))
        try:
            for kind, (_rel, _src, path) in KINDS.items():
                fs_ms, fs_rps = measure(runtime.port, path, args.requests, args.concurrency)
                server = make_server("127.0.0.1", 0, baseline_app(kind, root), threaded=True,
                                     request_handler=Quiet)
                thread = threading.Thread(target=server.serve_forever, daemon=True)
                thread.start()
                try:
                    base_ms, base_rps = measure(server.server_address[1], path, args.requests, args.concurrency)
                finally:
                    server.shutdown()
                    server.server_close()
                print(row(f"{kind} latency", f"{fs_ms:.2f} ms", f"{base_ms:.2f} ms", f"{fs_ms / base_ms:.2f}x"))
                print(row(f"{kind} throughput", f"{fs_rps:.0f} req/s", f"{base_rps:.0f} req/s",
                          f"{fs_rps / base_rps:.2f}x"))
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()

"""File saved -> first response with the new code: funcstudio's reloader (watchfiles + retiring the
instance) against werkzeug's stat reloader (`run_simple(use_reloader=True, reloader_type="stat")`)
serving the same Flask app, in the same run (DESIGN.md §8). funcstudio's time is split in three:

  watcher        save -> the reloader's callback starts (the watcher's step debounce)
  reload         re-discovery and the routing swap, up to the moment the replacement instance starts
                 forking in the background (the old one is retired after that)
  first request  from there -> the first response with the new code (a client polling every 2 ms):
                 fork, import of the entry, the request

    .venv/bin/python benchmarks/reload_latency.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _runtime_bench import ROOT, get, median, row

APP = """
    from flask import Flask

    app = Flask(__name__)

    @app.get("/version")
    def version():
        return "{version}"
"""

RUN_SIMPLE = """
import sys
sys.path.insert(0, {folder!r})
from werkzeug.serving import run_simple, WSGIRequestHandler
from index import app

class Quiet(WSGIRequestHandler):
    def log_request(self, *a, **k):
        pass

run_simple("127.0.0.1", {port}, app, use_reloader=True, reloader_type="stat", request_handler=Quiet)
"""


def write_app(path: Path, version: str) -> None:
    path.write_text(textwrap.dedent(APP).lstrip().replace("{version}", version), encoding="utf-8")


def wait_for(port: int, path: str, body: bytes, timeout: float = 30.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            status, got = get(port, path, timeout=5)
            if status == 200 and got == body:
                return time.perf_counter()
        except (OSError, http.client.HTTPException):
            pass  # the baseline is restarting
        time.sleep(0.002)
    raise TimeoutError(f"{path} never answered {body!r}")


def rounds(port: int, path: str, app_file: Path, n: int, tag: str, marks: list | None = None) -> list[float]:
    results = []
    for i in range(n):
        version = f"{tag}-{i}"
        time.sleep(0.3)  # let the previous round's restart settle
        if marks is not None:
            marks.clear()
        t0 = time.perf_counter()
        write_app(app_file, version)
        answered = wait_for(port, path, version.encode())
        results.append((answered - t0) * 1000)
        if marks is not None:
            watched, reloaded = marks[0], marks[1]  # the first reload this save caused, and its swap
            SPLIT.append(((watched - t0) * 1000, (reloaded - watched) * 1000, (answered - reloaded) * 1000))
    return results


SPLIT: list[tuple[float, float, float]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from studio.runtime.server import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fs"
        app_file = root / "cloud-functions" / "app" / "index.py"
        app_file.parent.mkdir(parents=True)
        write_app(app_file, "start")
        runtime = Runtime(root, host="127.0.0.1", port=0, reload=True)
        marks: list[float] = []
        reload = runtime.reload

        def timed_reload(changed):  # the reloader's callback: when it starts
            marks.append(time.perf_counter())
            return reload(changed)

        prewarm = runtime.supervisor.prewarm_soon

        def timed_prewarm(function_ids):  # the new table is in place; the replacement starts now
            marks.append(time.perf_counter())
            return prewarm(function_ids)

        runtime.reload = timed_reload
        runtime.supervisor.prewarm_soon = timed_prewarm
        runtime.start()
        try:
            wait_for(runtime.port, "/app/version", b"start")
            fs = rounds(runtime.port, "/app/version", app_file, args.rounds, "fs", marks)
        finally:
            runtime.stop()

        folder = Path(tmp) / "wz"
        folder.mkdir()
        wz_file = folder / "index.py"
        write_app(wz_file, "start")
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", RUN_SIMPLE.format(folder=str(folder), port=port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(port, "/version", b"start")
            wz = rounds(port, "/version", wz_file, args.rounds, "wz")
        finally:
            os.killpg(proc.pid, 9)
            proc.wait()

    print(f"reload_latency: file saved -> first response with the new code, {args.rounds} rounds")
    print(row("", "funcstudio", "werkzeug stat", "ratio"))
    print(row("median", f"{median(fs):.0f} ms", f"{median(wz):.0f} ms", f"{median(fs) / median(wz):.2f}x"))
    print(row("min / max", f"{min(fs):.0f}/{max(fs):.0f} ms", f"{min(wz):.0f}/{max(wz):.0f} ms", ""))
    print("funcstudio split (medians):")
    for index, name in enumerate(("watcher", "reload", "first request")):
        print(row(f"  {name}", f"{median([split[index] for split in SPLIT]):.1f} ms", "", ""))


if __name__ == "__main__":
    main()

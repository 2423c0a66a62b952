"""Merge, proven: `funcstudio serve` and the studio both run the same project and write its one store;
`funcstudio logs --follow` prints one stream holding both writers' lines, in commit order, each once,
and the studio's own log view shows serve's lines beside its own."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from studio_helpers import RUN, make_app, select_function, send_and_wait, started, wait_until

from studio.store.db import db_path
from studio.store.queries import Reader
from studio.tui.widgets.log_view import LogView

ROOT = Path(__file__).resolve().parents[2]


class Lines:
    """A subprocess's stdout, line by line, read on a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            self.queue.put(raw.decode("utf-8", "replace").rstrip("\n"))

    def until(self, predicate, timeout: float = 60.0) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while not predicate(seen):
            assert time.monotonic() < deadline, f"timed out; saw {seen[-5:]!r}"
            try:
                seen.append(self.queue.get(timeout=0.2))
            except queue.Empty:
                continue
        return seen


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=ROOT)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.headers["x-funcstudio-request-id"]


async def test_serve_and_the_studio_write_one_stream_that_logs_follow_prints_in_order(showcase):
    serve = spawn("serve", str(showcase), "--port", "0", "--no-reload")
    follow = None
    try:
        served = Lines(serve)
        url = re.search(r"(http://127\.0\.0\.1:\d+)", served.until(
            lambda seen: any(re.search(r"serving .* at http://", line) for line in seen))[-1]).group(1)
        first = await asyncio.to_thread(get, url + "/api/logs?qty=1")  # the store exists from here on
        follow = spawn("logs", str(showcase), "--follow", "--json")
        followed = Lines(follow)

        app = make_app(showcase)
        messages = []
        async with app.run_test(message_hook=messages.append, **RUN) as pilot:
            await started(pilot)
            await select_function(pilot, "cloud-functions/api/hello")
            studio = (await send_and_wait(pilot, messages)).gateway_request_id
            second = await asyncio.to_thread(get, url + "/api/logs?qty=2")
            await send_and_wait(pilot, messages)

            with Reader(db_path(showcase)) as reader:
                await wait_until(pilot, lambda: {first, studio, second} <= {
                    row.request_id for row in reader.invocations(limit=50) if row.state == "finished"},
                    what="every invocation stored")
                stored = list(reader.log_ids())
            # the studio's log view shows serve's lines too (the store watcher, not its own recorder)
            view = app.query_one(LogView)
            await wait_until(pilot, lambda: second in {view.row_at(i).request_id for i in range(view.line_count)},
                             what="serve's lines in the studio")

        lines = followed.until(lambda seen: len(seen) >= len(stored))
        rows = [json.loads(line) for line in lines]
        ids = [row["id"] for row in rows]
        assert ids == stored  # one stream: every line once, in commit order
        writers = {row["request_id"] for row in rows}
        assert {first, studio, second} <= writers  # serve's lines and the studio's, merged
    finally:
        for proc in (follow, serve):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)

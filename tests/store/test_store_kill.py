"""SIGKILL while recording a flood: the store opens, passes integrity_check, and, once the next
recorder has replayed the dead process's journal, holds every invocation that had been acknowledged
(published and answered) before the kill, with its log lines."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from helpers import copy_sample

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}

FLOOD = textwrap.dedent(
    """
    import sys, time
    from studio.runtime.events import EventBus, InvocationFinished, InvocationRecord, InvocationStarted, LogLine
    from studio.store.writer import Recorder

    bus = EventBus()
    Recorder(sys.argv[1]).attach(bus)
    n = 0
    while True:
        rid = f"kill-{n}"
        bus.publish(InvocationStarted(rid, "api/flood", "http", "GET", "/flood", time.time()))
        lines = tuple(LogLine(rid, "api/flood", seq, time.time(), "stdout", None, f"{rid} line {seq}")
                      for seq in range(5))
        for line in lines:
            bus.publish(line)
        bus.publish(InvocationFinished(InvocationRecord(rid, "api/flood", "edgeone", "http-function", "http",
                                                        "GET", "/flood", status=200, log_count=5,
                                                        logs=lines)))
        # Publishing returned: the invocation is acknowledged, as a response leaving the gateway would be.
        sys.stdout.write(rid + "\\n")
        sys.stdout.flush()
        n += 1
    """
)


def replay(path: Path) -> int:
    """What the next `serve` or studio does first: replay the dead process's journal."""
    from studio.store.journal import journal_dir
    from studio.store.writer import Recorder

    recorder = Recorder(path)
    assert recorder.flush()
    replayed = recorder.replayed
    recorder.close()
    assert not list(journal_dir(path).glob("*.jsonl"))  # replayed journals are gone, ours removed
    return replayed


def check_store(path: Path, acked: set[str], lines_each: int | None) -> None:
    replay(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {
            request_id: (state, count)
            for request_id, state, count in conn.execute(
                "SELECT i.request_id, i.state, (SELECT count(*) FROM logs l WHERE l.invocation_id = i.id) "
                "FROM invocations i"
            )
        }
        missing = acked - set(stored)
        assert not missing, f"{len(missing)} acknowledged invocations were lost, e.g. {sorted(missing)[:3]}"
        for request_id in acked:
            state, count = stored[request_id]
            assert state == "finished"
            if lines_each is not None:
                assert count == lines_each
        assert conn.execute("SELECT count(*) FROM logs_fts WHERE logs_fts MATCH 'line'").fetchone()[0] >= (
            len(acked) * (lines_each or 0)
        )
    finally:
        conn.close()


def test_sigkill_during_a_flood_through_a_recorder(tmp_path):
    path = tmp_path / ".funcstudio" / "studio.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOOD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=REPO,
    )
    acked: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 400 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(line.decode().strip())
        assert len(acked) >= 400, proc.stderr.read().decode()
    finally:
        proc.send_signal(signal.SIGKILL)
        # through the same buffered reader: communicate() reads the pipe's descriptor directly and
        # would miss what readline() had already buffered (a line cut in two: "ki" + "ll-467")
        rest = proc.stdout.read()
        proc.wait(30)
    acked += [line for line in rest.decode().splitlines() if line]  # written before the kill: also acked
    assert proc.returncode == -signal.SIGKILL
    check_store(path, set(acked), lines_each=5)


def test_sigkill_of_funcstudio_serve_under_http_load(tmp_path):
    project = copy_sample("pages-showcase", tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "serve", str(project), "--port", "0", "--no-reload"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=REPO,
    )
    acked: list[str] = []
    logged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                break
            match = re.search(r"at http://127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        assert port, proc.stderr.read().decode()

        def client(index: int) -> None:
            n = 0
            while not stop.is_set():
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    # a function that logs four lines, and a 404 (recorded too)
                    path = f"/api/logs?c={index}&n={n}" if n % 2 else f"/no-such-route/{index}/{n}"
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    request_id = response.getheader("X-Funcstudio-Request-Id")
                    conn.close()
                except (OSError, http.client.HTTPException):
                    return  # the server is gone
                if request_id:
                    with lock:
                        acked.append(request_id)
                        if n % 2:
                            logged.add(request_id)
                n += 1

        clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 300:
                    break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)  # while the clients are still sending
        proc.communicate(timeout=30)
        stop.set()
    for thread in clients:
        thread.join(15)
    with lock:
        answered = set(acked)
    assert len(answered) >= 300
    db = project / ".funcstudio" / "studio.db"
    check_store(db, answered, lines_each=None)
    conn = sqlite3.connect(db)
    try:
        counts = dict(conn.execute(
            "SELECT i.request_id, (SELECT count(*) FROM logs l WHERE l.invocation_id = i.id "
            "AND l.text NOT LIKE 'module loaded%' AND l.stream != 'platform') FROM invocations i"))
    finally:
        conn.close()
    assert logged and all(counts[request_id] == 4 for request_id in logged)  # each with the four it printed

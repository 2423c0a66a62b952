"""`funcstudio serve` records through a store writer PROCESS: the serving process holds no writable
SQLite file, and when that process is SIGKILLed under load, serve keeps answering, /health says
recording is off and why, and every answered invocation is in the store after the next start."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import copy_sample
from test_store_durability import get
from test_store_kill import check_store

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


class Served:
    """`funcstudio serve` on a copy of pages-showcase, and its store writer process."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.db = project / ".funcstudio" / "studio.db"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio", "serve", str(project), "--port", "0", "--no-reload"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=REPO,
        )
        self.port = None
        deadline = time.monotonic() + 60
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            match = re.search(r"at http://127\.0\.0\.1:(\d+)", line)
            self.port = int(match.group(1)) if match else None
        assert self.port, self.proc.stderr.read().decode()
        self.writer = writer_of(self.proc.pid)

    def get(self, path: str) -> tuple[int, str | None, bytes]:
        return get(self.port, path)

    def health(self) -> dict:
        return json.loads(self.get("/__funcstudio/health")[2])

    def stop(self) -> str:
        """Ctrl-C, as a user stops it; what it said on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.said = self.proc.communicate(timeout=30)[1].decode()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.said = self.proc.communicate()[1].decode()
        return self.said


def writer_of(pid: int) -> int:
    """The pid of `pid`'s child running `studio.store.ingester`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"studio.store.ingester" in cmdline:
            return int(entry.name)
    raise AssertionError(f"process {pid} has no store writer process")


def open_for_writing(pid: int, db: Path) -> set[str]:
    """The store's files (studio.db, -wal, -shm) that `pid` holds open for writing."""
    names = {str(db), f"{db}-wal", f"{db}-shm"}
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            flags = int((Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if target in names and flags & os.O_ACCMODE != os.O_RDONLY:
            found.add(Path(target).name)
    return found


@pytest.fixture
def served(tmp_path):
    server = Served(copy_sample("pages-showcase", tmp_path))
    yield server
    server.stop()


def stored_finished(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {rid for (rid,) in conn.execute("SELECT request_id FROM invocations WHERE state = 'finished'")}
    finally:
        conn.close()


def test_the_serving_process_writes_no_sqlite_the_writer_process_does(served):
    answered = {served.get(f"/api/logs?n={n}")[1] for n in range(5)}
    deadline = time.monotonic() + 60
    while not answered <= stored_finished(served.db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answered <= stored_finished(served.db)  # recorded...
    assert open_for_writing(served.writer, served.db) >= {"studio.db"}  # ...by the writer process
    assert open_for_writing(served.proc.pid, served.db) == set()  # serve itself has nothing open to write
    assert served.health()["recording"] == "on"


def test_sigkill_of_the_writer_process_under_load_loses_no_answered_invocation(served):
    """serve keeps answering while its writer process is dead, a new one takes over within a second,
    and it commits everything answered, before the kill and meanwhile, while serve still runs."""
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []

    def client(index: int) -> None:
        n = 0
        while not stop.is_set():
            path = f"/api/logs?c={index}&n={n}" if n % 2 else f"/no-such-route/{index}/{n}"
            try:
                status, request_id, _ = served.get(path)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                return
            with lock:
                answered.append(request_id)
            n += 1

    def count() -> int:
        with lock:
            return len(answered)

    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
    for thread in clients:
        thread.start()
    off = back = None
    try:
        deadline = time.monotonic() + 60
        while count() < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(served.writer, signal.SIGKILL)  # while the clients are sending
        while off is None and time.monotonic() < deadline:
            health = served.health()
            off = health if health["recording"] == "off" else None
            time.sleep(0.01)
        after_kill = count()
        while count() < after_kill + 100 and time.monotonic() < deadline:  # serve keeps answering
            time.sleep(0.01)
        while back is None and time.monotonic() < deadline:
            health = served.health()
            back = health if health["recording"] == "on" else None
            time.sleep(0.05)
        while count() < after_kill + 200 and time.monotonic() < deadline:  # and records again
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in clients:
            thread.join(30)
    assert not failures, failures[:3]
    assert off is not None, "recording never said it was off"
    assert "store's writer process" in off["recording_reason"] and "SIGKILL" in off["recording_reason"], off
    assert back is not None, f"no new writer process took over: {served.health()}"
    assert count() >= after_kill + 200, (count(), after_kill)
    assert writer_of(served.proc.pid) != served.writer
    with lock:
        acked = set(answered)
    deadline = time.monotonic() + 60
    while not acked <= stored_finished(served.db) and time.monotonic() < deadline:
        time.sleep(0.05)
    missing = acked - stored_finished(served.db)
    assert not missing, f"{len(missing)} answered invocations are not in the store while serve runs"
    said = served.stop()
    assert said.count("recording is off: the store's writer process") == 1, said
    assert said.count("recording is on again") == 1, said
    check_store(served.db, acked, lines_each=None)


def test_a_writer_process_that_keeps_dying_is_replaced_then_left_off(tmp_path, monkeypatch):
    """Each replacement commits what was answered before its predecessor died; once the restarts
    run out recording stays off, and the journal keeps what comes after for the next start."""
    from store_builders import record

    from studio.runtime.events import InvocationFinished
    from studio.store import ingest
    from studio.store.ingest import RecorderProcess

    monkeypatch.setattr(ingest, "RESTART_AFTER_S", (0.05, 0.05))
    db = tmp_path / ".funcstudio" / "studio.db"
    said: list[str] = []
    recorder = RecorderProcess(db, on_problem=said.append)
    try:
        for death in range(3):
            pid = recorder.pid
            recorder(InvocationFinished(record(f"before-death-{death}")))
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while (recorder.pid == pid or not recorder.recording) and time.monotonic() < deadline:
                if recorder.problem and "stays off" in recorder.problem:
                    break
                time.sleep(0.01)
            if death < 2:  # replaced: the new writer commits what the dead one was handed
                assert recorder.recording and recorder.pid != pid, recorder.problem
                deadline = time.monotonic() + 30
                while f"before-death-{death}" not in stored_finished(db) and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert f"before-death-{death}" in stored_finished(db)
        assert not recorder.recording
        assert "was restarted 2 times and stays off" in recorder.problem, recorder.problem
        assert recorder.status()["restarts"] == 2
        recorder(InvocationFinished(record("after-the-last")))  # journaled for the next start
    finally:
        recorder.close()
    assert sum("recording is on again" in sentence for sentence in said) == 2, said
    with RecorderProcess(db) as next_start:
        assert next_start.flush()
    assert {"before-death-2", "after-the-last"} <= stored_finished(db)


def test_held_events_reach_the_store_once_quick_or_long(tmp_path):
    """The serving side holds a started invocation's events for its finished line: a quick one is
    stored from that line alone (each log line once), a long one shows as running with its lines
    while it still runs, and its finish neither loses nor doubles a line."""
    from store_builders import record

    from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
    from studio.store.ingest import RecorderProcess

    db = tmp_path / ".funcstudio" / "studio.db"
    recorder = RecorderProcess(db)
    try:
        def events(request_id: str, lines: int):
            started = InvocationStarted(request_id, "api/f", "http", "GET", "/f", time.time())
            logs = tuple(LogLine(request_id, "api/f", seq, time.time(), "stdout", None, f"{request_id} {seq}")
                         for seq in range(lines))
            return started, logs, InvocationFinished(record(request_id, function_id="api/f", logs=logs,
                                                            log_count=lines))

        started, logs, finished = events("quick", 3)
        for event in (started, *logs, finished):
            recorder(event)
        started, logs, finished = events("long", 4)
        for event in (started, *logs[:2]):
            recorder(event)

        def stored(request_id: str):
            conn = sqlite3.connect(db)
            try:
                row = conn.execute("SELECT state, id FROM invocations WHERE request_id = ?", (request_id,)).fetchone()
                texts = [t for (t,) in conn.execute("SELECT text FROM logs WHERE invocation_id = ? ORDER BY seq",
                                                    (row[1],))] if row else []
                return (row[0] if row else None), texts
            finally:
                conn.close()

        deadline = time.monotonic() + 20  # no flush(): the reader sends what a long invocation held
        while stored("long") != ("running", ["long 0", "long 1"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored("long") == ("running", ["long 0", "long 1"])
        for event in (*logs[2:], finished):
            recorder(event)
        assert recorder.flush()
        assert stored("quick") == ("finished", ["quick 0", "quick 1", "quick 2"])
        assert stored("long") == ("finished", ["long 0", "long 1", "long 2", "long 3"])
    finally:
        recorder.close()


def test_finished_lines_go_to_the_writer_once_requests_pause_and_nothing_overtakes_them(tmp_path, monkeypatch):
    """A finished invocation's line is journaled at once, but sent to the writer process only once
    requests pause, so a burst never wakes it: a lone one is stored without anyone asking, a `clear`
    right after a burst still removes the burst, and lines that never see a pause are sent every
    `KEPT_MAX` (or when something else is sent, such as a flush)."""
    from store_builders import record

    from studio.runtime.events import InvocationFinished
    from studio.store import ingest
    from studio.store.ingest import RecorderProcess

    db = tmp_path / ".funcstudio" / "studio.db"
    recorder = RecorderProcess(db)
    try:
        recorder(InvocationFinished(record("lone")))
        deadline = time.monotonic() + 20  # no flush(): the reader sends it once nothing else finished
        while "lone" not in stored_finished(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "lone" in stored_finished(db)

        for n in range(5):
            recorder(InvocationFinished(record(f"burst-{n}")))
        assert recorder.clear()["invocations"] >= 5  # it went after them, whether they waited or not
        assert recorder.flush()
        assert stored_finished(db) == set()

        monkeypatch.setattr(ingest, "QUIET_S", 3600.0)  # a server that is never quiet
        monkeypatch.setattr(ingest, "QUIET_MAX_S", 3600.0)
        monkeypatch.setattr(ingest, "KEPT_MAX", 3)
        for n in range(2):
            recorder(InvocationFinished(record(f"busy-{n}")))
        time.sleep(0.3)
        assert recorder.status()["queued"] == 2  # journaled, not sent: the writer process sleeps on
        assert stored_finished(db) == set()
        recorder(InvocationFinished(record("busy-2")))
        assert recorder.status()["queued"] == 0  # the third sends all three at once
        recorder(InvocationFinished(record("busy-3")))
        assert recorder.flush()  # sends the one kept before it asks
        assert stored_finished(db) == {f"busy-{n}" for n in range(4)}
        assert recorder.status()["queued"] == 0
    finally:
        recorder.close()


def test_lone_surrogates_and_unreadable_frames_do_not_stop_the_writer_process(tmp_path):
    """Bytes a function printed that were not UTF-8 (decoded with surrogateescape) reach the store as
    U+FFFD; an event frame the writer process cannot read is skipped and counted; either way the
    same writer process goes on recording."""
    from store_builders import record

    from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
    from studio.store import channel
    from studio.store.ingest import RecorderProcess

    db = tmp_path / ".funcstudio" / "studio.db"
    recorder = RecorderProcess(db)
    try:
        pid = recorder.pid
        printed = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
        recorder(InvocationStarted("odd", "api/hello", "http", "GET", "/api/hello", time.time()))
        line = LogLine("odd", "api/hello", 0, time.time(), "stdout", None, f"printed {printed}")
        recorder(line)
        recorder(InvocationFinished(record("odd", logs=(line,), log_count=1, return_value=f"ret {printed}")))
        recorder._send(channel.FINISHED_WHOLE, b'{"request_id": "cut sho')  # a line no parser reads
        recorder(InvocationFinished(record("after")))
        assert recorder.flush()
        assert recorder.recording and recorder.pid == pid and recorder.restarts == 0, recorder.problem
        assert recorder.skipped_events == 1
        assert {"odd", "after"} <= stored_finished(db)
        conn = sqlite3.connect(db)
        try:
            (text,) = conn.execute("SELECT text FROM logs WHERE text LIKE 'printed %'").fetchone()
        finally:
            conn.close()
        assert text == "printed caf\ufffd \ufffd"
    finally:
        recorder.close()


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_value_sqlite_cannot_bind_skips_that_record_only(tmp_path, kind):
    """On Python 3.11 binding an unsupported type is ProgrammingError (InterfaceError on 3.10): one
    such record is skipped and counted, on the live path and in a journal replay, and recording
    stays on; it used to turn recording off and leave the journal unreplayable for good."""
    from store_builders import record

    from studio.runtime.events import InvocationFinished
    from studio.store.ingest import RecorderProcess
    from studio.store.journal import journal_dir, journal_line
    from studio.store.writer import Recorder

    db = tmp_path / ".funcstudio" / "studio.db"
    make = Recorder if kind == "thread" else RecorderProcess
    bad = record("bad", peak_memory_mb={"not": "a number"})
    folder = journal_dir(db)
    folder.mkdir(parents=True)
    (folder / "1-deadbeef.jsonl").write_bytes(  # a dead process's journal: the bad line between good ones
        journal_line(record("replayed-1"), 1 << 20) + journal_line(bad, 1 << 20)
        + journal_line(record("replayed-2"), 1 << 20))
    recorder = make(db)
    try:
        recorder(InvocationFinished(bad.evolve(request_id="live-bad")))
        recorder(InvocationFinished(record("live-good")))
        assert recorder.flush()
        assert recorder.recording, recorder.problem
        assert recorder.skipped_events == 2
    finally:
        recorder.close()
    assert stored_finished(db) == {"replayed-1", "replayed-2", "live-good"}
    assert not (folder / "1-deadbeef.jsonl").exists()


def test_what_the_writer_process_prints_goes_to_its_log_not_the_terminal(tmp_path):
    """The studio draws its screen on the terminal this process was started from: the writer
    process's warnings and tracebacks go to `.funcstudio/writer.log`, which the reason for its death
    names when it said something."""
    from studio.store.ingest import RecorderProcess

    db = tmp_path / ".funcstudio" / "studio.db"
    said: list[str] = []
    recorder = RecorderProcess(db, on_problem=said.append)
    try:
        pid = recorder.pid
        log_file = tmp_path / ".funcstudio" / "writer.log"
        assert os.readlink(f"/proc/{pid}/fd/2") == str(log_file)
        with open(f"/proc/{pid}/fd/2", "a") as its_stderr:  # as if it printed a traceback
            its_stderr.write("Traceback (most recent call last): ...\n")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not said and time.monotonic() < deadline:
            time.sleep(0.01)
        assert said and f"what it said is in {log_file}" in said[0], said
    finally:
        recorder.close()

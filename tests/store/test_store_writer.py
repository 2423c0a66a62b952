"""The writer: what it keeps (redacted, capped, binary intact), retention, full queue, failures."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
from store_builders import (
    failing_record,
    invocation_events,
    journal_text,
    publish_all,
    record,
    wait_until,
)

from studio.project.settings import StoreSettings
from studio.runtime.events import (
    EventBus,
    InstanceStarted,
    InvocationFinished,
    InvocationRecord,
    InvocationStarted,
    LogLine,
    ProjectChanged,
)
from studio.runtime.invocation import ErrorInfo, FrameInfo, ParityWarning
from studio.store.journal import line_json
from studio.store.queries import Reader
from studio.store.redact import REDACTED, is_secret_header


def rows(path, sql, params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_attach_records_everything_published_on_a_bus(make_recorder, store_path):
    bus = EventBus()
    recorder = make_recorder().attach(bus)
    for event in invocation_events("r1", 3) + [
        InstanceStarted("i1", "api/hello", 1, 2.0),
        ProjectChanged(("a.py",), 1.0, 3),
    ]:
        bus.publish(event)
    assert recorder.flush()
    assert rows(store_path, "SELECT request_id, state, status, log_count FROM invocations") == [
        ("r1", "finished", 200, 3)
    ]
    assert rows(store_path, "SELECT seq, text FROM logs ORDER BY id") == [
        (0, "r1 line 0"),
        (1, "r1 line 1"),
        (2, "r1 line 2"),
    ]
    recorder.close()
    bus.publish(InvocationStarted("after-close", None, "http", "GET", "/", 1.0))  # unsubscribed: no error


def test_request_headers_are_redacted_case_insensitively(make_recorder, store_path):
    headers = (
        ("authorization", "Bearer abc"),
        ("COOKIE", "sid=1"),
        ("Set-Cookie", "sid=2"),
        ("X-Api-Key", "k"),
        ("x-auth-token", "t"),
        ("X-Client-Secret", "s"),
        ("Password", "p"),
        ("Accept", "text/html"),
        ("Content-Type", "application/json"),
    )
    recorder = make_recorder()
    publish_all(
        recorder,
        [
            InvocationFinished(
                record("r1", request_headers=headers, response_headers=(("Set-Cookie", "x"), ("ETag", "1")))
            )
        ],
    )
    assert recorder.flush()
    stored = json.loads(rows(store_path, "SELECT request_headers FROM invocations")[0][0])
    assert stored == [[name, REDACTED] for name, _ in headers[:7]] + [
        ["Accept", "text/html"],
        ["Content-Type", "application/json"],
    ]
    response = json.loads(rows(store_path, "SELECT response_headers FROM invocations")[0][0])
    assert response == [["Set-Cookie", REDACTED], ["ETag", "1"]]
    raw = Path(store_path).read_bytes() + Path(f"{store_path}-wal").read_bytes()
    assert b"Bearer abc" not in raw and b"sid=1" not in raw


def test_secret_header_names():
    assert is_secret_header("X-GitHub-Token") and is_secret_header("api_key") and is_secret_header("Passwd")
    assert not is_secret_header("Accept-Encoding") and not is_secret_header("X-Request-Id")


def test_bodies_are_capped_with_a_flag_and_binary_kept_as_bytes(make_recorder, store_path):
    binary = bytes(range(256)) * 4
    recorder = make_recorder(StoreSettings(body_cap_bytes=100))
    publish_all(
        recorder,
        [
            InvocationFinished(record("big", request_body=b"x" * 1000, response_body=binary)),
            InvocationFinished(record("small", request_body=b"\x00\xffok", response_body=b"fine")),
        ],
    )
    assert recorder.flush()
    big = rows(
        store_path,
        "SELECT request_body, request_body_size, request_body_truncated, response_body, "
        "response_body_size, response_body_truncated FROM invocations WHERE request_id='big'",
    )[0]
    assert big == (b"x" * 100, 1000, 1, binary[:100], 1024, 1)
    small = rows(
        store_path,
        "SELECT request_body, request_body_truncated, response_body FROM invocations "
        "WHERE request_id='small'",
    )[0]
    assert small == (b"\x00\xffok", 0, b"fine")
    assert isinstance(small[0], bytes)


def test_error_frames_warnings_outbox_and_metrics_are_kept(make_recorder, store_path):
    rec = failing_record(
        "bad",
        outbox=({"to": "a@b.c", "subject": "hi"},),
        init_ms=80.5,
        peak_memory_mb=31.0,
        code_version="abc123",
        instance_id="i-1",
        return_value='{"a": 1}',
        fault="crash",
    )
    recorder = make_recorder()
    publish_all(recorder, invocation_events("bad", 1, rec=rec))
    assert recorder.flush()
    with Reader(store_path) as reader:
        detail = reader.invocation("bad")
    assert detail.status == 502 and detail.has_error and detail.fault == "crash"
    assert detail.error_type == "KeyError" and "KeyError: 'user'" in detail.error_traceback
    assert [(f.idx, f.file, f.line, f.is_user_code, f.locals) for f in detail.frames] == [
        (0, "api/hello.py", 3, True, {"d": "{}"}),
        (1, "/usr/lib/python3/x.py", 9, False, {}),
    ]
    assert detail.warnings == ({"id": "EO-X", "message": "m", "fix": "f"},)
    assert detail.outbox == ({"to": "a@b.c", "subject": "hi"},)
    assert (detail.init_ms, detail.peak_memory_mb, detail.code_version, detail.instance_id) == (
        80.5,
        31.0,
        "abc123",
        "i-1",
    )
    assert detail.return_value == '{"a": 1}'


def test_log_lines_without_a_started_event_get_a_placeholder_that_finishes(make_recorder, store_path):
    recorder = make_recorder()
    events = invocation_events("late", 2)[1:]  # no InvocationStarted
    publish_all(recorder, events)
    assert recorder.flush()
    assert rows(store_path, "SELECT count(*), max(state) FROM invocations") == [(1, "finished")]
    assert rows(
        store_path,
        "SELECT count(*) FROM logs l JOIN invocations i ON i.id = l.invocation_id "
        "WHERE i.request_id = 'late'",
    ) == [(2,)]
    assert rows(store_path, "SELECT value FROM counters WHERE name='invocations'") == [(1,)]


def test_a_running_invocation_is_visible_then_finished(make_recorder, store_path):
    recorder = make_recorder()
    events = invocation_events("slow", 1)
    publish_all(recorder, events[:2])
    assert recorder.flush()
    assert rows(store_path, "SELECT state, status FROM invocations") == [("running", None)]
    recorder(events[2])
    assert recorder.wait_recorded("slow", 5)
    assert rows(store_path, "SELECT state, status FROM invocations") == [("finished", 200)]


def test_retention_keeps_the_newest_invocations_with_their_logs(make_recorder, store_path):
    recorder = make_recorder(StoreSettings(max_invocations=10, max_log_lines=1_000_000))
    for index in range(40):
        publish_all(recorder, invocation_events(f"r{index:02d}", 3, rec=failing_record(f"r{index:02d}")))
    assert recorder.flush()
    assert wait_until(lambda: rows(store_path, "SELECT count(*) FROM invocations")[0][0] == 10)
    kept = [r[0] for r in rows(store_path, "SELECT request_id FROM invocations ORDER BY id")]
    assert kept == [f"r{index:02d}" for index in range(30, 40)]
    assert rows(store_path, "SELECT count(*) FROM logs")[0][0] == 30
    assert rows(store_path, "SELECT count(*) FROM frames")[0][0] == 20
    assert rows(store_path, "SELECT count(*) FROM logs_fts WHERE logs_fts MATCH 'r00'")[0][0] == 0
    assert dict(rows(store_path, "SELECT name, value FROM counters")) == {"invocations": 10, "logs": 30}


def test_retention_keeps_the_newest_log_lines(make_recorder, store_path):
    recorder = make_recorder(StoreSettings(max_invocations=1000, max_log_lines=25))
    for index in range(20):
        publish_all(recorder, invocation_events(f"r{index:02d}", 5))
    assert recorder.flush()
    assert wait_until(lambda: rows(store_path, "SELECT count(*) FROM logs")[0][0] == 25)
    texts = [r[0] for r in rows(store_path, "SELECT text FROM logs ORDER BY id")]
    assert texts[0] == "r15 line 0" and texts[-1] == "r19 line 4"
    assert rows(store_path, "SELECT count(*) FROM invocations")[0][0] == 20  # invocations stay
    assert rows(store_path, "SELECT count(*) FROM logs_fts")[0][0] == 25


def test_retention_says_what_it_removed_in_a_line(make_recorder, store_path):
    """Issue 13 item 6: the log view and `logs` show what retention pruned (one line per 1,000 or more
    rows removed, so its own line never sets off another)."""
    recorder = make_recorder(StoreSettings(max_invocations=100, max_log_lines=1_000_000))
    for index in range(700):
        publish_all(recorder, invocation_events(f"r{index:03d}", 1))
    assert recorder.flush()

    def notices():
        return [r[0] for r in rows(store_path, "SELECT text FROM logs WHERE stream = 'platform' AND "
                                              "text LIKE 'funcstudio retention:%'")]

    assert wait_until(lambda: notices())
    assert re.match(r"funcstudio retention: removed the [\d,]+ oldest invocations and [\d,]+ log lines "
                    r"\(the store keeps the newest 100 invocations and 1,000,000 log lines: \[store\] "
                    r"max_invocations, max_log_lines\)$", notices()[0])
    with Reader(store_path) as reader:  # the notice is a line like any other: `logs` and the studio read it
        assert any(line.text.startswith("funcstudio retention:") for line in reader.logs(limit=5))


def test_retention_never_removes_the_lines_on_screen(make_recorder, store_path):
    recorder = make_recorder(StoreSettings(max_invocations=10, max_log_lines=1_000_000))
    for index in range(5):
        publish_all(recorder, invocation_events(f"a{index}", 3))
    assert recorder.flush()
    [(on_screen,)] = rows(store_path, "SELECT l.id FROM logs l JOIN invocations i ON i.id = l.invocation_id "
                                      "WHERE i.request_id = 'a2' AND l.seq = 1")
    recorder.keep_from(on_screen)  # the studio's oldest line on screen
    for index in range(30):
        publish_all(recorder, invocation_events(f"b{index:02d}", 3))
    assert recorder.flush()
    assert wait_until(lambda: rows(store_path, "SELECT count(*) FROM invocations")[0][0] == 33)
    kept = [r[0] for r in rows(store_path, "SELECT request_id FROM invocations ORDER BY id")]
    assert kept[:3] == ["a2", "a3", "a4"]  # a0 and a1 went; a2 holds a line on screen
    recorder.keep_from(None)
    publish_all(recorder, invocation_events("c0", 1))
    assert recorder.flush()
    assert wait_until(lambda: rows(store_path, "SELECT count(*) FROM invocations")[0][0] == 10)


def test_a_full_queue_drops_log_lines_counts_them_and_never_blocks(make_recorder, store_path):
    """The writer is held up by another process's write lock; the publisher carries on."""
    recorder = make_recorder(queue_limit=100)
    assert recorder.recording
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    publish_all(recorder, invocation_events("first", 1))
    wait_until(lambda: len(recorder._queue) == 0)  # the writer took it and now waits on the lock
    for index in range(40):  # 480 events: 80 invocation events fit within twice the limit
        publish_all(recorder, invocation_events(f"r{index:02d}", 10))
    blocker.execute("COMMIT")
    blocker.close()
    assert recorder.flush(timeout=20)
    assert recorder.dropped_lines > 0
    assert recorder.dropped_invocations == 0
    finished = rows(
        store_path, "SELECT count(*) FROM invocations WHERE state = 'finished' AND trigger = 'http'"
    )
    assert finished == [(41,)]  # every invocation kept although lines were dropped
    notice = rows(store_path, "SELECT text FROM logs WHERE stream = 'platform'")
    assert notice and f"{recorder.dropped_lines} log lines were not recorded" in notice[-1][0]


def test_a_database_locked_for_too_long_turns_recording_off(make_recorder, store_path):
    problems: list[str] = []
    recorder = make_recorder(busy_timeout_ms=50, on_problem=problems.append)
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        publish_all(recorder, invocation_events("r1", 2))
        assert wait_until(lambda: not recorder.recording)
        assert (
            "recording is off" in problems[0] and "locked" in problems[0] and str(store_path) in problems[0]
        )
        publish_all(recorder, invocation_events("r2", 2))  # dropped at once, no exception
        assert recorder.wait_recorded("r2", timeout=5) is False
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_a_full_disk_turns_recording_off_and_keeps_what_was_committed(make_recorder, store_path):
    recorder = make_recorder()
    publish_all(recorder, invocation_events("before", 1))
    assert recorder.flush()
    pages = recorder._conn.execute("PRAGMA page_count").fetchone()[0]
    recorder._conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    for index in range(200):
        publish_all(
            recorder, invocation_events(f"r{index}", 5, rec=record(f"r{index}", response_body=b"x" * 4000))
        )
    assert wait_until(lambda: not recorder.recording)
    assert "full" in recorder.problem
    assert rows(store_path, "PRAGMA integrity_check") == [("ok",)]
    assert ("before",) in rows(store_path, "SELECT request_id FROM invocations")


def test_a_read_only_database_turns_recording_off_with_a_clear_message(store_path):
    """A process that may only read the store (its file modes say so) keeps running, not recording."""
    base = Path(tempfile.mkdtemp(prefix="fs-ro-"))
    project = base / "proj"
    try:
        from studio.store.db import open_store

        open_store(project / ".funcstudio" / "studio.db").close()
        for path in (base, project, project / ".funcstudio"):
            path.chmod(0o755)
        for path in (project / ".funcstudio").iterdir():
            path.chmod(0o444)
        (project / ".funcstudio").chmod(0o555)
        script = textwrap.dedent(
            """
            import json, sys
            from studio.store.writer import Recorder
            from studio.runtime.events import InvocationStarted
            recorder = Recorder(sys.argv[1])
            recorder(InvocationStarted("r1", None, "http", "GET", "/", 1.0))
            recorder.flush(5)
            print(json.dumps(recorder.status()))
            recorder.close()
            """
        )
        command = [sys.executable, "-c", script, str(project / ".funcstudio" / "studio.db")]
        if os.geteuid() == 0:  # root ignores file modes: run without the capabilities that do so
            command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
        repo = str(Path(__file__).resolve().parents[2])
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=repo,
            env={**os.environ, "PYTHONPATH": repo},
        )
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout.strip().splitlines()[-1])
        assert status["recording"] is False
        assert "recording is off" in status["problem"]
        assert "read-only" in status["problem"] or "cannot open" in status["problem"]
    finally:
        (project / ".funcstudio").chmod(0o755)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_events_that_cannot_be_written_are_skipped_not_fatal(make_recorder, store_path):
    recorder = make_recorder()
    bad = LogLine("r1", "api/hello", 0, 1.0, "stdout", None, object())  # not text
    publish_all(recorder, [bad, *invocation_events("r2", 1)])
    assert recorder.flush()
    assert recorder.recording and recorder.skipped_events == 1
    assert ("r2",) in rows(store_path, "SELECT request_id FROM invocations")


def test_a_finished_invocation_is_journaled_before_publish_returns(make_recorder, store_path):
    recorder = make_recorder()
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer cannot commit meanwhile
    try:
        publish_all(recorder, invocation_events("journaled", 2))
        # No wait for the writer: the record is already one line of this process's journal.
        journal = Path(recorder.status()["journal"])
        lines = journal_text(journal).splitlines()
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert [json.loads(line)["request_id"] for line in lines] == ["journaled"]
    assert recorder.flush()
    assert rows(store_path, "SELECT state FROM invocations WHERE request_id = 'journaled'") == [("finished",)]
    assert journal_text(journal) == ""  # everything committed: the journal starts over
    recorder.close()
    assert not journal.exists()


def test_the_journal_holds_bodies_capped_and_the_store_gets_secrets_redacted(make_recorder, store_path):
    recorder = make_recorder(StoreSettings(body_cap_bytes=1024))
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer cannot commit: the line stays in the journal
    try:
        rec = record("secret", request_headers=(("Authorization", "Bearer s3cr3t"),),
                     query_string="api_key=k1&page=2", response_body=b"x" * 5000)
        publish_all(recorder, [InvocationFinished(rec)])
        journal = Path(recorder.status()["journal"])
        text = journal_text(journal)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert oct(journal.stat().st_mode & 0o777) == "0o600"  # private: redaction happens on commit
    line = line_json(text.splitlines()[-1].encode())
    assert len(line["body"]) == 1024 and line["body_size"] == 5000
    assert recorder.flush()
    stored = rows(store_path, "SELECT request_headers, query_string, response_body_size FROM invocations")
    assert "s3cr3t" not in stored[0][0] and "k1" not in stored[0][1] and REDACTED in stored[0][0]
    assert stored[0][2] == 5000


def test_commit_listeners_hear_each_batch(make_recorder):
    recorder = make_recorder()
    heard = []
    done = threading.Event()

    def listener(info):
        heard.append(info)
        if "r1" in info.request_ids:
            done.set()

    recorder.add_listener(listener)
    publish_all(recorder, invocation_events("r1", 4))
    assert done.wait(10)
    assert sum(info.logs for info in heard) == 4 and heard[-1].last_log_id is not None


def test_abandoned_running_rows_are_closed_on_start(make_recorder, store_path):
    recorder = make_recorder()
    publish_all(recorder, [InvocationStarted("ghost", "api/x", "http", "GET", "/", 1.0)])
    assert recorder.flush()
    recorder.close()
    make_recorder()
    assert rows(store_path, "SELECT state FROM invocations") == [("interrupted",)]


def test_a_stalled_writer_never_stalls_the_publisher(make_recorder, store_path):
    recorder = make_recorder()
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer now waits on the lock (within its busy timeout)
    try:
        publish_all(recorder, invocation_events("stalled-1", 1))
        publish_all(recorder, invocation_events("stalled-2", 1))
        # both published (and journaled) while nothing could commit
        assert rows(store_path, "SELECT count(*) FROM invocations WHERE state = 'finished'") == [(0,)]
        journaled = journal_text(recorder.status()["journal"])
        assert "stalled-1" in journaled and "stalled-2" in journaled
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert recorder.flush()
    assert recorder.recording
    assert rows(store_path, "SELECT request_id FROM invocations ORDER BY id") == [
        ("stalled-1",),
        ("stalled-2",),
    ]


def test_secret_query_parameters_are_redacted_others_kept(make_recorder, store_path):
    recorder = make_recorder()
    publish_all(
        recorder,
        [
            InvocationFinished(record("q1", query_string="access_token=abc123&page=2&api_key=k")),
            InvocationFinished(record("q2", query_string="page=2&name=Ada%20L")),
        ],
    )
    assert recorder.flush()
    stored = dict(rows(store_path, "SELECT request_id, query_string FROM invocations"))
    assert "abc123" not in stored["q1"] and "page=2" in stored["q1"] and stored["q1"].count("redacted") == 2
    assert stored["q2"] == "page=2&name=Ada%20L"  # nothing secret: byte for byte as sent


def test_undecodable_text_is_kept_readable_and_recording_stays_on(make_recorder, store_path):
    """A process printing invalid UTF-8 (decoded with surrogateescape) must not stop recording."""
    bad = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    rec = failing_record("odd", path=f"/{bad}", request_headers=(("X-Name", bad),))
    events = invocation_events("odd", 0, rec=rec)
    events.insert(1, LogLine("odd", "api/hello", 0, 1.0, "stdout", None, f"printed {bad}"))
    recorder = make_recorder()
    publish_all(recorder, events + invocation_events("after", 1))
    assert recorder.flush()
    assert recorder.recording and recorder.skipped_events == 0
    assert rows(store_path, "SELECT text FROM logs WHERE text LIKE 'printed%'") == [
        ("printed caf\ufffd \ufffd",)
    ]
    assert rows(store_path, "SELECT path FROM invocations WHERE request_id = 'odd'") == [
        ("/caf\ufffd \ufffd",)
    ]
    assert ("after",) in rows(store_path, "SELECT request_id FROM invocations")


JOURNAL_CASES = {
    "text": {"logs": (LogLine("line", "api/hello", 0, 1.5, "stdout", None, "hi"),
                      LogLine("line", "api/hello", 1, 1.6, "logging", "WARNING", "careful")), "log_count": 2},
    "binary bodies, capped": {"request_body": b"\xff\xfe" + b"q" * 3000, "response_body": b"\x00\x9f" * 800},
    "unicode": {"request_headers": (("Host", "x"), ("X-Ünïcode", "✓")), "query_string": "a=1&é=2",
                "response_body": "héllo ✓".encode(), "params": {"id": "7"}},
    "failure": {"status": 500, "fault": "crash", "return_value": "None", "outbox": ({"to": "a@b.c"},),
                "error": ErrorInfo("KeyError", "'x'", "Traceback ...", (FrameInfo("f.py", 3, "handler", "x[1]",
                                                                                 {"x": "{}"}),)),
                "warnings": (ParityWarning("EO-DICT-ENVELOPE", "returned a dict", "return a Response"),),
                "profile": ({"function": "handler", "calls": 1},), "app_path": "/health",
                "duration_ms": 12.3456789, "wait_ms": 0.0004, "handler_ms": 1.23456},
    "lone surrogate": {"return_value": "bad \udcff byte"},  # orjson refuses it: written as to_json()
}


@pytest.mark.parametrize("case", JOURNAL_CASES)
def test_a_journal_line_reads_back_as_the_records_json(case):
    """The journal line is orjson's rendering of the record (not `to_json()`, which is slower to build):
    read back, it is `to_json()` of the record with its bodies capped, whichever way it was written."""
    from studio.store.journal import journal_line

    rec = record("line", **JOURNAL_CASES[case])
    line = journal_line(rec, 1024)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    data = line_json(line)
    capped = record("line", **JOURNAL_CASES[case])
    if len(rec.request_body) > 1024 or len(rec.response_body) > 1024:
        capped = dataclasses.replace(rec, request_body=rec.request_body[:1024], response_body=rec.response_body[:1024],
                                     request_body_size=len(rec.request_body), response_body_size=len(rec.response_body))
    expected = json.loads(json.dumps(capped.to_json()))
    assert {key: value for key, value in data.items() if key != "logs"} == {
        key: value for key, value in expected.items() if key != "logs"}
    assert InvocationRecord.from_json(data) == InvocationRecord.from_json(expected)
    # a line as earlier versions wrote it (`to_json()`) still reads back the same
    assert InvocationRecord.from_json(line_json(json.dumps(expected).encode())) == InvocationRecord.from_json(data)


def test_a_journal_line_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError):
        line_json(b"[1, 2]")
    with pytest.raises(ValueError):
        line_json(b'{"request_id": "cut sh')


def test_a_lock_held_for_a_moment_delays_a_batch_and_loses_nothing(tmp_path):
    """Another connection holds the write lock for 0.6 s, longer than the busy timeout and than the
    three quick retries (0.3 s) that used to pause recording and count the batch as not recorded:
    the batch now waits its turn, and nothing is said or dropped."""
    from studio.store.writer import Recorder

    db = tmp_path / ".funcstudio" / "studio.db"
    said: list[str] = []
    recorder = Recorder(db, busy_timeout_ms=10, on_problem=said.append)
    try:
        recorder(InvocationFinished(record("before")))
        assert recorder.flush()
        blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.6, lambda: blocker.execute("COMMIT"))
        release.start()
        recorder(InvocationFinished(record("while-locked")))
        assert recorder.flush(timeout=20)
        release.join()
        blocker.close()
        assert said == [] and recorder.recording
        assert recorder.dropped_invocations == 0
        conn = sqlite3.connect(db)
        try:
            stored = {rid for (rid,) in conn.execute("SELECT request_id FROM invocations")}
        finally:
            conn.close()
        assert stored == {"before", "while-locked"}
    finally:
        recorder.close()

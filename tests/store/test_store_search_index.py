"""Search's FTS5 index is filled by one statement per commit (schema 6, `maintenance.insert_logs`):
every path that writes lines indexes them exactly once, and a store made with the old per-row insert
trigger is migrated without indexing anything twice. And a finished record is inserted without
looking its request id up first, yet a row that exists after all is finished, never doubled."""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import pytest
from store_builders import T0, invocation_events, publish_all, record, wait_until

from studio.project.settings import StoreSettings
from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
from studio.store import channel, db
from studio.store.ingester import Ingester
from studio.store.journal import journal_dir, journal_line
from studio.store.queries import Filter, Reader


def edgeone_events(request_id: str, word: str) -> list:
    """A user line and the two platform lines of an EdgeOne request, as the runtime publishes them."""
    lines = (
        LogLine(request_id, "api/shop", 0, T0, "platform", None, f"Pages request path: https://x/{request_id}"),
        LogLine(request_id, "api/shop", 1, T0, "stdout", None, f"order {word} shipped"),
        LogLine(request_id, "api/shop", 2, T0, "platform", None, "Pages response status: 200"),
    )
    rec = record(request_id, function_id="api/shop", logs=lines, log_count=len(lines))
    return [InvocationStarted(request_id, "api/shop", "http", "GET", "/api/hello", T0), *lines,
            InvocationFinished(rec)]


def found(path, words: str) -> list[tuple[str, str]]:
    with Reader(path) as reader:
        return [(line.request_id, line.text) for line in reader.logs(Filter(text=words))]


def assert_indexed_once(path) -> None:
    """FTS5's own check of the index against `logs`: a line indexed twice, or not at all, fails it."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO logs_fts (logs_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


def triggers(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    finally:
        conn.close()


def test_user_and_platform_lines_are_found(make_recorder, store_path):
    recorder = make_recorder()
    for index in range(3):  # separate commits, and one batch of two
        publish_all(recorder, edgeone_events(f"r{index}", f"parcel{index}"))
        if index != 1:
            assert recorder.flush()
    assert found(store_path, "parcel1") == [("r1", "order parcel1 shipped")]
    assert found(store_path, "shipped") == [(f"r{i}", f"order parcel{i} shipped") for i in (2, 1, 0)]
    assert [text for _, text in found(store_path, "Pages response status")] == ["Pages response status: 200"] * 3
    assert found(store_path, "https x r2") == [("r2", "Pages request path: https://x/r2")]
    with Reader(store_path) as reader:  # the history's text search goes through the same index
        assert [inv.request_id for inv in reader.invocations(Filter(text="parcel2"))] == ["r2"]
    assert "logs_ai" not in triggers(store_path) and {"logs_ad", "logs_au"} <= triggers(store_path)
    assert_indexed_once(store_path)


def test_search_after_retention_and_after_clear(make_recorder, store_path):
    recorder = make_recorder(StoreSettings(max_invocations=5, max_log_lines=1_000_000))
    for index in range(12):
        publish_all(recorder, edgeone_events(f"r{index:02d}", f"parcel{index:02d}"))
    assert recorder.flush()
    assert wait_until(lambda: not found(store_path, "parcel00"))  # pruned lines leave the index
    assert found(store_path, "parcel11") == [("r11", "order parcel11 shipped")]
    assert_indexed_once(store_path)

    recorder.clear()
    assert found(store_path, "shipped") == []
    publish_all(recorder, edgeone_events("after", "crate"))
    assert recorder.flush()
    assert found(store_path, "crate") == [("after", "order crate shipped")]
    assert [rid for rid, _ in found(store_path, "Pages response")] == ["after"]  # ids start over after clear
    assert_indexed_once(store_path)


def test_a_store_with_the_insert_trigger_is_migrated_and_nothing_is_indexed_twice(
    store_path, make_recorder, monkeypatch
):
    monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:5])
    monkeypatch.setattr(db, "SCHEMA_VERSION", 5)
    conn = db.open_store(store_path)  # a store as schema 5 made it: its writer left indexing to the trigger
    assert "logs_ai" in triggers(store_path)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO invocations (id, request_id, state, trigger, method, path, started_at) "
                 "VALUES (1, 'old', 'finished', 'http', 'GET', '/', ?)", (T0,))
    conn.executemany("INSERT INTO logs (invocation_id, seq, time, stream, text) VALUES (1, ?, ?, 'stdout', ?)",
                     [(0, T0, "order vintage shipped"), (1, T0, "Pages response status: 200")])
    conn.execute("UPDATE counters SET value = CASE name WHEN 'logs' THEN 2 ELSE 1 END")
    conn.execute("COMMIT")
    conn.close()
    monkeypatch.undo()

    recorder = make_recorder()
    publish_all(recorder, edgeone_events("new", "modern"))
    assert recorder.flush()
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION == 6
    conn.close()
    assert "logs_ai" not in triggers(store_path)
    assert found(store_path, "vintage") == [("old", "order vintage shipped")]
    assert found(store_path, "modern") == [("new", "order modern shipped")]
    assert [rid for rid, _ in found(store_path, "Pages response status")] == ["new", "old"]
    assert_indexed_once(store_path)

    conn = sqlite3.connect(store_path)  # and the check does catch a line indexed twice
    conn.execute("INSERT INTO logs_fts (rowid, text) SELECT id, text FROM logs WHERE text LIKE '%vintage%'")
    conn.commit()
    conn.close()
    with pytest.raises(sqlite3.DatabaseError):
        assert_indexed_once(store_path)


def test_replayed_journals_are_indexed(make_recorder, store_path):
    first = make_recorder(journal=False)
    publish_all(first, edgeone_events("dead0", "relic0"))  # committed before its process was killed
    assert first.flush()
    first.close()
    folder = journal_dir(store_path)
    folder.mkdir(parents=True, exist_ok=True)
    dead = [edgeone_events(f"dead{index}", f"relic{index}")[-1].record for index in range(3)]
    # a dead process's journal (nobody holds its lock)
    (folder / "999999-dead.jsonl").write_bytes(b"".join(journal_line(rec, 1 << 20) for rec in dead))
    recorder = make_recorder()
    publish_all(recorder, invocation_events("live", 2))
    assert recorder.flush()
    assert found(store_path, "relic0") == [("dead0", "order relic0 shipped")]
    assert [rid for rid, _ in found(store_path, "shipped")] == ["dead2", "dead1", "dead0"]
    assert found(store_path, "live line") == [("live", "live line 1"), ("live", "live line 0")]
    assert_indexed_once(store_path)


def running_row(store_path, request_id: str) -> None:
    """A `running` row as a writer that died after committing the start left it."""
    conn = db.open_store(store_path)
    conn.execute("INSERT INTO invocations (request_id, state, function_id, trigger, method, path, started_at) "
                 "VALUES (?, 'running', 'api/shop', 'http', 'GET', '/api/hello', ?)", (request_id, time.time()))
    conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'invocations'")
    conn.close()


def test_a_whole_finished_line_for_an_existing_row_finishes_that_row(make_recorder, store_path):
    """The writer process inserts a FINISHED_WHOLE record without looking its request id up; when a
    row exists after all, the insert's conflict turns into an update: still one row."""
    running_row(store_path, "again")
    ingester = Ingester(socket.socketpair()[0])
    ingester.recorder = recorder = make_recorder(journal=False)
    for request_id in ("again", "fresh"):
        line = journal_line(edgeone_events(request_id, f"box-{request_id}")[-1].record, 1 << 20)
        ingester._handle(channel.FINISHED_WHOLE, line)
    assert recorder.flush()
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT request_id, state, status, log_count FROM invocations ORDER BY id").fetchall() == [
        ("again", "finished", 200, 3), ("fresh", "finished", 200, 3)]
    assert dict(conn.execute("SELECT name, value FROM counters")) == {"invocations": 2, "logs": 6}
    conn.close()
    assert found(store_path, "box again") == [("again", "order box-again shipped")]
    assert recorder.skipped_events == 0
    assert_indexed_once(store_path)


def test_replaying_a_journal_over_a_running_row_and_a_recorded_one_keeps_one_row_each(make_recorder, store_path):
    first = make_recorder(journal=False)
    publish_all(first, edgeone_events("recorded", "done"))
    assert first.flush()
    first.close()
    running_row(store_path, "started")
    folder = journal_dir(store_path)
    folder.mkdir(parents=True, exist_ok=True)
    records = [edgeone_events(rid, f"w-{rid}")[-1].record for rid in ("recorded", "started", "started")]
    (folder / "999999-dead.jsonl").write_bytes(b"".join(journal_line(rec, 1 << 20) for rec in records))
    recorder = make_recorder()
    assert recorder.flush()
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT request_id, state FROM invocations ORDER BY id").fetchall() == [
        ("recorded", "finished"), ("started", "finished")]
    assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 6
    assert dict(conn.execute("SELECT name, value FROM counters")) == {"invocations": 2, "logs": 6}
    conn.close()
    assert_indexed_once(store_path)


def test_a_whole_finished_line_that_cannot_be_written_keeps_its_lines(make_recorder, store_path):
    """The writer process queues a FINISHED_WHOLE record as one event carrying its lines: when the record
    itself is unwritable (a bug, a bad value), its lines still go in, under a placeholder invocation."""
    ingester = Ingester(socket.socketpair()[0])
    ingester.recorder = recorder = make_recorder(journal=False)
    data = json.loads(journal_line(edgeone_events("odd", "kept")[-1].record, 1 << 20))
    data["status"] = "two hundred"  # no status class can be made of it
    ingester._handle(channel.FINISHED_WHOLE, json.dumps(data).encode())
    ingester._handle(channel.FINISHED_WHOLE, journal_line(edgeone_events("fine", "also")[-1].record, 1 << 20))
    assert recorder.flush()
    assert recorder.skipped_events == 1
    assert found(store_path, "kept") == [("odd", "order kept shipped")]
    assert [rid for rid, _ in found(store_path, "Pages response status")] == ["odd", "fine"]
    assert_indexed_once(store_path)

"""The store's file, pragmas, declared schema, indexes, FTS and forward migrations."""

from __future__ import annotations

import sqlite3

import pytest
from store_builders import invocation_events, publish_all

from studio.store import db
from studio.store.queries import Filter, Reader


def test_open_creates_folder_gitignore_wal_and_version(project, store_path):
    conn = db.open_store(store_path)
    assert (project / ".funcstudio" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
    assert db.user_version(conn) == db.SCHEMA_VERSION
    conn.close()


def test_gitignore_is_not_overwritten(project):
    folder = db.ensure_store_dir(project)
    (folder / ".gitignore").write_text("*\n# mine\n")
    db.ensure_store_dir(project)
    assert (folder / ".gitignore").read_text() == "*\n# mine\n"


def test_declared_tables_columns_and_filter_indexes(store_path):
    conn = db.open_store(store_path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"invocations", "logs", "frames", "saved_requests", "counters", "logs_fts"} <= tables
    columns = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(invocations)")}
    for name in (
        "request_id",
        "status",
        "status_class",
        "has_error",
        "request_body",
        "response_body",
        "request_body_truncated",
        "warnings",
        "outbox",
        "init_ms",
        "peak_memory_mb",
        "code_version",
        "instance_id",
        "return_value",
        "error_traceback",
    ):
        assert name in columns
    assert columns["request_body"] == "BLOB"
    indexes = {
        tuple(row[2] for row in conn.execute(f"PRAGMA index_info('{name}')"))
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    for wanted in [
        ("function_id", "id"),
        ("status_class", "id"),
        ("status", "id"),
        ("has_error", "id"),
        ("started_at",),
        ("level", "id"),
        ("invocation_id", "seq"),
        ("request_id",),
        ("time",),
    ]:
        assert wanted in indexes, wanted
    triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"logs_ad", "logs_au"} <= triggers and "logs_ai" not in triggers  # v6: indexed per commit
    conn.close()


def test_keyset_queries_use_indexes_not_scans(store_path):
    conn = db.open_store(store_path)
    plan = " ".join(
        row[3]
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM logs WHERE function_id = ? AND id < ? ORDER BY id DESC LIMIT 200",
            ("a", 10),
        )
    )
    assert "idx_logs_function_id_id" in plan and "TEMP B-TREE" not in plan
    conn.close()


def test_reopening_is_idempotent(store_path):
    db.open_store(store_path).close()
    conn = db.open_store(store_path)
    assert db.user_version(conn) == db.SCHEMA_VERSION
    conn.close()


def test_missing_store_is_not_created_when_create_false(store_path):
    with pytest.raises(db.StoreError, match="no recordings yet"):
        db.open_store(store_path, create=False)
    assert not store_path.exists()


def test_migration_from_a_version_1_store_keeps_data_and_adds_the_index(
    store_path, make_recorder, monkeypatch
):
    """A store written by the first release (schema 1), opened by this one: migrated in place."""
    monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:1])
    monkeypatch.setattr(db, "SCHEMA_VERSION", 1)
    recorder = make_recorder()
    publish_all(recorder, invocation_events("old-1", 2, level="ERROR"))
    assert recorder.flush()
    recorder.close()
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert (
        conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'idx_logs_function_id_level_id'"
        ).fetchone()[0]
        == 0
    )
    conn.close()
    monkeypatch.undo()

    with Reader(store_path) as reader:  # readers migrate too
        assert [line.text for line in reader.logs(Filter(function_id="api/hello", level="error"))] == [
            "old-1 line 1",
            "old-1 line 0",
        ]
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION == 6
    assert (
        conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'idx_logs_function_id_level_id'"
        ).fetchone()[0]
        == 1
    )
    assert conn.execute("SELECT request_id FROM invocations").fetchall() == [("old-1",)]
    conn.close()


def test_a_future_migration_runs_once_on_existing_data(store_path, make_recorder, monkeypatch):
    recorder = make_recorder()
    publish_all(recorder, invocation_events("old-1", 2))
    assert recorder.flush()
    recorder.close()

    def add_tags(database) -> None:
        database["invocations"].add_column("tags", str)
        database.execute("UPDATE invocations SET tags = 'migrated'")

    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, add_tags])
    monkeypatch.setattr(db, "SCHEMA_VERSION", len(db.MIGRATIONS))
    conn = db.open_store(store_path)
    assert db.user_version(conn) == db.SCHEMA_VERSION
    assert conn.execute("SELECT request_id, tags FROM invocations").fetchall() == [("old-1", "migrated")]
    assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == 2
    conn.close()
    db.open_store(store_path).close()  # already current: add_tags does not run twice


def test_migration_from_version_zero_file(store_path):
    """An empty SQLite file (version 0, e.g. created by hand or by an interrupted first run)."""
    store_path.parent.mkdir(parents=True)
    sqlite3.connect(store_path).close()
    conn = db.open_store(store_path)
    assert db.user_version(conn) == db.SCHEMA_VERSION
    conn.close()


def test_a_failed_migration_rolls_back_and_leaves_the_version(store_path, monkeypatch):
    db.open_store(store_path).close()

    def broken(database) -> None:
        database.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("boom")

    monkeypatch.setattr(db, "MIGRATIONS", [*db.MIGRATIONS, broken])
    monkeypatch.setattr(db, "SCHEMA_VERSION", len(db.MIGRATIONS))
    with pytest.raises(db.StoreError, match="boom"):
        db.open_store(store_path)
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS) - 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()


def newer_file(store_path):
    db.open_store(store_path).close()
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 5}")
    conn.close()


def test_newer_version_is_refused_by_reader(store_path):
    newer_file(store_path)
    with pytest.raises(db.NewerSchemaError, match="newer funcstudio"):
        Reader(store_path)


def test_newer_version_turns_recording_off_without_touching_the_file(store_path, make_recorder):
    newer_file(store_path)
    problems: list[str] = []
    recorder = make_recorder(on_problem=problems.append)
    assert recorder.recording is False
    assert "newer funcstudio" in (recorder.problem or "") and str(store_path) in recorder.problem
    assert problems == [recorder.problem]
    publish_all(recorder, invocation_events("r1"))  # never raises, never blocks
    assert recorder.wait_recorded("r1", timeout=5) is False
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION + 5
    assert conn.execute("SELECT count(*) FROM invocations").fetchone()[0] == 0
    conn.close()


def test_not_a_database_is_a_clear_error(store_path):
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(db.StoreError, match="not a usable funcstudio database"):
        db.open_store(store_path)

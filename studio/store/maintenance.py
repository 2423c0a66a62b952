"""The store's writes other than recording: saved requests, clearing the history, retention.

Each operation is a function of a connection that runs in ONE `BEGIN IMMEDIATE` transaction (the
write lock). They run in two places only:

- on the recorder's writer thread, through `Recorder.run(...)` / its `save_request`, `clear`, ...
  methods, while a studio or `serve` records (the in-process writer stays the only writer);
- offline, through `offline(db_path)`, for a command that runs without a recorder (`logs --clear`):
  it opens its own connection and takes the same write lock, so it waits for (or is refused by) a
  writer in another process instead of interleaving with its batches.

The read side (`queries.Reader`) never writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from studio.store.db import StoreError, describe_error, open_store
from studio.store.rows import SAVED_COLUMNS, SavedRequest, saved_from_row

T = TypeVar("T")
PRUNE_CHUNK = 2_000


@contextmanager
def write_transaction(conn: sqlite3.Connection, path: str | Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; sqlite3 errors become `StoreError`."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(describe_error(exc, path)) from exc


def offline(db_path: str | Path, operation: Callable[[sqlite3.Connection], T]) -> T:
    """Run `operation(conn)` on the store at `db_path` from a process with no recorder, under the
    write lock (a recorder in another process is waited for, `busy_timeout`). The file must exist."""
    conn = open_store(db_path, create=False)
    try:
        return operation(conn)
    finally:
        conn.close()


# --- operations (each: one transaction on `conn`) ---------------------------------------------


def save_request(
    conn: sqlite3.Connection,
    function_id: str,
    name: str,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | str = b"",
    event: str | None = None,
) -> SavedRequest:
    """Create or replace (same function and name) a saved request; returns it as stored."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    now = time.time()
    with write_transaction(conn, _path(conn)):
        conn.execute(
            "INSERT INTO saved_requests (function_id, name, method, path, headers, body, event, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (function_id, name) DO UPDATE SET "
            "method = excluded.method, path = excluded.path, headers = excluded.headers, body = excluded.body, "
            "event = excluded.event, updated_at = excluded.updated_at",
            [function_id, name, method, path, json.dumps([list(h) for h in headers]), body, event, now, now],
        )
        row = conn.execute(
            f"SELECT {SAVED_COLUMNS} FROM saved_requests WHERE function_id = ? AND name = ?", [function_id, name]
        ).fetchone()
    return saved_from_row(row)


def delete_saved_request(conn: sqlite3.Connection, saved_id: int) -> bool:
    with write_transaction(conn, _path(conn)):
        return conn.execute("DELETE FROM saved_requests WHERE id = ?", [saved_id]).rowcount > 0


def clear_history(conn: sqlite3.Connection) -> dict[str, int]:
    """Delete every invocation, log line and frame (saved requests stay). Returns what was removed.

    The FTS index is emptied in one step rather than row by row through its delete trigger, which
    takes minutes at a million lines.
    """
    with write_transaction(conn, _path(conn)):
        removed = dict(conn.execute("SELECT name, value FROM counters").fetchall())
        trigger_sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'logs_ad'"
        ).fetchone()
        conn.execute("DROP TRIGGER IF EXISTS logs_ad")
        conn.execute("DELETE FROM logs")
        conn.execute("INSERT INTO logs_fts (logs_fts) VALUES ('delete-all')")
        if trigger_sql:
            conn.execute(trigger_sql[0])
        conn.execute("DELETE FROM frames")
        conn.execute("DELETE FROM invocations")
        conn.execute("UPDATE counters SET value = 0")
    return removed


@dataclass
class Pruned:
    """What one `prune_some` call removed, and whether more is past the limits."""

    invocations: int = 0
    logs: int = 0
    more: bool = False


def prune_some(conn: sqlite3.Connection, max_invocations: int, max_log_lines: int,
               keep_from_log_id: int | None = None) -> Pruned:
    """Delete one chunk of the oldest rows past the retention limits. `keep_from_log_id` protects
    that line and every newer one, and their invocations (the studio's lines on screen)."""
    counts = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    excess_invocations = counts.get("invocations", 0) - max_invocations
    excess_logs = counts.get("logs", 0) - max_log_lines
    pruned = Pruned()
    if excess_invocations <= 0 and excess_logs <= 0:
        return pruned
    keep = keep_from_log_id if keep_from_log_id is not None else -1
    with write_transaction(conn, _path(conn)):
        if excess_invocations > 0:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT i.id FROM invocations i WHERE i.state != 'running' AND (? < 0 OR NOT EXISTS "
                    "(SELECT 1 FROM logs l WHERE l.invocation_id = i.id AND l.id >= ?)) ORDER BY i.id LIMIT ?",
                    (keep, keep, min(excess_invocations, PRUNE_CHUNK)),
                )
            ]
            marks = ",".join("?" * len(ids))
            if ids:
                removed_logs = conn.execute(f"DELETE FROM logs WHERE invocation_id IN ({marks})", ids).rowcount
                conn.execute(f"DELETE FROM frames WHERE invocation_id IN ({marks})", ids)
                removed = conn.execute(f"DELETE FROM invocations WHERE id IN ({marks})", ids).rowcount
                bump(conn, "invocations", -removed)
                bump(conn, "logs", -removed_logs)
                excess_logs -= removed_logs
                pruned.invocations += removed
                pruned.logs += removed_logs
        if excess_logs > 0:
            removed_logs = conn.execute(
                "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE (? < 0 OR id < ?) ORDER BY id LIMIT ?)",
                (keep, keep, min(excess_logs, PRUNE_CHUNK)),
            ).rowcount
            bump(conn, "logs", -removed_logs)
            pruned.logs += removed_logs
    # more to do only when this chunk removed something (rows on screen stay, whatever the limits say)
    pruned.more = (excess_invocations > PRUNE_CHUNK or excess_logs > PRUNE_CHUNK) and bool(
        pruned.invocations or pruned.logs)
    return pruned


LOG_INSERT = ("INSERT INTO logs (invocation_id, function_id, seq, time, stream, level, text) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)")


def insert_logs(conn: sqlite3.Connection, rows: Sequence[tuple]) -> int | None:
    """Insert `logs` rows (`LOG_INSERT`'s values) and index them for search, inside the caller's
    transaction; returns the last row's id (None: no rows).

    The FTS index is filled by ONE `INSERT ... SELECT` of the new rows, not by a per-row trigger
    (schema 6 dropped it): the writer's CPU per EdgeOne invocation (2 lines) fell by ~15% (see
    benchmarks/store_ingest.py). Every insert into `logs` goes through here, or search misses it."""
    if not rows:
        return None
    before = conn.execute("SELECT max(id) FROM logs").fetchone()[0] or 0
    conn.executemany(LOG_INSERT, rows)
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    conn.execute("INSERT INTO logs_fts (rowid, text) SELECT id, text FROM logs WHERE id > ?", (before,))
    return last


def bump(conn: sqlite3.Connection, name: str, delta: int) -> None:
    if delta:
        conn.execute("UPDATE counters SET value = value + ? WHERE name = ?", (delta, name))


def _path(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else "studio.db"

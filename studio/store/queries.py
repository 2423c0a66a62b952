"""The store's read side: pages of history and logs, one invocation whole, tails, counts, saved requests.
It only reads: every write (saved requests, `clear`, retention) goes through `writer.py` or the
offline path in `maintenance.py`, and its connections are opened `query_only`.

    reader = Reader(db_path(project_root))
    page = reader.logs(Filter(function_id="api/users", level="error"), limit=200)
    older = reader.logs(same_filter, before_id=page[-1].id)      # keyset: never OFFSET
    newer = reader.logs_after(last_seen_id, same_filter)         # a follower's tail
    detail = reader.invocation("3f2a")                           # a unique prefix is enough

Pages are newest first (`WHERE id < ? ORDER BY id DESC LIMIT n`); tails are oldest first. Every
result is a frozen dataclass (`rows.py`); every filter goes through `filters.py`. Each thread gets its own connection, so the TUI's workers and
a CLI follower never share one with the writer. `time_limit_ms` aborts a query that runs longer
with `QueryTimeout` (Datasette's habit), so a pathological filter can't freeze a view.

Text search goes through FTS5: the user's words are each quoted (so `"`, `*`, `AND`, `:` are just
text) and matched as prefixes, all of them required. The tokenizer is `unicode61`, so words match
whole or by prefix (`conn` finds `connection`), not in the middle (`Error` does not find `KeyError`).

`--clear` resets row ids, so a follower whose last id is beyond the newest row starts again from 0.
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from studio.runtime.invocation import InvocationRecord
from studio.store.db import StoreError, connect, describe_error, migrate
from studio.store.durability import Identity, abandon
from studio.store.filters import selection
from studio.store.rows import (  # noqa: F401 - re-exported: callers import the row types from here
    DETAIL_COLUMNS,
    LEVEL_ALIASES,
    LEVELS,
    LOG_COLUMNS,
    SAVED_COLUMNS,
    SUMMARY_COLUMNS,
    AmbiguousRequestId,
    Body,
    Filter,
    FrameRow,
    InvocationDetail,
    InvocationSummary,
    LogLine,
    LogRow,
    QueryTimeout,
    SavedRequest,
    detail_from_row,
    fts_query,
    levels_from,
    parse_level,
    parse_status,
    saved_from_row,
    summary_from_row,
)


class Reader:
    """Read access to one store file. Thread-safe: each query borrows a connection from a small
    pool (never the writer's), so the TUI's thread workers and the gateway's request threads can
    share one Reader.

    The file must exist (`StoreError` otherwise); an older schema is migrated on first open, a
    newer one raises `NewerSchemaError`.
    """

    POOL_SIZE = 4

    def __init__(self, db_path: str | Path, *, time_limit_ms: int | None = None) -> None:
        self.db_path = Path(db_path)
        if not self.db_path.exists():
            raise StoreError(f"no recordings yet: {self.db_path} does not exist")
        self.time_limit_ms = time_limit_ms
        self._pool: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._count_cache: dict[tuple, tuple[tuple, int]] = {}
        self._identity = Identity.of(self.db_path)
        self._opened_on: dict[int, Identity | None] = {}
        """id(connection) -> the file identity it was opened on."""
        self._put(self._open())  # open (and migrate) now, so errors surface at construction

    def _open(self) -> sqlite3.Connection:
        try:
            conn = connect(self.db_path)
            migrate(conn, self.db_path)  # an older schema is brought forward once, under the write lock
            conn.execute("PRAGMA query_only = ON")  # from here on this connection only reads
        except sqlite3.Error as exc:
            raise StoreError(describe_error(exc, self.db_path)) from exc
        with self._lock:
            self._opened_on[id(conn)] = self._identity
        return conn

    def _put(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            current = self._opened_on.get(id(conn)) == self._identity
            if current and not self._closed and len(self._pool) < self.POOL_SIZE and not conn.in_transaction:
                self._pool.append(conn)
                return
            self._opened_on.pop(id(conn), None)
        if current:
            conn.close()
        else:
            abandon(conn)  # closing would checkpoint into a file that is no longer the store

    def _follow_the_file(self) -> None:
        """The writer starts a fresh store when the file is deleted or replaced: read that one."""
        now = Identity.of(self.db_path)
        if now == self._identity:
            return
        with self._lock:
            self._identity = now
            stale, self._pool = self._pool, []
            for conn in stale:
                self._opened_on.pop(id(conn), None)
            self._count_cache.clear()
        for conn in stale:
            abandon(conn)
        if now is None:
            raise StoreError(f"no recordings: {self.db_path} was deleted")

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        self._follow_the_file()
        with self._lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            self._put(conn)

    def close(self) -> None:
        now = Identity.of(self.db_path)
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
            opened_on = [self._opened_on.pop(id(conn), None) for conn in pool]
        for conn, identity in zip(pool, opened_on, strict=True):
            if identity == now:
                conn.close()
            else:
                abandon(conn)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _limited(self) -> Iterator[sqlite3.Connection]:
        with self._borrow() as conn:
            if self.time_limit_ms is None:
                yield conn
                return
            deadline = time.monotonic() + self.time_limit_ms / 1000
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            try:
                yield conn
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise QueryTimeout(f"the query took longer than {self.time_limit_ms} ms") from exc
                raise
            finally:
                conn.set_progress_handler(None, 0)

    def _all(self, sql: str, params: Sequence[object]) -> list[tuple]:
        # Command-line text can hold lone surrogates (undecodable bytes); SQLite wants valid UTF-8.
        params = [_valid_utf8(value) if isinstance(value, str) else value for value in params]
        with self._limited() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise
                raise StoreError(describe_error(exc, self.db_path)) from exc

    # --- logs ----------------------------------------------------------------------------------

    def logs(
        self, filter: Filter = Filter(), *, before_id: int | None = None, limit: int = 200
    ) -> list[LogRow]:
        """A page of log lines, newest first, all with `id < before_id` (None: from the newest)."""
        return self._log_page(filter, before_id, None, limit, descending=True)

    def logs_after(self, after_id: int, filter: Filter = Filter(), *, limit: int = 1000) -> list[LogRow]:
        """Lines newer than `after_id`, oldest first: what a follower prints next."""
        return self._log_page(filter, None, after_id, limit, descending=False)

    def _log_page(
        self, filter: Filter, before: int | None, after: int | None, limit: int, *, descending: bool
    ) -> list[LogRow]:
        # One ordered index range per level, merged: an IN list would sort every matching row.
        rows: list[LogRow] = []
        order = "DESC" if descending else "ASC"
        for level in levels_from(filter.level) or [None]:
            sel = selection("logs", filter, levels=[level] if level else None).keyset(before=before, after=after)
            sql = f"SELECT {LOG_COLUMNS} FROM {sel.source} WHERE {sel.where()} ORDER BY {sel.key} {order} LIMIT ?"
            rows += [LogRow(*row) for row in self._all(sql, [*sel.params, limit])]
        rows.sort(key=lambda row: row.id, reverse=descending)
        return rows[:limit]

    # --- the studio's virtual log view ---------------------------------------------------------

    def log_ids(self, filter: Filter = Filter(), *, after_id: int = 0) -> array:
        """Ascending ids of the lines matching `filter` with `id > after_id`, as an `array('q')`.

        The studio's log view maps a row index to an id through this array (8 bytes a line, the way
        Toolong keeps line offsets) and reads rows with `log_lines`. Each level is one ordered index
        range, merged; text goes through FTS5; the invocations table is joined only when a filter
        needs it. No OFFSET anywhere.
        """
        levels = levels_from(filter.level) or [None]
        parts = [self._log_ids_one(filter, level, after=after_id) for level in levels]
        ids = array("q")
        ids.extend(parts[0] if len(parts) == 1 else heapq.merge(*parts))
        return ids

    def log_ids_before(self, filter: Filter = Filter(), *, before_id: int | None = None, limit: int = 200) -> array:
        """Descending ids of the newest `limit` lines matching `filter` with `id < before_id` (None: from
        the newest): one keyset page, so the log view paints its newest lines before it knows the rest,
        then reads older ids page by page."""
        levels = levels_from(filter.level) or [None]
        parts = [self._log_ids_one(filter, level, before=before_id, limit=limit) for level in levels]
        ids = array("q")
        if len(parts) == 1:
            ids.extend(parts[0])
        else:
            merged = heapq.merge(*parts, reverse=True)
            ids.extend(next(merged) for _ in range(min(limit, sum(len(part) for part in parts))))
        return ids

    def _log_ids_one(self, filter: Filter, level: str | None, *, after: int | None = None,
                     before: int | None = None, limit: int | None = None) -> array:
        sel = selection("logs", filter, levels=[level] if level else None, join_invocations=False)
        sel = sel.keyset(after=after, before=before)
        order = "ASC" if limit is None else "DESC"
        sql = f"SELECT {sel.key} FROM {sel.source} WHERE {sel.where()} ORDER BY {sel.key} {order}"
        params = [_valid_utf8(value) if isinstance(value, str) else value for value in sel.params]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        ids = array("q")
        with self._limited() as conn:
            try:
                ids.extend(row[0] for row in conn.execute(sql, params))
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise
                raise StoreError(describe_error(exc, self.db_path)) from exc
        return ids

    def log_lines(self, ids: Sequence[int]) -> dict[int, LogLine]:
        """These lines (those still stored) by id, each with its invocation's method, path and
        status: one primary-key lookup per id, for a page of the log view."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = (
            f"SELECT {LOG_COLUMNS}, i.method, i.path, i.status FROM logs l "
            f"JOIN invocations i ON i.id = l.invocation_id WHERE l.id IN ({marks})"
        )
        return {row[0]: LogLine(*row) for row in self._all(sql, list(ids))}

    # --- invocations ---------------------------------------------------------------------------

    def invocations(
        self, filter: Filter = Filter(), *, before_id: int | None = None, limit: int = 50
    ) -> list[InvocationSummary]:
        """A page of the history, newest first, all with `id < before_id`."""
        sel = selection("invocations", filter).keyset(before=before_id)
        sql = f"SELECT {SUMMARY_COLUMNS} FROM {sel.source} WHERE {sel.where()} ORDER BY i.id DESC LIMIT ?"
        return [summary_from_row(row) for row in self._all(sql, [*sel.params, limit])]

    def invocations_after(
        self, after_id: int, filter: Filter = Filter(), *, limit: int = 1000
    ) -> list[InvocationSummary]:
        """Invocations newer than `after_id`, oldest first, in any state: a follower holds `running`
        ones back and asks again with `invocations_by_id`."""
        sel = selection("invocations", filter).keyset(after=after_id)
        sql = f"SELECT {SUMMARY_COLUMNS} FROM {sel.source} WHERE {sel.where()} ORDER BY i.id LIMIT ?"
        return [summary_from_row(row) for row in self._all(sql, [*sel.params, limit])]

    def invocations_by_id(self, ids: Sequence[int]) -> list[InvocationSummary]:
        """These invocations (those still stored), oldest first."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        sql = f"SELECT {SUMMARY_COLUMNS} FROM invocations i WHERE i.id IN ({marks}) ORDER BY i.id"
        return [summary_from_row(row) for row in self._all(sql, list(ids))]

    def function_ids(self) -> list[str]:
        """Every function id with a recorded invocation, sorted (an index walk, not a table scan)."""
        rows = self._all(
            "SELECT DISTINCT function_id FROM invocations WHERE function_id IS NOT NULL ORDER BY function_id",
            [],
        )
        return [row[0] for row in rows]

    def resolve_function_id(self, name: str) -> str | None:
        """`name` as recorded: an exact id, else the one id ending in `/name` (so `api/users` finds
        `cloud-functions/api/users`); None when nothing matches; ValueError when several do."""
        known = self.function_ids()
        if name in known:
            return name
        tail = "/" + name.strip("/")
        matches = [function_id for function_id in known if function_id.endswith(tail)]
        if len(matches) > 1:
            raise ValueError(f"function {name!r} matches {', '.join(matches)}; give the full id")
        return matches[0] if matches else None

    def resolve_request_id(self, prefix: str) -> str | None:
        """The one request id starting with `prefix`; None if none; `AmbiguousRequestId` if several."""
        if not prefix:
            return None
        rows = self._all(
            "SELECT request_id FROM invocations WHERE request_id >= ? AND request_id < ? "
            "ORDER BY request_id LIMIT 5",
            [prefix, prefix + "\U0010ffff"],
        )
        ids = [row[0] for row in rows]
        if prefix in ids:
            return prefix
        if len(ids) > 1:
            raise AmbiguousRequestId(prefix, ids)
        return ids[0] if ids else None

    def invocation(self, request_id: str, *, prefix: bool = True) -> InvocationDetail | None:
        """One invocation whole, by request id (or a unique prefix of one), or None."""
        resolved = self.resolve_request_id(request_id) if prefix else request_id
        if resolved is None:
            return None
        rows = self._all(
            f"SELECT {SUMMARY_COLUMNS}, {DETAIL_COLUMNS} FROM invocations i WHERE i.request_id = ?", [resolved]
        )
        if not rows:
            return None
        invocation_id = rows[0][0]
        frames = self._all(
            "SELECT idx, file, line, function, source, locals, is_user_code FROM frames "
            "WHERE invocation_id = ? ORDER BY idx",
            [invocation_id],
        )
        logs = self._all(
            f"SELECT {LOG_COLUMNS} FROM logs l JOIN invocations i ON i.id = l.invocation_id "
            "WHERE l.invocation_id = ? ORDER BY l.seq, l.id",
            [invocation_id],
        )
        return detail_from_row(rows[0], frames, logs)

    def invocation_record(self, request_id: str, *, prefix: bool = True) -> InvocationRecord | None:
        """One invocation as the runtime's shared view (`stored=True`): what the control API, `show
        --json` and the studio's response and trace views read."""
        detail = self.invocation(request_id, prefix=prefix)
        return detail.to_record() if detail is not None else None

    # --- counts --------------------------------------------------------------------------------

    def totals(self) -> dict[str, int]:
        """Rows stored: {"invocations": n, "logs": m}, from the writer's counters (no scan)."""
        return {name: value for name, value in self._all("SELECT name, value FROM counters", [])}

    def last_ids(self) -> dict[str, int]:
        """The newest row ids: where a follower starts."""
        inv = self._all("SELECT max(id) FROM invocations", [])[0][0] or 0
        logs = self._all("SELECT max(id) FROM logs", [])[0][0] or 0
        return {"invocations": inv, "logs": logs}

    def count_logs(self, filter: Filter = Filter()) -> int:
        """How many lines match; unfiltered from the counters, else counted once per new data."""
        if filter.is_empty():
            return self.totals().get("logs", 0)
        return self._cached_count(("logs", filter), self._count_logs)

    def count_invocations(self, filter: Filter = Filter()) -> int:
        if filter.is_empty():
            return self.totals().get("invocations", 0)
        return self._cached_count(("invocations", filter), self._count_invocations)

    def _cached_count(self, key: tuple, compute) -> int:
        # The cache is valid while no row was added or removed: the counters say so in one read.
        stamp = tuple(sorted(self.totals().items())) + tuple(sorted(self.last_ids().items()))
        cached = self._count_cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        value = compute(key[1])
        if len(self._count_cache) > 256:
            self._count_cache.clear()
        self._count_cache[key] = (stamp, value)
        return value

    def _count_logs(self, filter: Filter) -> int:
        sel = selection("logs", filter, levels=levels_from(filter.level))
        return self._all(f"SELECT count(*) FROM {sel.source} WHERE {sel.where()}", sel.params)[0][0]

    def _count_invocations(self, filter: Filter) -> int:
        sel = selection("invocations", filter)
        return self._all(f"SELECT count(*) FROM {sel.source} WHERE {sel.where()}", sel.params)[0][0]

    # --- saved requests ------------------------------------------------------------------------

    def saved_requests(self, function_id: str | None = None) -> list[SavedRequest]:
        """The saved requests of one function (or all), by name."""
        where, params = ("WHERE function_id = ?", [function_id]) if function_id is not None else ("", [])
        rows = self._all(
            f"SELECT {SAVED_COLUMNS} FROM saved_requests {where} ORDER BY function_id, name",
            params,
        )
        return [saved_from_row(row) for row in rows]

    def saved_request(self, saved_id: int) -> SavedRequest | None:
        rows = self._all(
            f"SELECT {SAVED_COLUMNS} FROM saved_requests WHERE id = ?",
            [saved_id],
        )
        return saved_from_row(rows[0]) if rows else None


def _valid_utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text

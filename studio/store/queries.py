"""The store's read side: pages of history and logs, one invocation whole, tails, counts, saved requests.

    reader = Reader(db_path(project_root))
    page = reader.logs(Filter(function_id="api/users", level="error"), limit=200)
    older = reader.logs(same_filter, before_id=page[-1].id)      # keyset: never OFFSET
    newer = reader.logs_after(last_seen_id, same_filter)         # a follower's tail
    detail = reader.invocation("3f2a")                           # a unique prefix is enough

Pages are newest first (`WHERE id < ? ORDER BY id DESC LIMIT n`); tails are oldest first. Every
result is a frozen dataclass (below). Each thread gets its own connection, so the TUI's workers and
a CLI follower never share one with the writer. `time_limit_ms` aborts a query that runs longer
with `QueryTimeout` (Datasette's habit), so a pathological filter can't freeze a view.

Text search goes through FTS5: the user's words are each quoted (so `"`, `*`, `AND`, `:` are just
text) and matched as prefixes, all of them required. The tokenizer is `unicode61`, so words match
whole or by prefix (`conn` finds `connection`), not in the middle (`Error` does not find `KeyError`).

`--clear` resets row ids, so a follower whose last id is beyond the newest row starts again from 0.
"""

from __future__ import annotations

import base64
import heapq
import json
import re
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from studio.store.db import StoreError, connect, describe_error, migrate

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR"}
_STATUS_CLASS = re.compile(r"^([1-5])xx$", re.IGNORECASE)


class QueryTimeout(StoreError):
    """A read took longer than the reader's `time_limit_ms`."""


class AmbiguousRequestId(StoreError):
    """A request id prefix matched more than one invocation."""

    def __init__(self, prefix: str, matches: Sequence[str]) -> None:
        super().__init__(
            f"request id prefix {prefix!r} matches more than one invocation: {', '.join(matches)}"
            + (", ..." if len(matches) >= 5 else "")
            + "; give more characters"
        )
        self.matches = tuple(matches)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """Which rows a page or tail shows. Every field is optional; they combine with AND."""

    function_id: str | None = None
    status: str | None = None
    """`2xx` / `4xx` / `5xx` (a status class) or an exact code such as `404`."""
    level: str | None = None
    """Minimum level: `warning` shows WARNING, ERROR and CRITICAL lines (lines with no level are out)."""
    since: float | None = None
    """Unix time, inclusive (log line time, or invocation start)."""
    until: float | None = None
    """Unix time, exclusive."""
    has_error: bool | None = None
    """Invocations that raised, hit a fault or answered 5xx (or, False, those that did not)."""
    text: str | None = None
    """Words searched with FTS5 in log text (for invocations: any of its lines, its path or error)."""
    request_id: str | None = None
    """Only the lines of this invocation."""

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class LogRow:
    id: int
    invocation_id: int
    request_id: str
    function_id: str | None
    seq: int
    time: float
    stream: str
    """stdout | stderr | logging | platform"""
    level: str | None
    text: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LogLine(LogRow):
    """A log row with its invocation's request line and status: one line of the studio's log view."""

    method: str | None
    path: str | None
    status: int | None


@dataclass(frozen=True)
class InvocationSummary:
    """One row of the history."""

    id: int
    request_id: str
    state: str
    """running | finished | interrupted"""
    function_id: str | None
    platform: str | None
    kind: str | None
    trigger: str
    method: str
    path: str
    status: int | None
    started_at: float
    duration_ms: float | None
    error_type: str | None
    error_message: str | None
    fault: str | None
    has_error: bool
    log_count: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class FrameRow:
    idx: int
    file: str
    line: int
    function: str
    source: str
    locals: dict[str, str]
    is_user_code: bool


@dataclass(frozen=True)
class Body:
    """A stored body: the bytes kept (capped), the original size and whether it was cut."""

    data: bytes
    size: int
    truncated: bool

    def text(self) -> str | None:
        """The body as UTF-8 text, or None when it is binary."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def to_json(self) -> dict[str, object]:
        text = self.text()
        if text is not None:
            return {"text": text, "size": self.size, "truncated": self.truncated}
        return {
            "base64": base64.b64encode(self.data).decode("ascii"),
            "size": self.size,
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class InvocationDetail(InvocationSummary):
    """One invocation in full: request, response, return value, error and frames, warnings, logs."""

    query_string: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    """Secrets already redacted by the writer."""
    request_body: Body = Body(b"", 0, False)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: Body = Body(b"", 0, False)
    return_value: str | None = None
    error_traceback: str | None = None
    frames: tuple[FrameRow, ...] = ()
    warnings: tuple[dict[str, str], ...] = ()
    """Parity warnings: {id, message, fix}."""
    outbox: tuple[dict, ...] = ()
    init_ms: float | None = None
    peak_memory_mb: float | None = None
    code_version: str | None = None
    instance_id: str | None = None
    logs_truncated: bool = False
    logs: tuple[LogRow, ...] = ()

    def to_json(self) -> dict[str, object]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["request_body"] = self.request_body.to_json()
        data["response_body"] = self.response_body.to_json()
        data["request_headers"] = [list(pair) for pair in self.request_headers]
        data["response_headers"] = [list(pair) for pair in self.response_headers]
        data["frames"] = [asdict(frame) for frame in self.frames]
        data["logs"] = [line.to_json() for line in self.logs]
        data["warnings"] = list(self.warnings)
        data["outbox"] = list(self.outbox)
        return data


@dataclass(frozen=True)
class SavedRequest:
    """A named request in a function's collection (the invoke panel's)."""

    id: int
    function_id: str
    name: str
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    event: str | None
    """JSON text of the event for non-HTTP functions."""
    created_at: float
    updated_at: float


# --- the reader --------------------------------------------------------------------------------

_LOG_COLUMNS = "l.id, l.invocation_id, i.request_id, l.function_id, l.seq, l.time, l.stream, l.level, l.text"
_SUMMARY_COLUMNS = (
    "i.id, i.request_id, i.state, i.function_id, i.platform, i.kind, i.trigger, i.method, i.path, i.status, "
    "i.started_at, i.duration_ms, i.error_type, i.error_message, i.fault, i.has_error, i.log_count"
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
        self._put(self._open())  # open (and migrate) now, so errors surface at construction

    def _open(self) -> sqlite3.Connection:
        try:
            conn = connect(self.db_path)
            migrate(conn, self.db_path)
        except sqlite3.Error as exc:
            raise StoreError(describe_error(exc, self.db_path)) from exc
        return conn

    def _put(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._pool) < self.POOL_SIZE and not conn.in_transaction:
                self._pool.append(conn)
                return
        conn.close()

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            self._put(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()

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
        levels = _levels_from(filter.level)
        if levels is not None and len(levels) > 1:
            # One ordered index range per level, merged: an IN list would sort every matching row.
            rows: list[LogRow] = []
            for level in levels:
                rows += self._log_page_one(filter, level, before, after, limit, descending)
            rows.sort(key=lambda row: row.id, reverse=descending)
            return rows[:limit]
        return self._log_page_one(filter, levels[0] if levels else None, before, after, limit, descending)

    def _log_page_one(
        self,
        filter: Filter,
        level: str | None,
        before: int | None,
        after: int | None,
        limit: int,
        descending: bool,
    ) -> list[LogRow]:
        where, params = _log_conditions(filter, level)
        key = "f.rowid" if filter.text else "l.id"
        if before is not None:
            where.append(f"{key} < ?")
            params.append(before)
        if after is not None:
            where.append(f"{key} > ?")
            params.append(after)
        if filter.text:
            source = "logs_fts f JOIN logs l ON l.id = f.rowid JOIN invocations i ON i.id = l.invocation_id"
            where.insert(0, "logs_fts MATCH ?")
            params.insert(0, fts_query(filter.text))
        else:
            source = "logs l JOIN invocations i ON i.id = l.invocation_id"
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {_LOG_COLUMNS} FROM {source} WHERE {' AND '.join(where) or '1'} "
            f"ORDER BY {key} {order} LIMIT ?"
        )
        return [LogRow(*row) for row in self._all(sql, [*params, limit])]

    # --- the studio's virtual log view ---------------------------------------------------------

    def log_ids(self, filter: Filter = Filter(), *, after_id: int = 0) -> array:
        """Ascending ids of the lines matching `filter` with `id > after_id`, as an `array('q')`.

        The studio's log view maps a row index to an id through this array (8 bytes a line, the way
        Toolong keeps line offsets) and reads rows with `log_lines`. Each level is one ordered index
        range, merged; text goes through FTS5; the invocations table is joined only when a filter
        needs it. No OFFSET anywhere.
        """
        levels = _levels_from(filter.level) or [None]
        parts = [self._log_ids_one(filter, level, after_id) for level in levels]
        ids = array("q")
        ids.extend(parts[0] if len(parts) == 1 else heapq.merge(*parts))
        return ids

    def _log_ids_one(self, filter: Filter, level: str | None, after_id: int) -> array:
        where, params = _log_conditions(filter, level)
        key = "f.rowid" if filter.text else "l.id"
        where.append(f"{key} > ?")
        params.append(after_id)
        needs_invocation = filter.status is not None or filter.has_error is not None
        source = "logs_fts f JOIN logs l ON l.id = f.rowid" if filter.text else "logs l"
        if needs_invocation:
            source += " JOIN invocations i ON i.id = l.invocation_id"
        if filter.text:
            where.insert(0, "logs_fts MATCH ?")
            params.insert(0, fts_query(filter.text))
        sql = f"SELECT {key} FROM {source} WHERE {' AND '.join(where)} ORDER BY {key}"
        params = [_valid_utf8(value) if isinstance(value, str) else value for value in params]
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
            f"SELECT {_LOG_COLUMNS}, i.method, i.path, i.status FROM logs l "
            f"JOIN invocations i ON i.id = l.invocation_id WHERE l.id IN ({marks})"
        )
        return {row[0]: LogLine(*row) for row in self._all(sql, list(ids))}

    # --- invocations ---------------------------------------------------------------------------

    def invocations(
        self, filter: Filter = Filter(), *, before_id: int | None = None, limit: int = 50
    ) -> list[InvocationSummary]:
        """A page of the history, newest first, all with `id < before_id`."""
        where, params = _invocation_conditions(filter)
        if before_id is not None:
            where.append("i.id < ?")
            params.append(before_id)
        sql = (
            f"SELECT {_SUMMARY_COLUMNS} FROM invocations i WHERE {' AND '.join(where) or '1'} "
            "ORDER BY i.id DESC LIMIT ?"
        )
        return [_summary(row) for row in self._all(sql, [*params, limit])]

    def invocations_after(
        self, after_id: int, filter: Filter = Filter(), *, limit: int = 1000
    ) -> list[InvocationSummary]:
        """Invocations newer than `after_id`, oldest first, in any state: a follower holds `running`
        ones back and asks again with `invocations_by_id`."""
        where, params = _invocation_conditions(filter)
        where.append("i.id > ?")
        params.append(after_id)
        sql = (
            f"SELECT {_SUMMARY_COLUMNS} FROM invocations i WHERE {' AND '.join(where)} ORDER BY i.id LIMIT ?"
        )
        return [_summary(row) for row in self._all(sql, [*params, limit])]

    def invocations_by_id(self, ids: Sequence[int]) -> list[InvocationSummary]:
        """These invocations (those still stored), oldest first."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM invocations i WHERE i.id IN ({marks}) ORDER BY i.id"
        return [_summary(row) for row in self._all(sql, list(ids))]

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
            f"SELECT {_SUMMARY_COLUMNS}, i.query_string, i.params, i.request_headers, i.request_body, "
            "i.request_body_size, i.request_body_truncated, i.response_headers, i.response_body, "
            "i.response_body_size, i.response_body_truncated, i.return_value, i.error_traceback, "
            "i.warnings, i.outbox, i.init_ms, i.peak_memory_mb, i.code_version, i.instance_id, "
            "i.logs_truncated FROM invocations i WHERE i.request_id = ?",
            [resolved],
        )
        if not rows:
            return None
        row = rows[0]
        summary = _summary(row[:17])
        (query_string, params, req_headers, req_body, req_size, req_cut, resp_headers, resp_body) = row[17:25]
        (resp_size, resp_cut, return_value, traceback, warnings, outbox, init_ms, memory) = row[25:33]
        code_version, instance_id, logs_truncated = row[33:36]
        frames = tuple(
            FrameRow(idx, file, line, function, source, _json(local_values, {}), bool(user))
            for idx, file, line, function, source, local_values, user in self._all(
                "SELECT idx, file, line, function, source, locals, is_user_code FROM frames "
                "WHERE invocation_id = ? ORDER BY idx",
                [summary.id],
            )
        )
        logs = tuple(
            LogRow(*line)
            for line in self._all(
                f"SELECT {_LOG_COLUMNS} FROM logs l JOIN invocations i ON i.id = l.invocation_id "
                "WHERE l.invocation_id = ? ORDER BY l.seq, l.id",
                [summary.id],
            )
        )
        return InvocationDetail(
            **{f.name: getattr(summary, f.name) for f in fields(InvocationSummary)},
            query_string=query_string,
            params=_json(params, {}),
            request_headers=[tuple(pair) for pair in _json(req_headers, [])],
            request_body=Body(req_body or b"", req_size or 0, bool(req_cut)),
            response_headers=[tuple(pair) for pair in _json(resp_headers, [])],
            response_body=Body(resp_body or b"", resp_size or 0, bool(resp_cut)),
            return_value=return_value,
            error_traceback=traceback,
            frames=frames,
            warnings=tuple(_json(warnings, [])),
            outbox=tuple(_json(outbox, [])),
            init_ms=init_ms,
            peak_memory_mb=memory,
            code_version=code_version,
            instance_id=instance_id,
            logs_truncated=bool(logs_truncated),
            logs=logs,
        )

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
        levels = _levels_from(filter.level)
        where, params = _log_conditions(filter, None)
        if levels:
            where.append(f"l.level IN ({','.join('?' * len(levels))})")
            params += levels
        if filter.text:
            source = "logs_fts f JOIN logs l ON l.id = f.rowid JOIN invocations i ON i.id = l.invocation_id"
            where.insert(0, "logs_fts MATCH ?")
            params.insert(0, fts_query(filter.text))
        else:
            source = "logs l JOIN invocations i ON i.id = l.invocation_id"
        return self._all(f"SELECT count(*) FROM {source} WHERE {' AND '.join(where) or '1'}", params)[0][0]

    def _count_invocations(self, filter: Filter) -> int:
        where, params = _invocation_conditions(filter)
        return self._all(f"SELECT count(*) FROM invocations i WHERE {' AND '.join(where) or '1'}", params)[0][
            0
        ]

    # --- saved requests ------------------------------------------------------------------------

    def saved_requests(self, function_id: str | None = None) -> list[SavedRequest]:
        """The saved requests of one function (or all), by name."""
        where, params = ("WHERE function_id = ?", [function_id]) if function_id is not None else ("", [])
        rows = self._all(
            "SELECT id, function_id, name, method, path, headers, body, event, created_at, updated_at "
            f"FROM saved_requests {where} ORDER BY function_id, name",
            params,
        )
        return [_saved(row) for row in rows]

    def saved_request(self, saved_id: int) -> SavedRequest | None:
        rows = self._all(
            "SELECT id, function_id, name, method, path, headers, body, event, created_at, updated_at "
            "FROM saved_requests WHERE id = ?",
            [saved_id],
        )
        return _saved(rows[0]) if rows else None

    def save_request(
        self,
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
        self._write(
            "INSERT INTO saved_requests (function_id, name, method, path, headers, body, event, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (function_id, name) DO UPDATE SET "
            "method = excluded.method, path = excluded.path, headers = excluded.headers, body = excluded.body, "
            "event = excluded.event, updated_at = excluded.updated_at",
            [function_id, name, method, path, json.dumps([list(h) for h in headers]), body, event, now, now],
        )
        rows = self._all(
            "SELECT id FROM saved_requests WHERE function_id = ? AND name = ?", [function_id, name]
        )
        saved = self.saved_request(rows[0][0])
        assert saved is not None
        return saved

    def delete_saved_request(self, saved_id: int) -> bool:
        return self._write("DELETE FROM saved_requests WHERE id = ?", [saved_id]) > 0

    # --- clearing ------------------------------------------------------------------------------

    def clear(self) -> dict[str, int]:
        """Delete every invocation, log line and frame (saved requests stay). Returns what was removed.

        The FTS index is emptied in one step rather than row by row through its delete trigger,
        which takes minutes at a million lines.
        """
        with self._borrow() as conn:
            return self._clear(conn)

    def _clear(self, conn: sqlite3.Connection) -> dict[str, int]:
        try:
            conn.execute("BEGIN IMMEDIATE")
            removed = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            trigger = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'logs_ad'"
            )
            trigger_sql = trigger.fetchone()
            conn.execute("DROP TRIGGER IF EXISTS logs_ad")
            conn.execute("DELETE FROM logs")
            conn.execute("INSERT INTO logs_fts (logs_fts) VALUES ('delete-all')")
            if trigger_sql:
                conn.execute(trigger_sql[0])
            conn.execute("DELETE FROM frames")
            conn.execute("DELETE FROM invocations")
            conn.execute("UPDATE counters SET value = 0")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(describe_error(exc, self.db_path)) from exc
        self._count_cache.clear()
        return removed

    def _write(self, sql: str, params: Sequence[object]) -> int:
        try:
            with self._borrow() as conn:
                return conn.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise StoreError(describe_error(exc, self.db_path)) from exc


# --- helpers -----------------------------------------------------------------------------------


def fts_query(text: str) -> str:
    """User words -> an FTS5 query: each word quoted (its `"` doubled) and matched as a prefix."""
    # NUL ends a C string inside SQLite (an "unterminated string"); control characters are never words.
    text = "".join(" " if ord(char) < 32 or char == "\x7f" else char for char in text)
    words = [word for word in text.split() if word]
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words) or '""'


def parse_level(level: str) -> list[str]:
    """`warning` -> ["WARNING", "ERROR", "CRITICAL"] (that level and above); ValueError if unknown."""
    levels = _levels_from(level)
    assert levels is not None
    return levels


def _levels_from(level: str | None) -> list[str] | None:
    if level is None:
        return None
    name = level.strip().upper()
    name = LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of: " + ", ".join(lv.lower() for lv in LEVELS))
    return list(LEVELS[LEVELS.index(name) :])


def parse_status(status: str) -> tuple[str, int]:
    """`5xx` -> ("status_class", 5); `404` -> ("status", 404); anything else -> ValueError."""
    text = status.strip()
    match = _STATUS_CLASS.match(text)
    if match:
        return "status_class", int(match.group(1))
    if text.isdigit() and 100 <= int(text) <= 599:
        return "status", int(text)
    raise ValueError(f"unknown status {status!r}; use 2xx, 4xx, 5xx or a code such as 404")


def _add_outcome_conditions(filter: Filter, where: list[str], params: list[object]) -> None:
    """Status and has-error filters, on the invocation aliased `i` (log queries join it)."""
    if filter.status is not None:
        column, value = parse_status(filter.status)
        where.append(f"i.{column} = ?")
        params.append(value)
    if filter.has_error is not None:
        where.append("i.has_error = ?")
        params.append(int(filter.has_error))


def _invocation_conditions(filter: Filter) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if filter.function_id is not None:
        where.append("i.function_id = ?")
        params.append(filter.function_id)
    _add_outcome_conditions(filter, where, params)
    if filter.since is not None:
        where.append("i.started_at >= ?")
        params.append(filter.since)
    if filter.until is not None:
        where.append("i.started_at < ?")
        params.append(filter.until)
    if filter.request_id is not None:
        where.append("i.request_id = ?")
        params.append(filter.request_id)
    levels = _levels_from(filter.level)
    if levels:
        marks = ",".join("?" * len(levels))
        where.append(f"EXISTS (SELECT 1 FROM logs l WHERE l.invocation_id = i.id AND l.level IN ({marks}))")
        params += levels
    if filter.text:
        where.append(
            "(i.id IN (SELECT l.invocation_id FROM logs_fts f JOIN logs l ON l.id = f.rowid "
            "WHERE logs_fts MATCH ?) OR instr(lower(i.path), lower(?)) OR instr(lower(i.error_message), lower(?)) "
            "OR instr(lower(i.error_type), lower(?)))"
        )
        params += [fts_query(filter.text), filter.text, filter.text, filter.text]
    return where, params


def _log_conditions(filter: Filter, level: str | None) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if filter.function_id is not None:
        where.append("l.function_id = ?")
        params.append(filter.function_id)
    if level is not None:
        where.append("l.level = ?")
        params.append(level)
    if filter.since is not None:
        where.append("l.time >= ?")
        params.append(filter.since)
    if filter.until is not None:
        where.append("l.time < ?")
        params.append(filter.until)
    if filter.request_id is not None:
        where.append("l.invocation_id = (SELECT id FROM invocations WHERE request_id = ?)")
        params.append(filter.request_id)
    _add_outcome_conditions(filter, where, params)
    return where, params


def _valid_utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _summary(row: Sequence[object]) -> InvocationSummary:
    values = list(row)
    values[15] = bool(values[15])
    values[16] = values[16] or 0
    return InvocationSummary(*values)  # type: ignore[arg-type]


def _saved(row: Sequence[object]) -> SavedRequest:
    values = list(row)
    values[5] = [tuple(pair) for pair in _json(values[5], [])]
    values[6] = values[6] or b""
    return SavedRequest(*values)  # type: ignore[arg-type]


def _json(text: object, default):
    if not text:
        return default
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default

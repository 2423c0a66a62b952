"""The log view's data: which log ids match the filters, and rows for a window of them.

Ids are kept as an `array('q')` (8 bytes a row) built in a worker, the way Toolong keeps line
offsets; rows are read by id through keyset lookups (`id IN (…)` on the primary key), never OFFSET.
Each thread opens its own read-only connection.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogFilters:
    function_id: str | None = None
    level: str | None = None
    """Minimum logging level; lines without a level (print) pass only when no level is set."""
    status_class: int | None = None
    """2, 3, 4 or 5: the invocation's status // 100."""
    text: str = ""
    """FTS5 query over the text."""
    request_id: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.function_id or self.level or self.status_class or self.text.strip() or self.request_id)


@dataclass(frozen=True)
class LogRow:
    id: int
    time: float
    stream: str
    level: str | None
    text: str
    function_id: str | None
    request_id: str | None
    method: str | None
    path: str | None
    status: int | None


def fts_query(text: str) -> str:
    """User words as an FTS5 query: every word must appear, as a prefix; quotes keep syntax out."""
    words = [w.replace('"', '""') for w in text.split()]
    return " ".join(f'"{w}"*' for w in words)


class LogSource:
    """Read-only access to the store's `logs` table for one thread at a time (connections per thread)."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection | None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self.db_path.exists():
                return None
            conn = sqlite3.connect(f"{self.db_path.resolve().as_uri()}?mode=ro", uri=True,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 2000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def matching_ids(self, filters: LogFilters, after_id: int = 0) -> array:
        """Ascending ids of the lines that pass `filters`, greater than `after_id`."""
        ids = array("q")
        conn = self._conn()
        if conn is None:
            return ids
        where = ["l.id > ?"]
        args: list[object] = [after_id]
        join = ""
        if filters.function_id:
            where.append("l.function_id = ?")
            args.append(filters.function_id)
        if filters.level:
            wanted = LEVELS[LEVELS.index(filters.level):] if filters.level in LEVELS else (filters.level,)
            where.append(f"l.level IN ({','.join('?' * len(wanted))})")
            args.extend(wanted)
        if filters.status_class or filters.request_id:
            join = " JOIN invocations i ON i.id = l.invocation_id"
            if filters.status_class:
                where.append("i.status_class = ?")
                args.append(filters.status_class)
            if filters.request_id:
                where.append("i.request_id = ?")
                args.append(filters.request_id)
        if filters.text.strip():
            where.append("l.id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)")
            args.append(fts_query(filters.text))
        sql = f"SELECT l.id FROM logs l{join} WHERE {' AND '.join(where)} ORDER BY l.id"
        try:
            for (row_id,) in conn.execute(sql, args):
                ids.append(row_id)
        except sqlite3.Error:
            return array("q")
        return ids

    def rows(self, ids: list[int]) -> dict[int, LogRow]:
        conn = self._conn()
        if conn is None or not ids:
            return {}
        sql = (
            "SELECT l.id, l.time, l.stream, l.level, l.text, l.function_id, i.request_id, i.method, i.path,"
            " i.status FROM logs l LEFT JOIN invocations i ON i.id = l.invocation_id"
            f" WHERE l.id IN ({','.join('?' * len(ids))})"
        )
        try:
            return {row[0]: LogRow(*row) for row in conn.execute(sql, ids)}
        except sqlite3.Error:
            return {}

    def function_ids(self) -> list[str]:
        conn = self._conn()
        if conn is None:
            return []
        try:
            return [r[0] for r in conn.execute(
                "SELECT DISTINCT function_id FROM invocations WHERE function_id IS NOT NULL ORDER BY 1")]
        except sqlite3.Error:
            return []

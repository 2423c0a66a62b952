"""The log view's data, through the store's read API (`Reader.log_ids` / `Reader.log_lines`).

The filter bar's state (`LogFilters`) becomes a store `Filter`; the schema stays in
`studio/store/queries.py`. The store file may not exist yet when the studio opens a fresh project,
so the reader is opened on first use.
"""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

from studio.store.db import StoreError
from studio.store.queries import LEVELS, Filter, Reader
from studio.store.queries import LogLine as LogRow

__all__ = ["LEVELS", "STREAMS", "LogFilters", "LogRow", "LogSource"]

STREAMS = ("stdout", "stderr", "logging", "platform")
"""Where a line came from: print, the stderr stream, the logging module, the platform itself."""


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
    stream: str | None = None
    """One of `STREAMS`."""

    @property
    def empty(self) -> bool:
        return not (self.function_id or self.level or self.status_class or self.text.strip() or self.request_id
                    or self.stream)

    def to_store(self) -> Filter:
        return Filter(function_id=self.function_id or None, level=self.level or None,
                      status=f"{self.status_class}xx" if self.status_class else None,
                      text=self.text.strip() or None, request_id=self.request_id or None,
                      stream=self.stream or None)


class LogSource:
    """The studio's read path for log lines; thread-safe (the Reader pools one connection per use)."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._reader: Reader | None = None
        self._lock = threading.Lock()

    def _get_reader(self) -> Reader | None:
        with self._lock:
            if self._reader is None and self.db_path.exists():
                try:
                    self._reader = Reader(self.db_path, time_limit_ms=5000)
                except StoreError:
                    return None
            return self._reader

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def matching_ids(self, filters: LogFilters, after_id: int = 0) -> array:
        """Ascending ids of the lines that pass `filters`, greater than `after_id`."""
        reader = self._get_reader()
        if reader is None:
            return array("q")
        try:
            return reader.log_ids(filters.to_store(), after_id=after_id)
        except (StoreError, ValueError):
            return array("q")

    def newest_ids(self, filters: LogFilters, before_id: int | None = None, limit: int = 200) -> array:
        """Descending ids of the newest `limit` lines that pass `filters`, below `before_id`."""
        reader = self._get_reader()
        if reader is None:
            return array("q")
        try:
            return reader.log_ids_before(filters.to_store(), before_id=before_id, limit=limit)
        except (StoreError, ValueError):
            return array("q")

    def newest_id(self) -> int:
        """The store's newest line id (0 when there is none yet)."""
        reader = self._get_reader()
        if reader is None:
            return 0
        try:
            return reader.last_ids()["logs"]
        except StoreError:
            return 0

    def rows(self, ids: list[int]) -> dict[int, LogRow]:
        reader = self._get_reader()
        if reader is None or not ids:
            return {}
        try:
            return reader.log_lines(ids)
        except StoreError:
            return {}

    def function_ids(self) -> list[str]:
        reader = self._get_reader()
        if reader is None:
            return []
        try:
            return reader.function_ids()
        except StoreError:
            return []

"""The store as the studio reads it: history pages, one invocation in full, saved requests.

Reads go through `studio.store.queries.Reader`; one invocation in full is the shared view's JSON
(`InvocationRecord.to_json()`), so the response and trace views take one shape whether a record came
over HTTP or from SQLite. Saving a request goes through the recorder (the store's one writer).
The store file may not exist yet when the studio opens a fresh project (the recorder creates it), so
the reader is opened on first use and every read before that finds nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.store.db import StoreError
from studio.store.queries import Filter, InvocationSummary, Reader, SavedRequest

if TYPE_CHECKING:
    from studio.store.writer import Recorder

InvocationRow = InvocationSummary

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
TIME_RANGES = {"5 min": 300.0, "1 hour": 3600.0, "24 hours": 86400.0, "7 days": 7 * 86400.0}
"""The history's time-range choices: how far back from now."""


@dataclass(frozen=True)
class HistoryFilters:
    function_id: str | None = None
    status: str | None = None
    """`2xx`..`5xx`, or `errors` (an exception, a fault or a 5xx)."""
    method: str | None = None
    since: str | None = None
    """A key of `TIME_RANGES`."""
    text: str = ""
    """Words in the path, the error, or any of its log lines."""

    def to_store(self, now: float | None = None) -> Filter:
        since = TIME_RANGES.get(self.since or "")
        return Filter(function_id=self.function_id or None, method=self.method or None,
                      status=self.status if self.status and self.status != "errors" else None,
                      has_error=True if self.status == "errors" else None,
                      since=(now if now is not None else time.time()) - since if since else None,
                      text=self.text.strip() or None)


class InvocationSource:
    """Thread-safe (the Reader opens one connection per thread)."""

    def __init__(self, db_path: str | Path, writer: Recorder | None = None) -> None:
        self.db_path = Path(db_path)
        self.writer = writer
        self._reader: Reader | None = None
        self._lock = threading.Lock()

    @property
    def reader(self) -> Reader | None:
        with self._lock:
            if self._reader is None and self.db_path.exists():
                self._reader = Reader(self.db_path, time_limit_ms=5000)
            return self._reader

    def recent(self, limit: int = 200, before_id: int | None = None,
               filters: HistoryFilters | None = None) -> list[InvocationSummary]:
        reader = self.reader
        if reader is None:
            return []
        return reader.invocations((filters or HistoryFilters()).to_store(), before_id=before_id, limit=limit)

    def function_ids(self) -> list[str]:
        reader = self.reader
        return reader.function_ids() if reader is not None else []

    def durations(self, function_id: str, limit: int) -> list[float]:
        """The last `limit` finished durations of one function, oldest first (its sparkline)."""
        reader = self.reader
        if reader is None:
            return []
        rows = reader.invocations(Filter(function_id=function_id), limit=limit)
        return [row.duration_ms for row in reversed(rows) if row.duration_ms is not None]

    def full(self, request_id: str) -> dict | None:
        reader = self.reader
        record = reader.invocation_record(request_id, prefix=False) if reader is not None else None
        return record.to_json() if record is not None else None

    def record(self, request_id: str):
        """One invocation as the shared `InvocationRecord` (stored=True), or None."""
        reader = self.reader
        return reader.invocation_record(request_id, prefix=False) if reader is not None else None

    def saved_requests(self, function_id: str | None) -> list[SavedRequest]:
        reader = self.reader
        return reader.saved_requests(function_id) if reader is not None else []

    def saved_request(self, saved_id: int) -> SavedRequest | None:
        reader = self.reader
        return reader.saved_request(saved_id) if reader is not None else None

    def save_request(self, function_id: str, name: str, method: str, path: str,
                     headers: list[tuple[str, str]], body: str, event: str | None) -> SavedRequest:
        if self.writer is None:
            raise StoreError("saving needs the studio's recorder, and the store is not recording")
        return self.writer.save_request(function_id, name, method=method, path=path, headers=headers, body=body,
                                        event=event)

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

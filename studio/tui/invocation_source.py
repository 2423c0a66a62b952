"""The store as the studio reads it: history pages, one invocation in full, saved requests.

Reads go through `studio.store.queries.Reader`; one invocation in full is the shared view's JSON
(`InvocationRecord.to_json()`), so the response and trace views take one shape whether a record came
over HTTP or from SQLite. Saving a request goes through the recorder (the store's one writer).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from studio.store.db import StoreError
from studio.store.queries import InvocationSummary, Reader, SavedRequest

if TYPE_CHECKING:
    from studio.store.writer import Recorder

InvocationRow = InvocationSummary


class InvocationSource:
    """Thread-safe (the Reader opens one connection per thread)."""

    def __init__(self, db_path: str | Path, writer: Recorder | None = None) -> None:
        self.reader = Reader(db_path, time_limit_ms=2000)
        self.writer = writer

    def recent(self, limit: int = 200, before_id: int | None = None) -> list[InvocationSummary]:
        return self.reader.invocations(before_id=before_id, limit=limit)

    def full(self, request_id: str) -> dict | None:
        record = self.reader.invocation_record(request_id, prefix=False)
        return record.to_json() if record is not None else None

    def saved_requests(self, function_id: str | None) -> list[SavedRequest]:
        return self.reader.saved_requests(function_id)

    def saved_request(self, saved_id: int) -> SavedRequest | None:
        return self.reader.saved_request(saved_id)

    def save_request(self, function_id: str, name: str, method: str, path: str,
                     headers: list[tuple[str, str]], body: str, event: str | None) -> SavedRequest:
        if self.writer is None:
            raise StoreError("saving needs the studio's recorder, and the store is not recording")
        return self.writer.save_request(function_id, name, method=method, path=path, headers=headers, body=body,
                                        event=event)

    def close(self) -> None:
        self.reader.close()

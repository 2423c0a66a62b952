"""The store as the studio reads it: history pages, one invocation in full, saved requests.

Wraps `studio.store.queries.Reader` and turns an `InvocationDetail` into the control API's JSON
shape (`runtime/records.py`), so the response and trace views take one shape whether a record came
over HTTP or from SQLite.
"""

from __future__ import annotations

import base64
from pathlib import Path

from studio.store.queries import InvocationDetail, InvocationSummary, Reader, SavedRequest

InvocationRow = InvocationSummary


def detail_to_record(detail: InvocationDetail) -> dict:
    body = detail.response_body
    text = body.text()
    error = None
    if detail.error_type:
        error = {
            "type": detail.error_type, "message": detail.error_message or "",
            "traceback": detail.error_traceback or "",
            "frames": [{"file": f.file, "line": f.line, "function": f.function, "source": f.source or "",
                        "locals": f.locals, "is_user": f.is_user_code} for f in detail.frames],
        }
    return {
        "request_id": detail.request_id, "function_id": detail.function_id, "platform": detail.platform,
        "kind": detail.kind, "trigger": detail.trigger, "method": detail.method, "path": detail.path,
        "query_string": detail.query_string or "",
        "request_headers": [list(h) for h in detail.request_headers],
        "request_body": detail.request_body.text() or "",
        "status": detail.status, "headers": [list(h) for h in detail.response_headers],
        "body": text if text is not None else base64.b64encode(body.data).decode("ascii"),
        "body_encoding": "utf-8" if text is not None else "base64",
        "return_value": detail.return_value,
        "logs": [{"seq": line.seq, "time": line.time, "stream": line.stream, "level": line.level,
                  "text": line.text} for line in detail.logs],
        "error": error, "warnings": list(detail.warnings), "fault": detail.fault,
        "duration_ms": detail.duration_ms, "started_at": detail.started_at, "outbox": list(detail.outbox),
    }


class InvocationSource:
    """Thread-safe (the Reader opens one connection per thread)."""

    def __init__(self, db_path: str | Path) -> None:
        self.reader = Reader(db_path, time_limit_ms=2000)

    def recent(self, limit: int = 200, before_id: int | None = None) -> list[InvocationSummary]:
        return self.reader.invocations(before_id=before_id, limit=limit)

    def full(self, request_id: str) -> dict | None:
        detail = self.reader.invocation(request_id, prefix=False)
        return detail_to_record(detail) if detail is not None else None

    def saved_requests(self, function_id: str | None) -> list[SavedRequest]:
        return self.reader.saved_requests(function_id)

    def saved_request(self, saved_id: int) -> SavedRequest | None:
        return self.reader.saved_request(saved_id)

    def save_request(self, function_id: str, name: str, method: str, path: str,
                     headers: list[tuple[str, str]], body: str, event: str | None) -> SavedRequest:
        return self.reader.save_request(function_id, name, method, path, headers, body, event)

    def close(self) -> None:
        self.reader.close()

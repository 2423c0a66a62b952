"""Builders for the runtime's real event values, shared by the store tests."""

from __future__ import annotations

import time
from pathlib import Path

from studio.runtime.events import (
    ErrorInfo,
    FrameInfo,
    InvocationFinished,
    InvocationRecord,
    InvocationStarted,
    LogLine,
    ParityWarning,
)

T0 = 1_790_000_000.0


def record(request_id: str, **overrides) -> InvocationRecord:
    values = dict(
        request_id=request_id,
        function_id="api/hello",
        platform="edgeone",
        kind="wsgi",
        trigger="http",
        method="GET",
        path="/api/hello",
        status=200,
        started_at=T0,
        duration_ms=1.5,
    )
    values.update(overrides)
    return InvocationRecord(**values)


def failing_record(request_id: str, **overrides) -> InvocationRecord:
    error = ErrorInfo(
        type="KeyError",
        message="'user'",
        traceback='Traceback (most recent call last):\n  File "api/hello.py", line 3, in handler\n'
        "    return d['user']\nKeyError: 'user'\n",
        frames=(
            FrameInfo("api/hello.py", 3, "handler", "return d['user']", {"d": "{}"}, True),
            FrameInfo("/usr/lib/python3/x.py", 9, "lib", "pass", {}, False),
        ),
    )
    values = dict(status=502, error=error, warnings=(ParityWarning("EO-X", "m", "f"),))
    values.update(overrides)
    return record(request_id, **values)


def invocation_events(
    request_id: str, lines: int = 3, *, function_id: str = "api/hello", at: float = T0, rec=None, level="INFO"
) -> list:
    """Started, `lines` log lines, finished: what the runtime publishes for one invocation."""
    events: list = [InvocationStarted(request_id, function_id, "http", "GET", "/api/hello", at)]
    for seq in range(lines):
        events.append(
            LogLine(
                request_id, function_id, seq, at + seq / 1000, "logging", level, f"{request_id} line {seq}"
            )
        )
    events.append(
        InvocationFinished(rec or record(request_id, function_id=function_id, started_at=at, log_count=lines))
    )
    return events


def publish_all(recorder, events) -> None:
    for event in events:
        recorder(event)


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def journal_text(path: str | Path) -> str:
    """The lines a journal file holds, as text (a mapped journal's header and reserved room left out)."""
    from studio.store.journal import journal_lines

    return journal_lines(Path(path).read_bytes()).decode("utf-8")

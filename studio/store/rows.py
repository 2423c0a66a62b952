"""The store's row types: what a read returns, what a filter asks, and how a finished invocation
becomes an `invocations` row and back.

Every value is a frozen dataclass. `InvocationDetail.to_record()` turns a stored invocation into the
runtime's shared view (`InvocationRecord`, `stored=True`), and `invocation_row()` is its inverse for
the writer: the column mapping lives here once.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from json.encoder import encode_basestring

from studio.runtime.invocation import ErrorInfo, FrameInfo, InvocationRecord, ParityWarning
from studio.runtime.invocation import LogLine as RecordLogLine
from studio.store.db import StoreError
from studio.store.redact import Redactor, cap_body, cap_line, valid_text

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
    method: str | None = None
    """The request's HTTP method (`GET`, `POST`, ...), as recorded."""
    stream: str | None = None
    """Where a line came from: stdout | stderr | logging | platform (for invocations: any of its lines)."""

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
    app_path: str | None = None
    paused_ms: float | None = None
    """Time paused in the debugger (schema 4; None when it never paused)."""
    wait_ms: float | None = None
    """Time queued for an instance (schema 5; None when it never queued)."""
    handler_ms: float | None = None
    """Time in the handler (schema 5; None in older rows and when no handler ran)."""

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

    def to_record(self) -> InvocationRecord:
        """The shared invocation view (`runtime/invocation.py`), marked `stored`."""
        error = None
        if self.error_type:
            error = ErrorInfo(
                type=self.error_type,
                message=self.error_message or "",
                traceback=self.error_traceback or "",
                frames=tuple(
                    FrameInfo(f.file, f.line, f.function, f.source or "", dict(f.locals), f.is_user_code)
                    for f in self.frames
                ),
            )
        return InvocationRecord(
            request_id=self.request_id,
            function_id=self.function_id,
            platform=self.platform,
            kind=self.kind,
            trigger=self.trigger,
            method=self.method,
            path=self.path,
            query_string=self.query_string or "",
            params=dict(self.params),
            request_headers=tuple(self.request_headers),
            request_body=self.request_body.data,
            request_body_size=self.request_body.size if self.request_body.truncated else None,
            status=self.status,
            response_headers=tuple(self.response_headers),
            response_body=self.response_body.data,
            response_body_size=self.response_body.size if self.response_body.truncated else None,
            return_value=self.return_value,
            error=error,
            warnings=tuple(
                ParityWarning(w.get("id", ""), w.get("message", ""), w.get("fix", "")) for w in self.warnings
            ),
            fault=self.fault,
            started_at=self.started_at,
            duration_ms=self.duration_ms or 0.0,
            init_ms=self.init_ms,
            peak_memory_mb=self.peak_memory_mb,
            code_version=self.code_version,
            instance_id=self.instance_id,
            outbox=tuple(self.outbox),
            log_count=self.log_count,
            logs_truncated=self.logs_truncated,
            logs=tuple(
                RecordLogLine(line.request_id, line.function_id, line.seq, line.time, line.stream, line.level,
                              line.text)
                for line in self.logs
            ),
            stored=True,
            app_path=self.app_path,
            paused_ms=float(self.paused_ms or 0.0),
            wait_ms=float(self.wait_ms or 0.0),
            handler_ms=self.handler_ms,
        )


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


# --- filter values ----------------------------------------------------------------------------


def fts_query(text: str) -> str:
    """User words -> an FTS5 query: each word quoted (its `"` doubled) and matched as a prefix."""
    # NUL ends a C string inside SQLite (an "unterminated string"); control characters are never words.
    text = "".join(" " if ord(char) < 32 or char == "\x7f" else char for char in text)
    words = [word for word in text.split() if word]
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words) or '""'


def parse_level(level: str) -> list[str]:
    """`warning` -> ["WARNING", "ERROR", "CRITICAL"] (that level and above); ValueError if unknown."""
    levels = levels_from(level)
    assert levels is not None
    return levels


def levels_from(level: str | None) -> list[str] | None:
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


# --- rows <-> values ---------------------------------------------------------------------------

LOG_COLUMNS = "l.id, l.invocation_id, i.request_id, l.function_id, l.seq, l.time, l.stream, l.level, l.text"
SUMMARY_COLUMNS = (
    "i.id, i.request_id, i.state, i.function_id, i.platform, i.kind, i.trigger, i.method, i.path, i.status, "
    "i.started_at, i.duration_ms, i.error_type, i.error_message, i.fault, i.has_error, i.log_count"
)
DETAIL_COLUMNS = (
    "i.query_string, i.params, i.request_headers, i.request_body, i.request_body_size, "
    "i.request_body_truncated, i.response_headers, i.response_body, i.response_body_size, "
    "i.response_body_truncated, i.return_value, i.error_traceback, i.warnings, i.outbox, i.init_ms, "
    "i.peak_memory_mb, i.code_version, i.instance_id, i.logs_truncated, i.app_path, i.paused_ms, "
    "i.wait_ms, i.handler_ms"
)
SAVED_COLUMNS = "id, function_id, name, method, path, headers, body, event, created_at, updated_at"


def summary_from_row(row: Sequence[object]) -> InvocationSummary:
    values = list(row)
    values[15] = bool(values[15])
    values[16] = values[16] or 0
    return InvocationSummary(*values)  # type: ignore[arg-type]


def detail_from_row(
    row: Sequence[object], frames: Sequence[Sequence[object]], logs: Sequence[Sequence[object]]
) -> InvocationDetail:
    """A row of `SUMMARY_COLUMNS, DETAIL_COLUMNS`, its frame rows and its `LOG_COLUMNS` rows."""
    summary = summary_from_row(row[:17])
    (query_string, params, req_headers, req_body, req_size, req_cut, resp_headers, resp_body) = row[17:25]
    (resp_size, resp_cut, return_value, traceback, warnings, outbox, init_ms, memory) = row[25:33]
    code_version, instance_id, logs_truncated = row[33:36]
    app_path = row[36] if len(row) > 36 else None
    paused_ms = row[37] if len(row) > 37 else None
    wait_ms, handler_ms = row[38:40] if len(row) > 39 else (None, None)
    return InvocationDetail(
        **{f.name: getattr(summary, f.name) for f in fields(InvocationSummary)},
        query_string=query_string,  # type: ignore[arg-type]
        params=json_or(params, {}),
        request_headers=[tuple(pair) for pair in json_or(req_headers, [])],
        request_body=Body(req_body or b"", req_size or 0, bool(req_cut)),  # type: ignore[arg-type]
        response_headers=[tuple(pair) for pair in json_or(resp_headers, [])],
        response_body=Body(resp_body or b"", resp_size or 0, bool(resp_cut)),  # type: ignore[arg-type]
        return_value=return_value,  # type: ignore[arg-type]
        error_traceback=traceback,  # type: ignore[arg-type]
        frames=tuple(
            FrameRow(idx, file, line, function, source, json_or(local_values, {}), bool(user))  # type: ignore[arg-type]
            for idx, file, line, function, source, local_values, user in frames
        ),
        warnings=tuple(json_or(warnings, [])),
        outbox=tuple(json_or(outbox, [])),
        init_ms=init_ms,  # type: ignore[arg-type]
        peak_memory_mb=memory,  # type: ignore[arg-type]
        code_version=code_version,  # type: ignore[arg-type]
        instance_id=instance_id,  # type: ignore[arg-type]
        logs_truncated=bool(logs_truncated),
        logs=tuple(LogRow(*line) for line in logs),  # type: ignore[arg-type]
        app_path=app_path,  # type: ignore[arg-type]
        paused_ms=paused_ms,  # type: ignore[arg-type]
        wait_ms=wait_ms,  # type: ignore[arg-type]
        handler_ms=handler_ms,  # type: ignore[arg-type]
    )


def saved_from_row(row: Sequence[object]) -> SavedRequest:
    values = list(row)
    values[5] = [tuple(pair) for pair in json_or(values[5], [])]
    values[6] = values[6] or b""
    return SavedRequest(*values)  # type: ignore[arg-type]


def invocation_row(record: InvocationRecord, body_cap: int) -> dict[str, object]:
    """The `invocations` columns of a finished (already redacted) record; bodies capped at `body_cap`.
    The inverse of `detail_from_row(...).to_record()`."""
    request_body, request_size, request_cut = cap_body(record.request_body, body_cap)
    response_body, response_size, response_cut = cap_body(record.response_body, body_cap)
    error = record.error
    status = record.status
    values: dict[str, object] = {
        "request_id": record.request_id,
        "state": "finished",
        "function_id": record.function_id,
        "platform": record.platform,
        "kind": record.kind,
        "trigger": record.trigger,
        "method": record.method,
        "path": record.path,
        "query_string": record.query_string,
        "params": json.dumps(dict(record.params), ensure_ascii=False) if record.params else "{}",
        "request_headers": pairs_json(record.request_headers),
        "request_body": request_body,
        "request_body_size": record.request_body_size or request_size,
        "request_body_truncated": int(request_cut or record.request_body_size is not None),
        "status": status,
        "status_class": (status // 100) if status else 0,
        "response_headers": pairs_json(record.response_headers),
        "response_body": response_body,
        "response_body_size": record.response_body_size or response_size,
        "response_body_truncated": int(response_cut or record.response_body_size is not None),
        "return_value": record.return_value,
        "error_type": error.type if error else None,
        "error_message": error.message if error else None,
        "error_traceback": error.traceback if error else None,
        "fault": record.fault,
        "has_error": int(error is not None or record.fault is not None or (status or 0) >= 500),
        "warnings": json.dumps([asdict(w) for w in record.warnings], ensure_ascii=False) if record.warnings else "[]",
        "outbox": json.dumps(list(record.outbox), ensure_ascii=False, default=repr) if record.outbox else "[]",
        "started_at": record.started_at,
        "duration_ms": record.duration_ms,
        "init_ms": record.init_ms,
        "peak_memory_mb": record.peak_memory_mb,
        "code_version": record.code_version,
        "instance_id": record.instance_id,
        "log_count": record.log_count,
        "logs_truncated": int(record.logs_truncated),
    }
    if record.app_path is not None:  # only framework entries have one (schema 3)
        values["app_path"] = record.app_path
    if record.paused_ms:  # only debugged invocations that stopped (schema 4)
        values["paused_ms"] = record.paused_ms
    if record.wait_ms:  # only requests that queued for a busy function (schema 5)
        values["wait_ms"] = record.wait_ms
    if record.handler_ms is not None:  # schema 5
        values["handler_ms"] = record.handler_ms
    return {name: valid_text(v) if isinstance(v, str) else v for name, v in values.items()}


FINISHED_COLUMNS = (
    "request_id", "state", "function_id", "platform", "kind", "trigger", "method", "path", "query_string",
    "params", "request_headers", "request_body", "request_body_size", "request_body_truncated", "status",
    "status_class", "response_headers", "response_body", "response_body_size", "response_body_truncated",
    "return_value", "error_type", "error_message", "error_traceback", "fault", "has_error", "warnings", "outbox",
    "started_at", "duration_ms", "init_ms", "peak_memory_mb", "code_version", "instance_id", "log_count",
    "logs_truncated")
"""The columns `invocation_row` always gives, in its order (then app_path, paused_ms, wait_ms, handler_ms
when the record has them)."""


JsonRow = tuple[str, tuple[str, ...], tuple, list[tuple]]
"""(request id, columns, values, log rows but their first value)"""


def json_row(data: dict, body_cap: int, redactor: Redactor, ascii_text: bool = False) -> JsonRow | None:
    """What the writer stores of a journal line's JSON object `data`, straight from it: its request id
    as `from_json` reads it, the columns and values that `invocation_row(redactor.record(InvocationRecord.from_json(data)), body_cap)` gives, and
    its log lines' `logs` rows without their first value (the invocation id: `_log_row`'s others).

    For the writer process's common record (no error, warnings, outbox or profile; text bodies) this
    skips building the record (its ~40 frozen fields and lines, then a dict of them) and redacts the
    same values with the same `Redactor` calls. None when the record needs the full path: anything
    else, or anything `from_json` or the row would refuse (so the full path refuses it the same way).
    `ascii_text`: every string in `data` is ASCII (`ascii_json` of its text), so every string of the
    row is too and `valid_text` would keep each as it is (~2 us of checks skipped).
    tests/store/test_store_json_rows.py holds the two paths to the same rows."""
    try:
        return _json_row(data, body_cap, redactor, ascii_text)
    except Exception:  # noqa: BLE001 - the full path meets the same value and says what it says
        return None


def _json_row(data: dict, body_cap: int, redactor: Redactor, ascii_text: bool) -> JsonRow | None:
    get = data.get
    if get("error") or get("warnings") or get("outbox") or get("profile"):
        return None
    request_encoding, response_encoding = get("request_body_encoding"), get("body_encoding")
    if request_encoding == "base64" or response_encoding == "base64":
        return None
    request_id = str(data["request_id"])
    function_id = get("function_id")
    # from_json's conversions, value by value
    request_headers = tuple([(str(name), str(value)) for name, value in get("request_headers") or ()])
    response_headers = tuple([(str(name), str(value)) for name, value in get("headers") or ()])
    request_body = (get("request_body") or "").encode("utf-8")
    response_body = (get("body") or "").encode("utf-8")
    params = dict(get("params") or {})
    query_string = get("query_string") or ""
    return_value = get("return_value")
    status = get("status")
    started_at = float(get("started_at") or 0.0)
    duration_ms = float(get("duration_ms") or 0.0)
    log_count = int(get("log_count") or 0)
    logs_truncated = int(bool(get("logs_truncated")))
    paused_ms = float(get("paused_ms") or 0.0)
    wait_ms = float(get("wait_ms") or 0.0)
    handler_ms = None if get("handler_ms") is None else float(data["handler_ms"])
    fault = get("fault")
    lines = [(function_id, int(line["seq"]), float(line["time"]), line["stream"],
              level.upper() if (level := line.get("level")) else None, cap_line(line["text"]))
             for line in get("logs") or ()]
    # Redactor.record's calls, on the same values
    query_string = redactor.query(query_string)
    request_body = redactor.body(request_body, request_headers)
    request_headers = redactor.headers(request_headers)
    response_headers = redactor.headers(response_headers)
    if return_value:
        return_value = redactor.text(return_value)
    # invocation_row's values, in FINISHED_COLUMNS order
    request_body, request_size, request_cut = cap_body(request_body, body_cap)
    response_body, response_size, response_cut = cap_body(response_body, body_cap)
    request_body_size, response_body_size = get("request_body_size"), get("body_size")
    values = [
        request_id, "finished", function_id, get("platform"), get("kind"), get("trigger") or "http",
        get("method") or "", get("path") or "", query_string,
        json.dumps(params, ensure_ascii=False) if params else "{}",
        pairs_json(request_headers), request_body, request_body_size or request_size,
        int(request_cut or request_body_size is not None), status, (status // 100) if status else 0,
        pairs_json(response_headers), response_body, response_body_size or response_size,
        int(response_cut or response_body_size is not None), return_value, None, None, None, fault,
        int(fault is not None or (status or 0) >= 500), "[]", "[]", started_at, duration_ms, get("init_ms"),
        get("peak_memory_mb"), get("code_version"), get("instance_id"), log_count, logs_truncated,
    ]
    optional: tuple[str, ...] = ()
    app_path = get("app_path")
    if app_path is not None:
        optional += ("app_path",)
        values.append(app_path)
    if paused_ms:
        optional += ("paused_ms",)
        values.append(paused_ms)
    if wait_ms:
        optional += ("wait_ms",)
        values.append(wait_ms)
    if handler_ms is not None:
        optional += ("handler_ms",)
        values.append(handler_ms)
    if not ascii_text:
        values = [valid_text(v) if isinstance(v, str) else v for v in values]
    return request_id, _columns(optional), tuple(values), lines


def ascii_json(text: bytes) -> bool:
    """Whether every string JSON `text` holds is ASCII: the text is, and has no `\\u` escape."""
    return text.isascii() and b"\\u" not in text


@functools.lru_cache(maxsize=16)
def _columns(optional: tuple[str, ...]) -> tuple[str, ...]:
    """FINISHED_COLUMNS and the optional ones a record has (one tuple per set: `_finish_sql`'s key)."""
    return FINISHED_COLUMNS + optional


def pairs_json(pairs: Sequence[Sequence[object]]) -> str:
    """`json.dumps([list(pair) for pair in pairs], ensure_ascii=False)`, the same text ~4x faster (the
    headers of every stored invocation: ~8 us of the writer's CPU per invocation went to the two)."""
    try:
        return "[" + ", ".join(f"[{encode_basestring(name)}, {encode_basestring(value)}]"
                               for name, value in pairs) + "]"
    except (TypeError, ValueError):  # not pairs of strings: json.dumps says what it says
        return json.dumps([list(pair) for pair in pairs], ensure_ascii=False)


def frame_rows(invocation_id: int, record: InvocationRecord) -> list[tuple]:
    """`frames` rows (idx, file, line, function, source, locals, is_user_code) of a record's error."""
    if record.error is None:
        return []
    return [
        (
            invocation_id,
            index,
            valid_text(frame.file),
            frame.line,
            valid_text(frame.function),
            valid_text(frame.source),
            valid_text(json.dumps(dict(frame.locals), ensure_ascii=False)),
            int(frame.is_user),
        )
        for index, frame in enumerate(record.error.frames)
    ]


def json_or(text: object, default):
    if not text:
        return default
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default

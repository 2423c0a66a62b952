"""The one typed view of an invocation, live or stored.

The runtime builds an `InvocationRecord` when an invocation finishes; the store rebuilds the same
value from its rows; the CLI, the control API and the studio read only this type. `to_json()` is the
single JSON shape (`invoke --json`, `GET /__funcstudio/invocations/<id>`, the journal) and
`from_json()` reads it back, so nothing else reshapes an invocation into a dict of its own.

Adding a field: give it a default, and extend `to_json` and `from_json` together (a round-trip test
in tests/runtime/test_invocation_view.py holds them to each other).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class FrameInfo:
    file: str
    line: int
    function: str
    source: str
    locals: dict[str, str] = field(default_factory=dict)
    """name -> repr, each capped."""
    is_user: bool = True
    """False for framework and standard-library frames (the store's `is_user_code` column)."""


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    traceback: str
    """The text a user reads: user frames only, as the platform prints it."""
    frames: tuple[FrameInfo, ...] = ()


@dataclass(frozen=True)
class ParityWarning:
    id: str
    """An id from docs/platforms.md, e.g. `EO-DICT-ENVELOPE`."""
    message: str
    """What happened here and what production will do."""
    fix: str = ""


@dataclass(frozen=True)
class LogLine:
    request_id: str
    function_id: str | None
    seq: int
    """Order within the invocation, from 0."""
    time: float
    stream: str
    """stdout | stderr | logging | platform"""
    level: str | None
    """DEBUG | INFO | WARNING | ERROR | CRITICAL for logging records (and platform error lines)."""
    text: str

    def to_json(self) -> dict:
        return {"seq": self.seq, "time": self.time, "stream": self.stream, "level": self.level,
                "text": self.text}


@dataclass(frozen=True)
class InvocationRecord:
    """One finished invocation, whatever became of it."""

    request_id: str
    function_id: str | None
    """None when nothing matched (404/405 from the route table)."""
    platform: str | None
    kind: str | None
    trigger: str
    """http | invoke | async | timer | replay | cos | ckafka | ..."""
    method: str
    path: str
    query_string: str = ""
    params: dict[str, str] = field(default_factory=dict)
    request_headers: tuple[tuple[str, str], ...] = ()
    request_body: bytes = b""
    request_body_size: int | None = None
    """The size the request body had when `request_body` holds only its first bytes (stored, capped)."""
    status: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: bytes = b""
    response_body_size: int | None = None
    """The size the response body had when `response_body` holds only its first bytes."""
    return_value: str | None = None
    """JSON text when the value was JSON-serialisable, else its repr."""
    error: ErrorInfo | None = None
    warnings: tuple[ParityWarning, ...] = ()
    fault: str | None = None
    """None, or: timeout | memory | exit | crash | load-error | output-flood | internal | debugger-quit"""
    started_at: float = 0.0
    """Unix time."""
    duration_ms: float = 0.0
    """Wall time of the invocation as the gateway saw it; the one number every view shows."""
    init_ms: float | None = None
    """Cold-start time when this invocation started a new instance, else None."""
    peak_memory_mb: float | None = None
    code_version: str | None = None
    instance_id: str | None = None
    outbox: tuple[dict, ...] = ()
    """CocoBase: mail that `send_mail` would have sent."""
    log_count: int = 0
    logs_truncated: bool = False
    logs: tuple[LogLine, ...] = ()
    """The invocation's log lines when the builder had them (the store always does)."""
    stored: bool = False
    """True when this value was read back from the store (a recorded run, not a live one)."""
    paused_ms: float = 0.0
    """Time spent paused in the debugger; the deadline stood still meanwhile (duration_ms includes it)."""
    profile: tuple[dict, ...] = ()
    """A profiled run's top functions by cumulative time: {file, line, function, calls, primitive_calls,
    tottime_ms, cumtime_ms, is_user} (live runs only; the store does not keep it)."""
    app_path: str | None = None
    """Framework entries: the path the app received after the platform stripped the route prefix
    (`/health` for `/api/health` under `api/[[default]].py`); None for every other kind."""
    wait_ms: float = 0.0
    """Time queued for an instance while every instance of the function was busy (max_instances)."""
    handler_ms: float | None = None
    """Time the worker spent in the user's code (the result frame's duration); None when no handler ran.
    The timing bar's phases: wait_ms, init_ms (cold start), handler_ms, and the rest of duration_ms
    (sending the request in and the response back)."""

    def evolve(self, **changes) -> InvocationRecord:
        """`dataclasses.replace` without re-running `__init__` field by field: this record's fields are
        already valid, and the gateway completes one record per request (a few microseconds saved)."""
        if not _RECORD_FIELDS.issuperset(changes):  # (no set built per call, as `keys() - fields` did)
            raise TypeError(f"InvocationRecord has no field(s) {sorted(changes.keys() - _RECORD_FIELDS)}")
        new = object.__new__(InvocationRecord)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def to_json(self) -> dict:
        return {**self.request_json(), **self.response_json()}

    def request_json(self) -> dict:
        """The fields known before the function runs (`to_json` = request + response halves; the
        journal serialises this half while the worker runs)."""
        request_body, request_encoding = body_json(self.request_body)
        return {
            "request_id": self.request_id,
            "function_id": self.function_id,
            "platform": self.platform,
            "kind": self.kind,
            "trigger": self.trigger,
            "method": self.method,
            "path": self.path,
            "query_string": self.query_string,
            "params": dict(self.params),
            "request_headers": [list(h) for h in self.request_headers],
            "request_body": request_body,
            "request_body_encoding": request_encoding,
            "request_body_size": self.request_body_size,
            "started_at": self.started_at,
        }

    def response_json(self) -> dict:
        """Everything `request_json` leaves out: what became of the invocation."""
        body, encoding = body_json(self.response_body)
        return {
            "status": self.status,
            "headers": [list(h) for h in self.response_headers],
            "body": body,
            "body_encoding": encoding,
            "body_size": self.response_body_size,
            "return_value": self.return_value,
            "logs": [line.to_json() for line in self.logs],
            "log_count": self.log_count,
            "logs_truncated": self.logs_truncated,
            "error": asdict(self.error) if self.error else None,
            "warnings": [asdict(w) for w in self.warnings],
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
            "init_ms": self.init_ms,
            "peak_memory_mb": self.peak_memory_mb,
            "code_version": self.code_version,
            "instance_id": self.instance_id,
            "outbox": list(self.outbox),
            "stored": self.stored,
            "paused_ms": self.paused_ms,
            "profile": [dict(row) for row in self.profile],
            "app_path": self.app_path,
            "wait_ms": round(self.wait_ms, 3),
            "handler_ms": None if self.handler_ms is None else round(self.handler_ms, 3),
        }

    @classmethod
    def from_json(cls, data: dict) -> InvocationRecord:
        """The inverse of `to_json` (unknown keys are ignored, missing ones take their defaults)."""
        request_id = str(data["request_id"])
        function_id = data.get("function_id")
        error = data.get("error")
        return cls(
            request_id=request_id,
            function_id=function_id,
            platform=data.get("platform"),
            kind=data.get("kind"),
            trigger=data.get("trigger") or "http",
            method=data.get("method") or "",
            path=data.get("path") or "",
            query_string=data.get("query_string") or "",
            params=dict(data.get("params") or {}),
            request_headers=_pairs(data.get("request_headers")),
            request_body=body_bytes(data.get("request_body") or "", data.get("request_body_encoding")),
            request_body_size=data.get("request_body_size"),
            status=data.get("status"),
            response_headers=_pairs(data.get("headers")),
            response_body=body_bytes(data.get("body") or "", data.get("body_encoding")),
            response_body_size=data.get("body_size"),
            return_value=data.get("return_value"),
            error=_error(error) if error else None,
            warnings=tuple(ParityWarning(w["id"], w.get("message", ""), w.get("fix", ""))
                           for w in data.get("warnings") or ()),
            fault=data.get("fault"),
            started_at=float(data.get("started_at") or 0.0),
            duration_ms=float(data.get("duration_ms") or 0.0),
            init_ms=data.get("init_ms"),
            peak_memory_mb=data.get("peak_memory_mb"),
            code_version=data.get("code_version"),
            instance_id=data.get("instance_id"),
            outbox=tuple(data.get("outbox") or ()),
            log_count=int(data.get("log_count") or 0),
            logs_truncated=bool(data.get("logs_truncated")),
            logs=tuple(LogLine(request_id, function_id, int(line["seq"]), float(line["time"]),
                               line["stream"], line.get("level"), line["text"])
                       for line in data.get("logs") or ()),
            stored=bool(data.get("stored")),
            paused_ms=float(data.get("paused_ms") or 0.0),
            profile=tuple(dict(row) for row in data.get("profile") or ()),
            app_path=data.get("app_path"),
            wait_ms=float(data.get("wait_ms") or 0.0),
            handler_ms=None if data.get("handler_ms") is None else float(data["handler_ms"]),
        )


def body_json(body: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 text when the bytes are text, else base64."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def body_bytes(text: str, encoding: str | None) -> bytes:
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


def _pairs(values) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in values or ())


def _error(data: dict) -> ErrorInfo:
    frames = tuple(
        FrameInfo(file=f["file"], line=int(f["line"]), function=f["function"], source=f.get("source") or "",
                  locals=dict(f.get("locals") or {}), is_user=bool(f.get("is_user", True)))
        for f in data.get("frames") or ()
    )
    return ErrorInfo(type=data["type"], message=data.get("message") or "",
                     traceback=data.get("traceback") or "", frames=frames)


_RECORD_FIELDS = frozenset(f.name for f in fields(InvocationRecord))

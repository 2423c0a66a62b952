"""What the runtime publishes: every invocation, log line, instance and project change.

The runtime never imports the store or the TUI. They subscribe to an `EventBus` and receive
these frozen values. Publishing calls subscribers synchronously on the publisher's thread, so
a subscriber must only enqueue (the store writer has a bounded queue) and never block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameInfo:
    file: str
    line: int
    function: str
    source: str
    locals: dict[str, str] = field(default_factory=dict)
    """name -> repr, each capped."""
    is_user: bool = True


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
    """An id from RUNTIME_SPEC.md §6, e.g. `EO-DICT-ENVELOPE`."""
    message: str
    """What happened here and what production will do."""
    fix: str = ""


@dataclass(frozen=True)
class InvocationRecord:
    """One finished invocation, whatever became of it."""

    request_id: str
    function_id: str | None
    """None when nothing matched (404/405 from the route table)."""
    platform: str | None
    kind: str | None
    trigger: str
    """http | invoke | async | timer | replay"""
    method: str
    path: str
    query_string: str = ""
    params: dict[str, str] = field(default_factory=dict)
    request_headers: tuple[tuple[str, str], ...] = ()
    request_body: bytes = b""
    status: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: bytes = b""
    return_value: str | None = None
    """JSON text when the value was JSON-serialisable, else its repr."""
    error: ErrorInfo | None = None
    warnings: tuple[ParityWarning, ...] = ()
    fault: str | None = None
    """None, or: timeout | memory | exit | crash | load-error | output-flood | internal"""
    started_at: float = 0.0
    """Unix time."""
    duration_ms: float = 0.0
    init_ms: float | None = None
    """Cold-start time when this invocation started a new instance, else None."""
    peak_memory_mb: float | None = None
    code_version: str | None = None
    instance_id: str | None = None
    outbox: tuple[dict, ...] = ()
    """CocoBase: mail that `send_mail` would have sent."""
    log_count: int = 0
    logs_truncated: bool = False


@dataclass(frozen=True)
class InvocationStarted:
    request_id: str
    function_id: str | None
    trigger: str
    method: str
    path: str
    started_at: float


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
    """DEBUG | INFO | WARNING | ERROR | CRITICAL for logging records; None otherwise."""
    text: str


@dataclass(frozen=True)
class InvocationFinished:
    record: InvocationRecord


@dataclass(frozen=True)
class InstanceStarted:
    instance_id: str
    function_id: str
    pid: int
    init_ms: float


@dataclass(frozen=True)
class InstanceExited:
    instance_id: str
    function_id: str
    pid: int
    reason: str
    """idle | stale | timeout | memory | exit | crash | shutdown | load-error"""
    exit_code: int | None = None


@dataclass(frozen=True)
class ProjectChanged:
    changed: tuple[str, ...]
    """Project-relative paths that changed."""
    time: float
    function_count: int
    retired: tuple[str, ...] = ()
    """Function ids whose instances were retired."""
    reload_ms: float = 0.0


Event = InvocationStarted | LogLine | InvocationFinished | InstanceStarted | InstanceExited | ProjectChanged
Subscriber = Callable[[Event], None]


class EventBus:
    """Fan-out of runtime events to subscribers; a failing subscriber never hurts the runtime."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers = [*self._subscribers, subscriber]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not subscriber]

        return unsubscribe

    def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:  # copy-on-write list: safe without the lock
            try:
                subscriber(event)
            except Exception:  # noqa: BLE001 - a subscriber's bug must not fail a request
                log.exception("event subscriber %r failed", subscriber)

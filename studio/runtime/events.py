"""What the runtime publishes: every invocation, log line, instance and project change.

The runtime never imports the store or the TUI. They subscribe to an `EventBus` and receive
these frozen values. Publishing calls subscribers synchronously on the publisher's thread, so
a subscriber must only enqueue (the store writer has a bounded queue) and never block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from studio.runtime.invocation import (  # noqa: F401 - re-exported: the view lives in invocation.py
    ErrorInfo,
    FrameInfo,
    InvocationRecord,
    LogLine,
    ParityWarning,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvocationStarted:
    request_id: str
    function_id: str | None
    trigger: str
    method: str
    path: str
    started_at: float


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
    leftovers: tuple[str, ...] = ()
    """One platform line per process the instance left running, killed when it ended (pid, command)."""


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

"""Typed messages of the studio's pipelines: workers post them, `@on` handlers own the state.

Workers never touch widgets; each result arrives as one of these, so tests can assert on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class ProjectLoaded(Message):
    """Discovery finished (at start or after a reload)."""

    project: Any
    """A `studio.project.model.Project`."""
    reload_ms: float | None = None


@dataclass
class ProjectLoadFailed(Message):
    reason: str


@dataclass
class RuntimeReady(Message):
    url: str
    runtime: Any


@dataclass
class RuntimeFailed(Message):
    reason: str


@dataclass
class StoreSaid(Message):
    """The recorder turned recording off or on again, or started a fresh store: one sentence."""

    sentence: str


@dataclass
class StoreReady(Message):
    store: Any
    """A `studio.tui.services.StoreReader`."""


@dataclass
class RuntimeEventReceived(Message):
    """A runtime event (events.py) that the TUI cares about, forwarded from the bus thread."""

    event: Any


@dataclass
class InvokeRequested(Message):
    request_id: str
    method: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    function_id: str | None = None
    """Set for control-API invocations (SCF events, CocoBase); the path is then informational."""
    invocation_type: str = "RequestResponse"
    for_function: str | None = None
    """The function whose draft this was: its response is kept (and shown) for that function."""


@dataclass
class InvokeCompleted(Message):
    """The gateway answered, whatever the status (a user exception's 500 included)."""

    request_id: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    duration_ms: float
    gateway_request_id: str | None = None
    record: Any = None
    """The runtime's `InvocationRecord` of the invocation, when it had one; `duration_ms` is its own."""
    via_control: bool = False
    """Sent through the control API (SCF events): status and body are the function's, from the record."""
    accepted: bool = False
    """An Event-type invocation was accepted (202): `AsyncInvocationFinished` brings its result."""


@dataclass
class AsyncInvocationFinished(Message):
    """An async (InvocationType=Event) invocation finished; `record` is its `InvocationRecord`."""

    record: Any


@dataclass
class InvokeFailed(Message):
    """The studio could not get an answer (gateway unreachable, client timeout)."""

    request_id: str
    reason: str


@dataclass
class StoreChanged(Message):
    """Some process (the studio's recorder, `serve`, `funcstudio invoke` elsewhere) committed to the
    store; a burst of commits collapses into one refresh."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


@dataclass
class InvocationLoaded(Message):
    """One invocation in full (response, logs, frames), read from the store."""

    record: Any
    """A `studio.runtime.invocation.InvocationRecord`."""
    purpose: str = "show"
    """show | open (from a log line: focus its trace or response) | replay-base"""


@dataclass
class OpenLocation(Message):
    """Open a project file at a line in the editor (from a trace frame or a problem)."""

    file: str
    line: int | None = None


@dataclass
class SaveRequestWanted(Message):
    """The user asked to save the shown request (alt+s); `draft` is what the invoke panel holds."""

    draft: Any
    """A `studio.tui.request_model.RequestDraft`."""


@dataclass
class OpenRequestWanted(Message):
    """The user asked to open a saved request (alt+l) for `function_id`; the handler calls
    `InvokePanel.load_request(draft)` with what was chosen."""

    function_id: str | None


@dataclass
class ReplayCompleted(Message):
    before: Any
    after: Any

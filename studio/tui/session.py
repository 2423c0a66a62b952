"""The studio's engine without a UI: discovery, the runtime wired to the store exactly as `serve`
wires it, and one channel to it.

    session = StudioSession(root, port=0, listener=on_event)   # on_event runs on other threads
    project = session.load()
    url = session.start()               # Runtime + store.wiring.record_runtime, as `serve`
    answer = session.invoke(spec)       # blocking: call it from a thread worker
    session.stop()

Every invocation, replay, record and route listing goes to the runtime's gateway over loopback
HTTP (the control API for functions invoked by id), so the studio sees exactly what `curl` and
`funcstudio invoke` see and never runs user code in its own process. What the runtime and the store
report arrives through `listener`: `ProjectChanged`, `InstanceExited`, `DebugPaused` and
`DebugResumed` (runtime events),
`AsyncFinished` for an Event-type invocation's result, `StoreCommitted` and `StoreProblem`.

No Textual here (tests/tui/test_session.py checks): the app is a shell that drives this object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.runtime.invocation import InvocationRecord

if TYPE_CHECKING:
    from studio.project.model import Project
    from studio.project.settings import Settings
    from studio.runtime.server import Runtime
    from studio.store.wiring import Recording
    from studio.tui.request_model import RequestSpec


@dataclass(frozen=True)
class AsyncFinished:
    """An Event-type (async) invocation finished: its result, for the view that sent it."""

    record: InvocationRecord


@dataclass(frozen=True)
class StoreCommitted:
    """The store committed a batch: new log lines and finished invocations are readable."""

    logs: int
    last_log_id: int
    invocations: int


@dataclass(frozen=True)
class StoreProblem:
    """One sentence from the store (recording off, a fresh store, invocations dropped)."""

    sentence: str


@dataclass(frozen=True)
class Answer:
    """What one invocation answered. `duration_ms` is the runtime's own number (the record's), the
    one every view shows; `wall_ms` is the HTTP round trip, used only when there is no record."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    wall_ms: float
    record: InvocationRecord | None = None
    accepted: bool = False
    """An Event-type invocation was accepted (202): the result arrives later as `AsyncFinished`."""
    request_id: str | None = None

    @property
    def duration_ms(self) -> float:
        return self.record.duration_ms if self.record is not None else self.wall_ms


class SessionError(RuntimeError):
    """The runtime is not running, or the gateway could not be reached; the message says which."""


class StudioSession:
    def __init__(self, root: str | Path, *, host: str | None = None, port: int | None = None,
                 listener: Callable[[object], None] | None = None) -> None:
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.listener = listener or (lambda event: None)
        self.project: Project | None = None
        self.settings: Settings | None = None
        self.runtime: Runtime | None = None
        self.recording: Recording | None = None
        self.url: str | None = None
        self.logs = None
        """`studio.tui.log_source.LogSource` over the store, once it can be read."""
        self.invocations = None
        """`studio.tui.invocation_source.InvocationSource` (history pages, saved requests)."""
        self._unsubscribe = None

    # -- start and stop ------------------------------------------------------------------

    def load(self) -> Project:
        """Settings and discovery; raises what discovery raises (the caller shows it)."""
        from studio.project.loader import load_project
        from studio.project.settings import load_settings

        self.settings, _problems = load_settings(self.root)
        self.project = load_project(self.root)
        return self.project

    def start(self) -> str:
        """Start the runtime, recorded into the store by `record_runtime` (as `serve` does); a taken
        port falls back to a free one. Returns the gateway's URL."""
        from studio.runtime.server import PortInUse, Runtime
        from studio.store.wiring import record_runtime

        if self.project is None:
            self.load()
        port = self.port if self.port is not None else self.settings.port
        runtime = Runtime(self.root, self.settings, host=self.host, port=port, project=self.project)
        self.recording = record_runtime(runtime, on_problem=lambda sentence: self.listener(StoreProblem(sentence)))
        self.recording.recorder.add_listener(self._on_commit)
        self._unsubscribe = runtime.bus.subscribe(self._on_event)
        self.runtime = runtime
        try:
            try:
                self.url = runtime.start()
            except PortInUse:
                runtime.port = 0
                runtime.gateway.port = 0
                self.url = runtime.start()
        except BaseException:
            self.stop()
            raise
        return self.url

    def open_store(self) -> bool:
        """Readers over the store (False when recording is off and there is no store to read)."""
        from studio.store.db import db_path
        from studio.tui.invocation_source import InvocationSource
        from studio.tui.log_source import LogSource

        recorder = self.recording.recorder if self.recording is not None else None
        path = db_path(self.root)
        if recorder is not None and not recorder.recording and not path.exists():
            return False
        self.logs = LogSource(path)
        self.invocations = InvocationSource(path, writer=recorder)
        return True

    def stop(self) -> None:
        """Stop the runtime (every worker killed) and flush the store; safe to call twice."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            runtime.stop()
        recording, self.recording = self.recording, None
        if recording is not None:
            recording.close()

    @property
    def recorder(self):
        return self.recording.recorder if self.recording is not None else None

    def _on_event(self, event) -> None:
        """On the runtime's threads: forward what a view shows, never block."""
        from studio.runtime.debug import DebugPaused, DebugResumed
        from studio.runtime.events import InstanceExited, InvocationFinished, ProjectChanged

        if isinstance(event, ProjectChanged):
            if self.runtime is not None:
                self.project = self.runtime.project
            self.listener(event)
        elif isinstance(event, (InstanceExited, DebugPaused, DebugResumed)):
            self.listener(event)
        elif isinstance(event, InvocationFinished) and event.record.trigger == "async":
            self.listener(AsyncFinished(event.record))

    def _on_commit(self, info) -> None:
        """On the store writer's thread after each commit."""
        if info.logs or info.invocations:
            self.listener(StoreCommitted(info.logs, info.last_log_id or 0, info.invocations))

    # -- the one channel: the gateway over loopback ------------------------------------

    def _client(self, timeout: float | None = 120.0):
        from studio.tui.gateway_client import GatewayClient

        if self.url is None:
            raise SessionError("the runtime is not running")
        return GatewayClient(self.url, timeout=timeout)

    def invoke(self, spec: RequestSpec, *, extra_headers: list[tuple[str, str]] | None = None,
               timeout: float | None = 120.0) -> Answer:
        """Send one request: an HTTP request to a route, or an SCF/CocoBase event to a function by id
        through the control API. `extra_headers`: the debugger's marks; `timeout` None waits as long as
        a breakpoint holds it. Raises SessionError when the gateway cannot be reached."""
        from studio.tui.gateway_client import REQUEST_ID_HEADER

        client = self._client(timeout)
        extra = list(extra_headers or [])
        try:
            if spec.mode == "scf" and spec.function_id:
                response = client.invoke_function(spec.function_id, spec.body.encode("utf-8"), spec.invocation_type,
                                                  extra_headers=extra)
                data = _json(response.body)
                if response.status == 202 and isinstance(data, dict) and data.get("accepted"):
                    return Answer(202, tuple(response.headers), response.body, response.duration_ms,
                                  accepted=True, request_id=data.get("request_id"))
                record = _record(data)
                if record is not None:
                    return Answer(record.status or response.status, record.response_headers,
                                  record.response_body, response.duration_ms, record, request_id=record.request_id)
                return Answer(response.status, tuple(response.headers), response.body, response.duration_ms)
            response = client.request(spec.method, spec.target, [*spec.headers, *extra], spec.body.encode("utf-8"))
            request_id = response.header(REQUEST_ID_HEADER)
            record = _record(client.invocation(request_id)) if request_id else None
        except OSError as exc:
            raise SessionError(f"gateway unreachable: {exc}") from exc
        return Answer(response.status, tuple(response.headers), response.body, response.duration_ms, record,
                      request_id=request_id)

    def record(self, request_id: str) -> InvocationRecord | None:
        """One invocation in full: the store's copy (the control API answers from it), else the
        runtime's recent memory; None when neither has it."""
        if self.invocations is not None:
            try:
                found = self.invocations.record(request_id)
            except Exception:  # noqa: BLE001 - a busy store: ask the runtime instead
                found = None
            if found is not None:
                return found
        try:
            return _record(self._client(timeout=5).invocation(request_id))
        except (OSError, SessionError):
            return None

    def replay(self, before: InvocationRecord) -> InvocationRecord | None:
        """Send `before`'s request again against the current code; the new invocation's record."""
        from studio.tui.request_model import RequestSpec

        body = before.request_body.decode("utf-8", "replace")
        if before.trigger in ("invoke", "async") and before.function_id:
            spec = RequestSpec(mode="scf", method="POST", function_id=before.function_id, body=body or "{}")
        else:
            headers = [(k, v) for k, v in before.request_headers
                       if k.lower() not in ("host", "content-length") and v != "[redacted]"]
            spec = RequestSpec(method=before.method or "GET", path=before.path or "/", headers=headers, body=body)
            if before.query_string:
                spec.path = f"{spec.path}?{before.query_string}"
        answer = self.invoke(spec)
        return answer.record

    def inner_routes(self) -> dict[str, list]:
        """function id -> the routes its framework app reported (Flask url_map, FastAPI routes...)."""
        try:
            response = self._client(timeout=5).request("GET", "/__funcstudio/routes")
            routes = json.loads(response.body).get("routes", [])
        except (OSError, ValueError, AttributeError, SessionError):
            return {}
        return {r["function_id"]: r["inner_routes"] for r in routes if r.get("inner_routes")}

    def restart_instances(self) -> int:
        """Retire every function's instances (the next request starts fresh); how many were retired."""
        runtime = self.runtime
        if runtime is None:
            return 0
        return len(runtime.supervisor.retire([fn.id for fn in runtime.project.functions], "stale"))


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def _record(data) -> InvocationRecord | None:
    """The control API's JSON as the shared view (None for anything else)."""
    if not isinstance(data, dict) or "request_id" not in data:
        return None
    try:
        return InvocationRecord.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None

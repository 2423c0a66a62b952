"""Debugging invocations from outside the worker: breakpoints, pauses and commands, UI-free.

The runtime owns one `DebugHub` (`runtime.debug`). Clients (the studio's debug pane, `invoke
--break/--pdb`, tests) use the same API:

    hub.toggle(file, line)             session breakpoints, by absolute file and line
    hub.stop_on_exception = True       post-mortem at the raising frame of an uncaught exception
    hub.all_requests = True            apply them to every request (curl, a browser), not only the
                                       ones marked with the `X-Funcstudio-Debug` header / invoke_function
    bus: DebugPaused(pause)            published when an invocation stops (see `Pause`)
    hub.command(request_id, "next")    continue | step | next | return | up | down | detach | quit
    hub.select_frame(request_id, 2)    move the selection in the stack (a new DebugPaused follows)
    hub.evaluate(request_id, "x + 1")  in the selected frame; returns an `Evaluation`

A paused invocation keeps its instance busy (no other request reaches it) and its deadline stands
still; `quit` ends it with fault `debugger-quit`. Pausing happens in the worker (worker/debugger.py).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from dataclasses import dataclass, field

DEBUG_HEADER = "X-Funcstudio-Debug"
"""A request carrying this header gets the session breakpoints even when `all_requests` is off."""
PROFILE_HEADER = "X-Funcstudio-Profile"
"""A request carrying this header runs under cProfile in the worker (the record's `profile`)."""
RESUMING = ("continue", "step", "next", "return", "detach", "quit")
COMMANDS = (*RESUMING, "up", "down")


@dataclass(frozen=True)
class Breakpoint:
    file: str
    """Absolute, symlinks resolved."""
    line: int
    condition: str | None = None

    def to_wire(self) -> dict:
        return {"file": self.file, "line": self.line, "condition": self.condition}


@dataclass(frozen=True)
class StackFrame:
    file: str
    line: int
    function: str
    source: str = ""
    is_user: bool = True


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    value: str
    """repr, capped."""
    children: tuple[Variable, ...] = ()
    """One level of a container's items or an object's attributes."""


@dataclass(frozen=True)
class Pause:
    """Where a debugged invocation stands, as the worker reported it."""

    request_id: str
    function_id: str | None
    instance_id: str | None
    reason: str
    """breakpoint | step | return | exception"""
    stack: tuple[StackFrame, ...]
    """Outermost first; the worker's own frames are left out."""
    index: int
    """The selected frame (evaluate runs there)."""
    locals: tuple[Variable, ...] = ()
    """Of the selected frame."""
    return_value: str | None = None
    exception: str | None = None
    """`Type: message` when paused post-mortem."""
    thread: str = ""
    seq: int = 0
    """Increases with every report, so a view can tell a fresh pause from a re-selection."""

    @property
    def frame(self) -> StackFrame:
        return self.stack[self.index]


@dataclass(frozen=True)
class Evaluation:
    expression: str
    value: str | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        return self.error if self.error is not None else (self.value or "")


@dataclass(frozen=True)
class DebugPaused:
    """Bus event: an invocation stopped (or its selected frame changed)."""

    pause: Pause


@dataclass(frozen=True)
class DebugResumed:
    """Bus event: a paused invocation was told to go on (`command` says how), or ended while paused
    (`command` is "ended")."""

    request_id: str
    command: str


class BreakpointError(ValueError):
    """A breakpoint that can never stop: no such file, no such line, a blank or comment line."""


def resolve_breakpoint(file: str, line: int, root: str | os.PathLike | None = None,
                       condition: str | None = None) -> Breakpoint:
    """A checked breakpoint: FILE absolute, or relative to the current folder, or to `root`."""
    candidates = [file] if os.path.isabs(file) else [os.path.join(os.getcwd(), file)]
    if root is not None and not os.path.isabs(file):
        candidates.append(os.path.join(os.fspath(root), file))
    path = next((c for c in candidates if os.path.isfile(c)), None)
    if path is None:
        raise BreakpointError(f"{file}: no such file")
    path = os.path.realpath(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise BreakpointError(f"{file}: {exc.strerror or exc}") from None
    if not 1 <= line <= len(lines):
        raise BreakpointError(f"{file}:{line}: the file has {len(lines)} lines")
    text = lines[line - 1].strip()
    if not text or text.startswith("#"):
        raise BreakpointError(f"{file}:{line}: a blank or comment line never runs; pick a line with code")
    return Breakpoint(path, int(line), condition or None)


def pause_from_wire(message: dict, function_id: str | None, instance_id: str | None, seq: int) -> Pause:
    def variable(item: dict) -> Variable:
        return Variable(str(item.get("name", "")), str(item.get("type", "")), str(item.get("value", "")),
                        tuple(variable(child) for child in item.get("children") or ()))

    stack = tuple(StackFrame(str(f.get("file", "")), int(f.get("line") or 0), str(f.get("function", "")),
                             str(f.get("source") or ""), bool(f.get("is_user", True)))
                  for f in message.get("stack") or ())
    exception = message.get("exception")
    return Pause(
        request_id=str(message.get("request_id") or ""), function_id=function_id, instance_id=instance_id,
        reason=str(message.get("reason") or "breakpoint"), stack=stack,
        index=min(max(int(message.get("index") or 0), 0), max(len(stack) - 1, 0)),
        locals=tuple(variable(item) for item in message.get("locals") or ()),
        return_value=message.get("return_value"),
        exception=f"{exception.get('type')}: {exception.get('message')}" if isinstance(exception, dict) else None,
        thread=str(message.get("thread") or ""), seq=seq,
    )


@dataclass
class _Session:
    """One debugged invocation in flight (attached by the supervisor for its duration)."""

    request_id: str
    function_id: str | None
    instance: object
    pause: Pause | None = None
    waiting: dict = field(default_factory=dict)
    """evaluation id -> [threading.Event, Evaluation | None]"""


class DebugHub:
    def __init__(self, bus) -> None:
        self.bus = bus
        self.stop_on_exception = False
        self.all_requests = False
        self.profile_requests = False
        """Profile every request (cProfile in the worker) while set, not only marked ones."""
        self.external_debugger = False
        """A DAP client may hold instances at its breakpoints (`serve --debugpy`): deadlines are lifted,
        since the runtime cannot see those pauses."""
        self._breakpoints: dict[tuple[str, int], Breakpoint] = {}
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    # -- breakpoints ---------------------------------------------------------------------------

    def breakpoints(self) -> list[Breakpoint]:
        with self._lock:
            return sorted(self._breakpoints.values(), key=lambda b: (b.file, b.line))

    def add(self, breakpoint: Breakpoint) -> None:
        with self._lock:
            self._breakpoints[(breakpoint.file, breakpoint.line)] = breakpoint

    def remove(self, file: str, line: int) -> bool:
        with self._lock:
            return self._breakpoints.pop((os.path.realpath(file), int(line)), None) is not None

    def toggle(self, file: str, line: int, condition: str | None = None) -> bool:
        """Set the breakpoint, or clear it when it is set; True when it is set afterwards."""
        key = (os.path.realpath(file), int(line))
        with self._lock:
            if key in self._breakpoints:
                del self._breakpoints[key]
                return False
            self._breakpoints[key] = Breakpoint(key[0], key[1], condition or None)
            return True

    def clear(self) -> None:
        with self._lock:
            self._breakpoints.clear()

    def shift_lines(self, file: str, after: int, delta: int) -> None:
        """Lines were inserted (delta > 0) or removed below line `after` of `file`: its breakpoints
        past that line move with their code (one that was removed lands on the line after `after`)."""
        path = os.path.realpath(file)
        with self._lock:
            moved = [b for b in self._breakpoints.values() if b.file == path and b.line > after]
            for b in moved:
                del self._breakpoints[(b.file, b.line)]
            for b in moved:
                line = max(after + 1, b.line + delta)
                self._breakpoints.setdefault((path, line), Breakpoint(path, line, b.condition))

    def spec(self) -> dict | None:
        """What an invocation's request carries (None when there is nothing to stop at)."""
        breakpoints = self.breakpoints()
        if not breakpoints and not self.stop_on_exception:
            return None
        return {"breakpoints": [b.to_wire() for b in breakpoints], "stop_on_exception": self.stop_on_exception}

    def spec_for_request(self, marked: bool) -> dict | None:
        return self.spec() if (marked or self.all_requests) else None

    # -- sessions (the supervisor's side) ------------------------------------------------------

    def attach(self, request_id: str, function_id: str | None, instance) -> _Session:
        session = _Session(request_id, function_id, instance)
        with self._lock:
            self._sessions[request_id] = session
        return session

    def detach(self, request_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(request_id, None)
        if session is None:
            return
        for slot in list(session.waiting.values()):  # a pending evaluate must not wait forever
            slot[1] = slot[1] or Evaluation("", error="the invocation ended")
            slot[0].set()
        if session.pause is not None:  # it ended while paused (killed, crashed): views must let go of it
            self.bus.publish(DebugResumed(request_id, "ended"))

    def on_frame(self, session: _Session, message: dict) -> None:
        """A `paused` or `evaluated` frame from the session's worker."""
        if message.get("type") == "evaluated":
            slot = session.waiting.get(message.get("id"))
            if slot is not None:
                slot[1] = Evaluation(str(message.get("expression") or ""), message.get("value"), message.get("error"))
                slot[0].set()
            return
        pause = pause_from_wire(dict(message, request_id=session.request_id), session.function_id,
                                str(getattr(session.instance, "id", "") or ""), next(self._seq))
        session.pause = pause
        self.bus.publish(DebugPaused(pause))

    # -- control (the clients' side) -----------------------------------------------------------

    def paused(self) -> list[Pause]:
        with self._lock:
            return [s.pause for s in self._sessions.values() if s.pause is not None]

    def pause(self, request_id: str) -> Pause | None:
        session = self._sessions.get(request_id)
        return session.pause if session is not None else None

    def command(self, request_id: str, command: str) -> bool:
        """Send a command to a paused invocation; False when it is not paused (or gone)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown debugger command {command!r}; one of {', '.join(COMMANDS)}")
        session = self._sessions.get(request_id)
        if session is None or session.pause is None:
            return False
        if command in RESUMING:
            session.pause = None
        sent = session.instance.debug_command({"command": command})
        if sent and command in RESUMING:
            self.bus.publish(DebugResumed(request_id, command))
        return sent

    def select_frame(self, request_id: str, index: int) -> bool:
        session = self._sessions.get(request_id)
        if session is None or session.pause is None:
            return False
        return session.instance.debug_command({"command": "frame", "index": int(index)})

    def evaluate(self, request_id: str, expression: str, mode: str = "p", timeout: float = 30.0) -> Evaluation:
        """Evaluate in the selected frame (`mode`: p = repr, pp = pretty, exec = a statement)."""
        session = self._sessions.get(request_id)
        if session is None or session.pause is None:
            return Evaluation(expression, error="the invocation is not paused")
        ident = f"e{next(self._seq)}"
        slot: list = [threading.Event(), None]
        session.waiting[ident] = slot
        try:
            if not session.instance.debug_command({"command": "evaluate", "expression": expression,
                                                   "mode": mode, "id": ident}):
                return Evaluation(expression, error="the instance is gone")
            if not slot[0].wait(timeout):
                return Evaluation(expression, error=f"no answer within {timeout:g} s (is the expression still running?)")
            return slot[1]
        finally:
            session.waiting.pop(ident, None)


class Pauses:
    """A bus subscriber for clients that wait on a debugged invocation (the CLI prompt, tests):
    `next()` gives the next `Pause`, or the `InvocationRecord` when an invocation finishes."""

    def __init__(self, request_id: str | None = None) -> None:
        self.request_id = request_id
        self._queue: queue.Queue = queue.Queue()

    def __call__(self, event) -> None:
        from studio.runtime.events import InvocationFinished

        if isinstance(event, DebugPaused):
            if self.request_id in (None, event.pause.request_id):
                self._queue.put(event.pause)
        elif isinstance(event, InvocationFinished):
            if self.request_id in (None, event.record.request_id):
                self._queue.put(event.record)

    def next(self, timeout: float | None = None):
        """The next Pause or finished InvocationRecord; None when nothing came within `timeout`."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

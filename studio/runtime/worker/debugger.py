"""A debugger inside the worker (standard library `bdb`), driven over the frame channel.

An invocation's request may carry `debug: {breakpoints: [{file, line, condition}], stop_on_exception}`.
While it runs, a breakpoint hit (or a step landing) sends a `paused` frame and the thread that hit
it blocks reading `debug` command frames from the supervisor: continue, step, next, return, up,
down, frame, evaluate, detach, quit. An uncaught exception (whatever the adapter reports as the
invocation's error) opens a post-mortem pause at the raising frame when `stop_on_exception` is set.

Frameworks run user code on their own threads (a FastAPI `def` endpoint runs in anyio's thread
pool), so the trace is installed for new threads too, and on Pythons without
`threading.settrace_all_threads` the pools that already have idle threads are recycled first.
"""

from __future__ import annotations

import bdb
import os
import pprint
import sys
import threading
import time

from . import capture, protocol

RESUMING = ("continue", "step", "next", "return", "detach", "quit")
CHILDREN_PER_VALUE = 30
_BDB_FILE = os.path.realpath(bdb.__file__)


def start(runtime, adapter, spec) -> Session | None:
    """A session for this invocation when its request asked for one (else None)."""
    if not isinstance(spec, dict):
        return None
    session = Session(runtime, spec)
    session.activate(adapter)
    return session


class Session(bdb.Bdb):
    def __init__(self, runtime, spec: dict) -> None:
        super().__init__()
        self.clear_all_breaks()  # bdb keeps breakpoints class-wide: drop an earlier invocation's
        self.runtime = runtime
        self.sock = runtime.channel.sock
        self.request_id = None
        self.stop_on_exception = bool(spec.get("stop_on_exception"))
        self.quit_requested = False
        self.paused_s = 0.0
        self.closed = False
        self.problems: list[str] = []
        self._canonic: dict[str, str] = {}
        self._lock = threading.RLock()
        self._post_mortem_done: set[int] = set()
        self._stepping = False
        self._stepping_thread: int | None = None
        for item in spec.get("breakpoints") or ():
            try:
                path, line = self.canonic(str(item["file"])), int(item["line"])
            except (KeyError, TypeError, ValueError):
                continue
            problem = self.set_break(path, line, cond=item.get("condition") or None)
            if problem:
                self.problems.append(str(problem))

    # -- installing the trace ------------------------------------------------------------------

    def activate(self, adapter) -> None:
        if not self.breaks:
            return  # stop-on-exception only: post-mortem needs no trace, so the call runs at full speed
        # not bdb's reset(): its linecache.checkcache() stats every cached file on each request
        here = sys._getframe(2)  # the worker's own frame that calls the adapter: the bottom of the stack
        self.botframe = here
        self._set_stopinfo(here, None, -1)  # run until a breakpoint
        _recycle_pooled_threads(adapter)
        if hasattr(threading, "settrace_all_threads"):
            threading.settrace_all_threads(self.trace_dispatch)
        else:
            threading.settrace(self.trace_dispatch)
        sys.settrace(self.trace_dispatch)

    def close(self) -> None:
        self.closed = True
        sys.settrace(None)
        threading.settrace(None)
        self.clear_all_breaks()

    def canonic(self, filename: str) -> str:
        if filename.startswith("<") and filename.endswith(">"):
            return filename
        found = self._canonic.get(filename)
        if found is None:
            found = self._canonic[filename] = os.path.realpath(filename)
        return found

    def trace_dispatch(self, frame, event, arg):
        if self.closed:
            sys.settrace(None)  # a pooled thread that outlived the invocation stops tracing itself
            return None
        return super().trace_dispatch(frame, event, arg)

    def stop_here(self, frame) -> bool:
        if _is_internal(frame.f_code.co_filename):
            return False
        if self._stepping and threading.get_ident() != self._stepping_thread:
            return False  # a step belongs to the thread that took it (breakpoints still stop any thread)
        return super().stop_here(frame)

    def break_here(self, frame) -> bool:
        if _is_internal(frame.f_code.co_filename):
            return False
        return super().break_here(frame)

    # -- bdb hooks ---------------------------------------------------------------------------------

    def user_call(self, frame, argument_list) -> None:
        pass  # stepping stops at the first line of the call, not at the call event

    def user_line(self, frame) -> None:
        reason = "step" if self._stepping else "breakpoint"
        self._interaction(frame, None, reason)

    def user_return(self, frame, return_value) -> None:
        if not self._stepping or _is_internal(frame.f_code.co_filename):
            return
        self._interaction(frame, None, "return", return_value=return_value)

    def user_exception(self, frame, exc_info) -> None:
        pass  # uncaught exceptions are handled post-mortem (`post_mortem`), caught ones are not stops

    # -- post-mortem -------------------------------------------------------------------------------

    def post_mortem(self, exc: BaseException) -> None:
        """Pause at the raising frame of an exception the invocation reports as its error."""
        if not self.stop_on_exception or self.closed or self.quit_requested or id(exc) in self._post_mortem_done:
            return
        self._post_mortem_done.add(id(exc))
        if exc.__traceback__ is None:
            return
        self._interaction(None, exc.__traceback__, "exception", exception=exc)

    # -- one pause ---------------------------------------------------------------------------------

    def _interaction(self, frame, tb, reason: str, *, return_value=None, exception=None) -> None:
        with self._lock:
            if self.closed:
                return
            stack = _stack(frame, tb)
            if not stack:
                return
            index = _selected(stack, exception is not None, self.runtime.project_root)
            started = time.monotonic()
            try:
                self._pause_loop(stack, index, reason, frame is None, return_value, exception)
            finally:
                self.paused_s += time.monotonic() - started

    def _pause_loop(self, stack, index, reason, post_mortem, return_value, exception) -> None:
        namespaces: dict[int, dict] = {}

        def scope(i):
            target = stack[i][0]
            if i not in namespaces:
                namespaces[i] = target.f_locals  # one dict per frame, so assignments stick (as in pdb)
            return target.f_globals, namespaces[i]

        self._send_paused(stack, index, reason, return_value, exception)
        while True:
            message = self._next_command()
            command = str(message.get("command") or "")
            if command in RESUMING:
                self._resume(command, stack[index][0], post_mortem)
                return
            if command in ("up", "down", "frame"):
                if command == "up":
                    index = max(0, index - 1)
                elif command == "down":
                    index = min(len(stack) - 1, index + 1)
                else:
                    try:
                        index = min(max(0, int(message.get("index", index))), len(stack) - 1)
                    except (TypeError, ValueError):
                        pass
                self._send_paused(stack, index, reason, return_value, exception)
            elif command == "evaluate":
                global_ns, local_ns = scope(index)
                self.runtime.channel.send(_evaluate(message, global_ns, local_ns))

    def _resume(self, command: str, frame, post_mortem: bool) -> None:
        self._stepping = command in ("step", "next", "return")
        self._stepping_thread = threading.get_ident()
        if command in ("detach", "quit"):
            self.stop_on_exception = False
        if post_mortem:
            return  # the exception already unwound: every resuming command lets the invocation finish
        if command == "quit":
            self.quit_requested = True
        if command == "step":
            self.set_step()
        elif command == "next":
            self.set_next(frame)
        elif command == "return":
            self.set_return(frame)
        elif command == "quit":
            self.set_quit()
        else:
            if command == "detach":
                self.clear_all_breaks()
            self.set_continue()

    def _next_command(self) -> dict:
        while True:
            try:
                message, _blob = protocol.recv_frame(self.sock)
            except protocol.ProtocolError:
                os._exit(1)  # the supervisor is gone: nobody will ever resume this pause
            kind = message.get("type")
            if kind == "debug":
                return message
            if kind == "shutdown":
                os._exit(0)

    def _send_paused(self, stack, index, reason, return_value, exception) -> None:
        frame, line = stack[index]
        project_root = self.runtime.project_root
        message = {
            "type": "paused", "request_id": self.runtime.current().request_id, "reason": reason,
            "file": _filename(frame), "line": line, "function": frame.f_code.co_name,
            "index": index, "thread": threading.current_thread().name,
            "stack": [_frame_json(f, n, project_root) for f, n in stack],
            "locals": _locals_json(frame),
        }
        if reason == "return":
            message["return_value"] = capture._safe_repr(return_value)
        if exception is not None:
            message["exception"] = {"type": type(exception).__name__, "message": capture._safe_str(exception)}
        self.runtime.channel.send(message)

    def result_fields(self) -> dict:
        fields = {"paused_ms": round(self.paused_s * 1000.0, 3)}
        if self.quit_requested:
            fields["debugger_quit"] = True
        if self.problems:
            fields["debug_problems"] = self.problems
        return fields


# -- what a pause shows ------------------------------------------------------------------------


def _is_internal(filename: str) -> bool:
    return capture._is_runtime(filename) or filename == _BDB_FILE or filename.endswith("/bdb.py")


def _stack(frame, tb) -> list[tuple[object, int]]:
    """(frame, line) from the outermost frame the user can see to the innermost."""
    found = []
    if tb is not None:
        for tb_frame, line in _walk_tb(tb):
            found.append((tb_frame, line))
    else:
        current = frame
        while current is not None:
            found.append((current, current.f_lineno))
            current = current.f_back
        found.reverse()
    return [(f, n) for f, n in found if not _is_internal(f.f_code.co_filename)]


def _walk_tb(tb):
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _selected(stack, post_mortem: bool, project_root: str) -> int:
    """The innermost frame; post-mortem, the innermost frame of the user's code (the raise site)."""
    if post_mortem:
        for i in range(len(stack) - 1, -1, -1):
            if capture.is_user_file(_filename(stack[i][0]), project_root):
                return i
    return len(stack) - 1


def _filename(frame) -> str:
    name = frame.f_code.co_filename
    return name if name.startswith("<") else os.path.realpath(name)


def _frame_json(frame, line: int, project_root: str) -> dict:
    name = _filename(frame)
    return {"file": name, "line": line, "function": frame.f_code.co_name,
            "source": capture._source_line(frame.f_code.co_filename, line, frame.f_globals),
            "is_user": capture.is_user_file(name, project_root)}


def _locals_json(frame) -> list[dict]:
    items = []
    for name, value in list(frame.f_locals.items())[: capture.LOCALS_PER_FRAME]:
        if name.startswith("__") and name.endswith("__"):
            continue
        entry = {"name": str(name), "type": type(value).__name__, "value": capture._safe_repr(value)}
        children = _children(value)
        if children:
            entry["children"] = children
        items.append(entry)
    return items


def _children(value) -> list[dict]:
    """One level of a container or object, for the studio's expandable locals."""
    try:
        if isinstance(value, (str, bytes, bytearray, int, float, bool, type(None))):
            return []
        if isinstance(value, dict):
            pairs = [(repr(k), v) for k, v in list(value.items())[:CHILDREN_PER_VALUE]]
        elif isinstance(value, (list, tuple)):
            pairs = [(f"[{i}]", v) for i, v in enumerate(value[:CHILDREN_PER_VALUE])]
        elif isinstance(value, (set, frozenset)):
            pairs = [("·", v) for v in list(value)[:CHILDREN_PER_VALUE]]
        else:
            attributes = getattr(value, "__dict__", None)
            if not isinstance(attributes, dict):
                return []
            pairs = [(k, v) for k, v in list(attributes.items())[:CHILDREN_PER_VALUE] if not k.startswith("__")]
    except Exception:  # noqa: BLE001 - a hostile container shows no children, never breaks the pause
        return []
    return [{"name": str(k), "type": type(v).__name__, "value": capture._safe_repr(v)} for k, v in pairs]


def _evaluate(message: dict, global_ns: dict, local_ns: dict) -> dict:
    expression = str(message.get("expression") or "")
    mode = str(message.get("mode") or "p")
    reply = {"type": "evaluated", "id": message.get("id"), "expression": expression}
    try:
        if mode == "exec":
            exec(compile(expression, "<debugger>", "single"), global_ns, local_ns)  # noqa: S102 - the user's command
            reply["value"] = ""
        else:
            value = eval(compile(expression, "<debugger>", "eval"), global_ns, local_ns)  # noqa: S307
            text = pprint.pformat(value) if mode == "pp" else repr(value)
            reply["value"] = text if len(text) <= capture.RETURN_CAP else text[: capture.RETURN_CAP] + "…"
    except BaseException as exc:  # noqa: BLE001 - a failing expression is an answer, not a crash
        reply["error"] = f"{type(exc).__name__}: {capture._safe_str(exc)}"
    capture.flush_streams()
    return reply


# -- framework thread pools --------------------------------------------------------------------


def _recycle_pooled_threads(adapter) -> None:
    """Threads that already exist never see `threading.settrace`: ask idle pool threads to exit, so
    the pool starts traced ones for this invocation (Python < 3.12 has no settrace_all_threads)."""
    if hasattr(threading, "settrace_all_threads"):
        return
    runner = getattr(adapter, "asgi_runner", None)
    loop = getattr(runner, "loop", None)
    if loop is None or loop.is_closed():
        return
    executor = getattr(loop, "_default_executor", None)
    if executor is not None:
        loop._default_executor = None
        executor.shutdown(wait=False)
    backend = sys.modules.get("anyio._backends._asyncio")
    if backend is not None:
        try:
            loop.run_until_complete(_stop_idle_anyio_workers(backend))
        except Exception:  # noqa: BLE001 - anyio internals moved: pooled threads stay untraced
            pass
    asgiref = sys.modules.get("asgiref.sync")
    if asgiref is not None:
        from concurrent.futures import ThreadPoolExecutor

        converter = getattr(asgiref, "SyncToAsync", None)
        if converter is not None and isinstance(getattr(converter, "single_thread_executor", None),
                                                ThreadPoolExecutor):
            converter.single_thread_executor.shutdown(wait=False)
            converter.single_thread_executor = ThreadPoolExecutor(max_workers=1)


async def _stop_idle_anyio_workers(backend) -> None:
    idle = backend._threadpool_idle_workers.get(None)
    for worker in list(idle or ()):
        worker.stop()

"""One instance: load one entry file, then serve `invoke` frames one at a time.

Runs inside the worker process (forked by the zygote, or spawned). The adapter for the function's
platform (adapters.py) does the loading and shapes requests and responses; this loop owns the
channel, the capture, the per-invocation bookkeeping and the exits.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

from . import adapters, capture, debugger, environ_guard, pinned_source, profiling, protocol

_current = None  # the Invocation being served, for hooks that fire deep inside user code


def current():
    """The invocation in progress (None while loading or idle)."""
    return _current


class Invocation:
    """What one invocation accumulates besides its response."""

    def __init__(self, runtime: Runtime, request_id: str | None, request: dict) -> None:
        self.runtime = runtime
        self.request_id = request_id
        self.request = request
        self.warnings: list[dict] = []
        self.error: dict | None = None
        self.exception: BaseException | None = None
        self.logged_error: dict | None = None
        """An exception a framework logged (Flask, Django, Sanic do); it becomes `error` on a 5xx."""
        self.return_value: str | None = None
        self.outbox: list[dict] = []
        self.debug: debugger.Session | None = None
        """Set when the request asked for breakpoints or stop-on-exception."""
        self.app_path: str | None = None
        """The path a framework app received (after prefix stripping), for the record."""

    def warn(self, id: str, message: str, fix: str = "") -> None:
        if all(w["id"] != id for w in self.warnings):
            self.warnings.append({"id": id, "message": message, "fix": fix})

    def platform_log(self, text: str, level: str | None = None) -> None:
        """A line the platform prints; `level="ERROR"` for the ones that report a failure, so an
        errors-only view shows them."""
        self.runtime.capture.emit("platform", level, text)

    def set_error(self, exc: BaseException) -> dict:
        if self.exception is None:
            self.exception = exc
        if self.error is None:
            self.error = capture.error_info(exc, self.runtime.project_root)
        if self.debug is not None:
            self.debug.post_mortem(exc)
        return self.error

    def note_logged_exception(self, exc: BaseException) -> None:
        if self.logged_error is None:
            self.logged_error = capture.error_info(exc, self.runtime.project_root)
        if self.debug is not None:
            self.debug.post_mortem(exc)

    def set_return(self, value) -> None:
        self.return_value = capture.render_value(value)


class Runtime:
    """The instance's world: its config, channel and capture, shared with the adapter."""

    def __init__(self, sock: socket.socket, config: dict) -> None:
        self.config = config
        self.channel = capture.Channel(sock)
        self.capture = capture.Capture(self.channel, int(config.get("output_cap_bytes") or 1 << 20))
        self.project_root = os.path.realpath(config.get("project_root") or config["code_root"])
        self.code_root = os.path.realpath(config["code_root"])
        self.entry_path = os.path.realpath(config["entry_path"])
        self.entry_source = pinned_source.from_config(config)
        """The entry's bytes as the supervisor read them (compiled instead of the disk), or None."""
        self.quirks = config.get("quirks") or "platform"
        self.extra = config.get("extra") or {}
        self.load_invocation = Invocation(self, None, {})
        self._sent_modules: list[str] | None = None
        self._scanned_count = -1
        self._module_paths: dict[str, str] = {}
        given = os.path.abspath(config.get("project_root") or config["code_root"])
        self._root_prefixes = tuple({given.rstrip("/") + "/", self.project_root.rstrip("/") + "/"})

    @property
    def fixed(self) -> bool:
        return self.quirks == "fixed"

    def current(self) -> Invocation:
        return _current or self.load_invocation

    def project_modules(self) -> list[str]:
        """Absolute paths of the project files imported so far (the entry included)."""
        found = set()
        cache = self._module_paths
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if not path or not isinstance(path, str):
                continue
            resolved = cache.get(path)
            if resolved is None:
                if path.startswith(self._root_prefixes):
                    real = os.path.realpath(path)
                    resolved = real if capture.is_user_file(real, self.project_root) else ""
                else:
                    resolved = ""  # outside the project (stdlib, site-packages): no syscall needed
                cache[path] = resolved
            if resolved:
                found.add(resolved)
        return sorted(found)

    def modules_if_changed(self) -> list[str] | None:
        count = len(sys.modules)
        if count == self._scanned_count:
            return None  # nothing imported or removed since the last scan: skip walking sys.modules
        self._scanned_count = count
        modules = self.project_modules()
        if modules == self._sent_modules:
            return None
        self._sent_modules = modules
        return modules


def current_invocation():
    """The invocation in progress, else the load (a module-level read warns on every invocation)."""
    return _current if _current is not None else (_runtime.load_invocation if _runtime is not None else None)


_runtime: Runtime | None = None


def _prepare_process(config: dict) -> None:
    code_root = os.path.realpath(config["code_root"])
    if os.path.isdir(code_root):  # a missing code folder is reported by the entry lookup (SCF 437), not a crash
        os.chdir(code_root)
    sys.path.insert(0, code_root)
    extra = config.get("extra") or {}
    if "process.base_env" in extra:  # production has only the project's variables, not the developer's shell
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in extra["process.base_env"].items()})
        environ_guard.install(extra.get("process.shell_only") or (), str(config.get("platform") or ""),
                              config.get("project_root") or code_root, current_invocation)
    for key, value in (config.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    sys.argv = [config["entry_path"]]


def run(sock: socket.socket, config: dict) -> int:
    """Load, report, serve; returns the process exit code."""
    global _current
    global _runtime
    runtime = _runtime = Runtime(sock, config)
    capture.install(runtime.capture, on_error_record=lambda exc: runtime.current().note_logged_exception(exc))
    _prepare_process(config)
    started = time.perf_counter()
    try:
        adapter = adapters.create(runtime)
    except SystemExit as exc:
        capture.flush_streams()
        runtime.channel.send({"type": "load_error", "error": capture.error_info(exc, runtime.project_root),
                              "modules": runtime.project_modules(),
                              "warnings": runtime.load_invocation.warnings})
        return _code(exc)
    except BaseException as exc:  # noqa: BLE001 - any failure to load is reported, not raised
        capture.flush_streams()
        runtime.channel.send({"type": "load_error", "error": capture.error_info(exc, runtime.project_root),
                              "modules": runtime.project_modules(),
                              "warnings": runtime.load_invocation.warnings})
        return 0
    capture.flush_streams()
    runtime.channel.send({
        "type": "ready", "init_ms": (time.perf_counter() - started) * 1000.0,
        "kind": adapter.kind, "framework": adapter.framework,
        "inner_routes": adapter.inner_routes, "modules": runtime.modules_if_changed() or [],
        "warnings": runtime.load_invocation.warnings,
    })
    capture.reset_peak_rss()  # each invocation's peak starts from here, not from the load
    next_request = _NextRequest(sock)
    try:
        while True:
            next_request.wait()
            try:
                message, blob = protocol.recv_frame(sock)
            except protocol.ProtocolError:
                break
            next_request.came()
            if message["type"] == "shutdown":
                break
            if message["type"] != "invoke":
                continue
            request = message.get("request") or {}
            invocation = Invocation(runtime, message.get("request_id") or request.get("request_id"), request)
            _serve_one(runtime, adapter, invocation, blob)
            next_request.answered()
    finally:
        _current = None
        try:
            adapter.close()
        except BaseException:  # noqa: BLE001 - shutdown hooks must not hang the exit
            pass
        capture.flush_streams()
    return 0


def _serve_one(runtime: Runtime, adapter, invocation: Invocation, body: bytes) -> None:
    global _current
    runtime.capture.begin(invocation.request_id)
    _current = invocation
    started = time.perf_counter()
    status, headers, response = None, [], b""
    invocation.debug = debugger.start(runtime, adapter, invocation.request.get("debug"))
    profiler = profiling.start(invocation.request.get("profile"))
    try:
        status, headers, response = adapter.invoke(invocation, invocation.request, body)
    except SystemExit as exc:
        capture.flush_streams()
        runtime.capture.send_held()  # the process ends next: the platform's lines go now
        error = capture.error_info(exc, runtime.project_root)
        runtime.channel.send({"type": "exiting", "request_id": invocation.request_id,
                              "code": _code(exc), "error": error})
        os._exit(_code(exc))
    except BaseException as exc:  # noqa: BLE001 - an adapter bug is still an answered invocation
        invocation.set_error(exc)
        status, headers, response = 500, [("Content-Type", "text/plain; charset=utf-8")], (
            f"funcstudio worker error: {type(exc).__name__}: {exc}".encode())
    finally:
        profile = profiler.stop(runtime.project_root) if profiler is not None else None
        if invocation.debug is not None:
            invocation.debug.close()
        capture.flush_streams()
        _current = None
    peak_kb = capture.peak_rss_kb()
    if invocation.error is None and invocation.logged_error is not None and (status or 0) >= 500:
        invocation.error = invocation.logged_error
    result = {
        "type": "result", "request_id": invocation.request_id, "status": status,
        "headers": [[str(k), str(v)] for k, v in headers], "return_value": invocation.return_value,
        "error": invocation.error, "warnings": runtime.load_invocation.warnings + invocation.warnings,
        "duration_ms": (time.perf_counter() - started) * 1000.0, "peak_memory_kb": peak_kb,
        "outbox": invocation.outbox,
    }
    if invocation.debug is not None:
        result.update(invocation.debug.result_fields())
        if invocation.debug.quit_requested:
            result["error"] = {"type": "DebuggerQuit", "message": "the debugger session ended the invocation",
                               "traceback": "DebuggerQuit: the debugger session ended the invocation\n",
                               "frames": []}
    if profile is not None:
        result["profile"] = profile
    if invocation.app_path is not None:
        result["app_path"] = invocation.app_path
    held = runtime.capture.take_held()
    if held:
        result["logs"] = held
    modules = runtime.modules_if_changed()
    if modules is not None:
        result["modules"] = modules
    runtime.capture.begin(None)
    runtime.channel.send(result, bytes(response or b""))
    capture.reset_peak_rss(peak_kb)  # after the answer: the next invocation's window, off the request's time


NEXT_SPIN_S = 0.0005
"""How long an instance whose requests come back to back polls for the next one after answering."""


class _NextRequest:
    """Before the blocking read of the next frame: when the last request came within `NEXT_SPIN_S`
    of the answer before it, poll for the next one that long first, giving the CPU to anything
    else runnable between polls. An instance asleep in recv costs a wake-up of its CPU when the
    request comes (in a VM an idle vCPU is halted: tens of microseconds, the largest single cost of
    a warm request); an instance serving a person's requests, seconds apart, never polls."""

    def __init__(self, sock) -> None:
        self._poller = select.poll() if hasattr(select, "poll") else None
        if self._poller is not None:
            self._poller.register(sock, select.POLLIN)
        self._answered_at: float | None = None
        self._back_to_back = False

    def answered(self) -> None:
        self._answered_at = time.perf_counter()

    def came(self) -> None:
        if self._answered_at is not None:
            self._back_to_back = time.perf_counter() - self._answered_at < NEXT_SPIN_S

    def wait(self) -> None:
        if not self._back_to_back or self._answered_at is None or self._poller is None:
            return
        end = self._answered_at + NEXT_SPIN_S
        poll, give_way = self._poller.poll, os.sched_yield
        while not poll(0):
            if time.perf_counter() >= end:
                return
            give_way()


def _code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def main_spawned(channel_fd: int) -> int:
    """Spawn mode: the config arrives as the first frame on the channel."""
    sock = socket.socket(fileno=channel_fd)
    message, _blob = protocol.recv_frame(sock)
    code = run(sock, message["config"])
    os._exit(code)

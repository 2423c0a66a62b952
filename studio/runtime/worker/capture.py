"""Everything an invocation prints, logs, returns and raises, sent to the supervisor as it happens.

Python-level writes to `sys.stdout`/`sys.stderr` and `logging` records become `log` frames at once.
Output that bypasses Python (C code, `os.write(1, ...)`, subprocesses) lands on fds 1 and 2, which
are pipes the supervisor reads itself, so nothing is lost when the instance is killed.

The platform's own lines (SCF's START/END, EdgeOne's request path and status) are held instead and
ride in the result frame, so an invocation that prints nothing costs one frame each way. They go
out as `log` frames of their own only when the invocation prints something (before that line, to
keep the order) or is still running `HOLD_S` later (so a kill loses none of them).
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
import traceback

from . import protocol

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
LOCAL_REPR_CAP = 300
LOCALS_PER_FRAME = 40
RETURN_CAP = 1 << 20
HOLD_S = 0.05
"""How long platform lines may wait for the result frame before they are streamed anyway."""
PARK_AFTER_S = 1.0
"""The holdover ticker sleeps until lines are held again after this long with none held."""
_NOT_USER_PARTS = ("/site-packages/", "/dist-packages/", "/.venv/", "/venv/", "/lib/python")


class Channel:
    """The frame socket to the supervisor; writes come from any thread."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self._lock = threading.Lock()
        self.broken = False

    def send(self, message: dict, blob: bytes = b"") -> None:
        if self.broken:
            return
        data = protocol.encode_frame(message, blob)
        with self._lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.broken = True


class Capture:
    """Turns writes and records into `log` frames for the current invocation, under a byte cap."""

    def __init__(self, channel: Channel, cap_bytes: int) -> None:
        self.channel = channel
        self.cap_bytes = max(int(cap_bytes or 0), 1024)
        self.request_id: str | None = None
        self._written = 0
        self._truncated = False
        self._lock = threading.Lock()
        self._held: list[list] = []
        """Platform lines of the running invocation not sent yet: [stream, level, time, text]."""
        self._held_at = 0.0
        """When the first of the held lines was held (monotonic)."""
        self._armed = threading.Event()
        self._parked = True
        """The ticker thread waits for lines to be held (or was never started)."""
        self._ticker: threading.Thread | None = None

    def begin(self, request_id: str | None) -> None:
        with self._lock:
            self.request_id = request_id
            self._written = 0
            self._truncated = False
            self._held = []

    def take_held(self) -> list[list]:
        """The platform lines still held (for the result frame); nothing is held afterwards."""
        with self._lock:
            held, self._held = self._held, []
        return held

    def _hold(self, level: str | None, text: str) -> bool:
        """Keep a platform line for the result frame; False when it must go out now."""
        with self._lock:
            if self.request_id is None:
                return False
            if not self._held:
                self._held_at = time.monotonic()
            self._held.append(["platform", level, time.time(), text])
        if self._parked:
            # Waking a thread on every invocation cost the request a GIL hand-off; under load the
            # ticker stays awake, so only the first invocation after a quiet second wakes it.
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._release_late, name="funcstudio-log-holdover",
                                                daemon=True)
                self._parked = False
                self._ticker.start()
            else:
                self._armed.set()
        return True

    def _release_late(self) -> None:
        """Stream held lines of an invocation still running `HOLD_S` after it held the first,
        checking every `HOLD_S / 2`; parks after `PARK_AFTER_S` with nothing held."""
        quiet = 0.0
        while True:
            if quiet >= PARK_AFTER_S:
                self._parked = True
                with self._lock:
                    nothing_held = not self._held
                if nothing_held:  # else a line was held just before `_parked` was seen: go on
                    self._armed.wait()
                self._armed.clear()
                self._parked = False
                quiet = 0.0
            time.sleep(HOLD_S / 2)
            with self._lock:
                held_at = self._held_at if self._held else None
            if held_at is None:
                quiet += HOLD_S / 2
            else:
                quiet = 0.0
                if time.monotonic() - held_at >= HOLD_S:
                    self.send_held()

    def send_held(self) -> None:
        with self._lock:
            held, self._held = self._held, []
            request_id = self.request_id
        for stream, level, when, text in held:
            self.channel.send({"type": "log", "request_id": request_id, "stream": stream,
                               "level": level, "time": when, "text": text})

    def emit(self, stream: str, level: str | None, text: str) -> None:
        if stream == "platform":
            if self._hold(level, text):
                return
        elif self._held:
            self.send_held()  # what the platform printed first goes first
        if stream != "platform":
            with self._lock:
                if self._truncated:
                    return
                self._written += len(text.encode("utf-8", "replace"))
                if self._written > self.cap_bytes:
                    self._truncated = True
                    self.channel.send({"type": "log", "request_id": self.request_id, "stream": stream,
                                       "level": None, "time": time.time(), "text": "",
                                       "truncated": True})
                    return
        self.channel.send({"type": "log", "request_id": self.request_id, "stream": stream,
                           "level": level, "time": time.time(), "text": text})


class LineStream(io.TextIOBase):
    """A text stream that sends each completed line as a `log` frame (partial lines on flush)."""

    def __init__(self, capture: Capture, stream: str, fd: int) -> None:
        super().__init__()
        self._capture = capture
        self._stream = stream
        self._fd = fd
        self._partial = ""
        self._lock = threading.RLock()
        self.buffer = _BytesToText(self)

    @property
    def encoding(self) -> str:
        return "utf-8"

    @property
    def errors(self) -> str:
        return "replace"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        stream, level = self._tag(text)
        with self._lock:
            data = self._partial + text
            *lines, self._partial = data.split("\n")
        for line in lines:
            self._capture.emit(stream, level, line)
        if len(self._partial) > 65536:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._partial:  # the usual case (flushed twice per invocation): nothing to send
            return
        stream, level = self._tag("")
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._capture.emit(stream, level, rest)

    def _tag(self, text: str) -> tuple[str, str | None]:
        """`logging` and the record's level while a logging handler of this thread writes a record."""
        handling = getattr(_handling, "record", None)
        if handling is None:
            return self._stream, None
        if text:
            handling.printed = True
        return "logging", handling.level


class _BytesToText:
    """`sys.stdout.buffer` for code that writes bytes."""

    def __init__(self, text_stream: LineStream) -> None:
        self._text = text_stream

    def write(self, data) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self._text.flush()

    def fileno(self) -> int:
        return self._text.fileno()


_MESSAGE_ONLY = logging.Formatter("%(message)s")
_handling = threading.local()
"""`.record`: the record this thread's logging handlers are writing, if any (see `_Handling`)."""


class _Handling:
    def __init__(self, level: str) -> None:
        self.level = level
        self.printed = False


def install(capture: Capture, on_error_record=None) -> None:
    """Route stdout/stderr and every logging record through `capture`.

    A record is one line, as production shows it: what the user's handler wrote to stdout/stderr
    (formatted their way), tagged `logging` with the record's level. Only a record that no handler
    printed (no handlers, a file handler, Python's last resort) is captured from the record itself.
    """
    replaced: list[tuple[object, LineStream]] = []  # (original stream, its capturing stream); kept alive
    for name, fd in (("stdout", 1), ("stderr", 2)):
        line_stream = LineStream(capture, name, fd)
        for old in (getattr(sys, name), getattr(sys, f"__{name}__")):
            if old is not None:
                replaced.append((old, line_stream))
        setattr(sys, name, line_stream)
    original = logging.Logger.callHandlers

    def call_handlers(self, record):
        _adopt_stream_handlers(self, replaced)
        outer = getattr(_handling, "record", None)
        handling = _handling.record = _Handling(record.levelname)
        try:
            result = original(self, record)
        finally:
            _handling.record = outer
        if not handling.printed:
            try:
                text = _MESSAGE_ONLY.format(record)
            except Exception:  # noqa: BLE001 - a bad format string must not lose the record
                text = str(record.msg)
            capture.emit("logging", record.levelname, text)
        if on_error_record is not None and record.exc_info and record.levelno >= logging.ERROR:
            on_error_record(record.exc_info[1])
        return result

    logging.Logger.callHandlers = call_handlers
    # A record nothing printed is captured above: the last-resort stderr echo would duplicate it.
    logging.lastResort = logging.NullHandler()


def _adopt_stream_handlers(logger: logging.Logger, replaced: list) -> None:
    """Handlers made before the capture (a framework preloaded by the zygote, e.g. Sanic's default
    config) hold the process's original stdout/stderr: point them at the capturing streams, so
    their lines are tagged like any other handler's and not captured twice."""
    current = logger
    while current is not None:
        for handler in current.handlers:
            stream = getattr(handler, "stream", None)
            if stream is None or isinstance(stream, LineStream) or not isinstance(handler, logging.StreamHandler):
                continue
            for old, new in replaced:
                if stream is old:
                    handler.stream = new
        current = current.parent if current.propagate else None


def flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass


# -- values and errors ---------------------------------------------------------------------------


_VALUE_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps builds one per call


def render_value(value) -> str | None:
    """JSON text when the value is JSON-serialisable, else its repr (both capped)."""
    try:
        text = _VALUE_ENCODER.encode(value)
    except Exception:  # noqa: BLE001 - anything unserialisable falls back to repr
        try:
            text = repr(value)
        except Exception as exc:  # noqa: BLE001
            text = f"<unrepresentable {type(value).__name__}: {exc}>"
    if len(text) > RETURN_CAP:
        text = text[:RETURN_CAP] + "…"
    return text


def _is_runtime(filename: str) -> bool:
    return filename.startswith(RUNTIME_DIR) or filename.startswith("<frozen ")


def is_user_file(filename: str, project_root: str) -> bool:
    if not filename.startswith(project_root.rstrip("/") + "/"):
        return False
    rest = filename[len(project_root):]
    return not any(part in rest for part in _NOT_USER_PARTS)


def _safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= LOCAL_REPR_CAP else text[:LOCAL_REPR_CAP] + "…"


def _strip_runtime(te: traceback.TracebackException, seen: set) -> None:
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        kept = [f for f in te.stack if not _is_runtime(f.filename)]
        te.stack = traceback.StackSummary.from_list(kept)
        if te.__cause__ is not None:
            _strip_runtime(te.__cause__, seen)
        te = te.__context__


def error_info(exc: BaseException, project_root: str) -> dict:
    """The exception as the user needs it: frames with locals, runtime frames removed."""
    project_root = os.path.realpath(project_root)
    frames = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if _is_runtime(filename):
            continue
        absolute = os.path.realpath(filename) if not filename.startswith("<") else filename
        local_reprs = {}
        for name, value in list(frame.f_locals.items())[:LOCALS_PER_FRAME]:
            if name.startswith("__") and name.endswith("__"):
                continue
            local_reprs[name] = _safe_repr(value)
        frames.append({
            "file": absolute, "line": lineno, "function": frame.f_code.co_name,
            "source": _source_line(filename, lineno, frame.f_globals), "locals": local_reprs,
            "is_user": is_user_file(absolute, project_root),
        })
    if isinstance(exc, SyntaxError) and exc.filename and not _is_runtime(exc.filename):
        frames.append({"file": os.path.realpath(exc.filename), "line": exc.lineno or 0,
                       "function": "<module>", "source": (exc.text or "").strip(), "locals": {},
                       "is_user": is_user_file(os.path.realpath(exc.filename), project_root)})
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        _strip_runtime(te, set())
        text = "".join(te.format())
    except Exception:  # noqa: BLE001
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    # funcstudio's own exception types (the worker package is private) read as the platform names them
    module = type(exc).__module__
    own = module.startswith(("_funcstudio_worker", "studio.runtime.worker"))
    if own:
        text = text.replace(f"{module}.{type(exc).__qualname__}", type(exc).__qualname__)
    return {"type": type(exc).__qualname__ if module == "builtins" or own
            else f"{module}.{type(exc).__qualname__}",
            "message": _safe_str(exc), "traceback": text, "frames": frames}


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001
        return f"<{type(exc).__name__}>"


def _source_line(filename: str, lineno: int, module_globals) -> str:
    import linecache

    try:
        return linecache.getline(filename, lineno, module_globals).strip()
    except Exception:  # noqa: BLE001
        return ""


def traceback_text(exc: BaseException) -> str:
    """The platform's `traceback.format_exc()` text, without the runtime's own frames."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    _strip_runtime(te, set())
    return "".join(te.format())


try:
    import resource as _resource
except ImportError:  # not on Windows
    _resource = None


def peak_rss_kb() -> int | None:
    """Peak RSS since the last `reset_peak_rss` (one getrusage call: Linux resets it with VmHWM)."""
    if _resource is None:
        return None
    try:
        return int(_resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss)
    except Exception:  # noqa: BLE001
        return None


_window_start_kb: list[int | None] = [None]
"""The peak RSS right after the last reset: where the current window started."""


def reset_peak_rss(peak_kb: int | None = None) -> None:
    """Start a fresh peak-RSS window for the next invocation (Linux >= 4.0). `peak_kb`, the window's
    peak just reported: when it never rose above where the window started there is nothing to reset
    (a warm function's usual case), which saves the three syscalls of writing /proc/self/clear_refs."""
    start = _window_start_kb[0]
    if peak_kb is not None and start is not None and peak_kb <= start:
        return
    try:
        fd = os.open("/proc/self/clear_refs", os.O_WRONLY)
    except OSError:
        return
    try:
        os.write(fd, b"5")
    except OSError:
        pass
    finally:
        os.close(fd)
    _window_start_kb[0] = peak_rss_kb()

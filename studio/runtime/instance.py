"""The supervisor's handle on one worker instance: start it, invoke it, enforce its limits, kill it.

`InstanceFactory.spawn(config)` forks an instance from the interpreter's zygote (or spawns one),
waits for it to load its entry and returns an `Instance`. `Instance.invoke` sends one request and
relays everything the instance reports while it runs: `log` frames and the lines written to its
fds 1 and 2 go to `on_log` as they arrive; the `result` frame ends the invocation. Past the
deadline or the memory limit the instance is killed; an instance that exits or crashes is reported
as a fault. A dead instance never hangs the caller. `Instance.invoke_on_loop` does the same on an
event loop's thread (the loop watches the channel and pipes; only a kill waits, on a thread).

An `Instance` exposes: id, pid, function_id, init_ms, load_error (ErrorInfo | None), load_warnings,
load_logs (lines printed while loading, delivered to the first invocation's on_log too), kind and
framework as detected, inner_routes, modules (abs paths of project files it imported), busy, alive,
last_used (monotonic), exit_code, kill_reason, leftovers, entry_digest. `kill(reason)` is graceful for
idle/stale/shutdown (ASGI lifespan shutdown runs, 1 s at most) and SIGKILLs otherwise: the instance
alone when its zygote contains it (the zygote then kills and reports, in `leftovers`, every process
it left running; see worker/forkserver.py), else its process group.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import itertools
import os
import select
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from studio.runtime import fastjson
from studio.runtime.events import ErrorInfo, FrameInfo, ParityWarning
from studio.runtime.worker import protocol
from studio.runtime.zygote import WorkerProcess, WorkerStartError, Zygote, fork_supported, spawn_process

OnLog = Callable[[str, "str | None", float, str], None]
LOAD_TIMEOUT_S = 30.0
POLL_S = 0.05
SPIN_S = 0.0005
"""How long a lone request on the loop polls for a quick instance's answer before it sleeps."""
PIPE_TICK_S = 0.005
"""While an invocation runs on the loop, its fd 1 and 2 pipes are read at least this often."""
PIPE_DRAIN_S = 0.002
"""At most this long reading the pipes per wake-up (a flood must not stall the loop)."""
EXIT_WAIT_S = 2.0
TRUNCATED_MARKER = "[funcstudio] output truncated: this invocation wrote more than {cap} bytes"
_ids = itertools.count(1)


@dataclass(frozen=True)
class InstanceConfig:
    """Everything a worker needs to load one function."""

    function_id: str
    platform: str
    kind: str
    entry_path: str
    """Absolute path of the entry file."""
    code_root: str
    """Absolute: the function's cwd and first `sys.path` entry, as in production."""
    project_root: str
    """Absolute: frames under it (outside virtualenvs) are the user's."""
    handler: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    quirks: str = "platform"
    memory_mb: int | None = None
    output_cap_bytes: int = 1 << 20
    python: str | None = None
    """The worker interpreter; None = sys.executable."""
    extra: dict = field(default_factory=dict)
    """Platform settings (edgeone.headers, scf.*, cocobase.*) passed through to adapters."""
    load_timeout_s: float = LOAD_TIMEOUT_S
    entry_source: bytes | None = None
    """The entry file's bytes as the supervisor read them, compiled instead of the file (an in-place
    save may have truncated it since); None: the worker reads the file itself."""

    def to_wire(self) -> dict:
        data = dataclasses.asdict(self)
        data.pop("python")
        if self.entry_source is not None:
            data["entry_source"] = base64.b64encode(self.entry_source).decode("ascii")
        return data

    @property
    def entry_digest(self) -> str | None:
        """sha1 of `entry_source` (as the code version hashes a file), None when the worker reads it."""
        return hashlib.sha1(self.entry_source).hexdigest() if self.entry_source is not None else None


@dataclass
class InstanceResult:
    """Not frozen: one is built per request, and a frozen __init__ sets each of its 17 fields through
    object.__setattr__ (~4 us). Nothing changes one after the instance returns it."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    return_value: str | None
    error: ErrorInfo | None
    warnings: tuple[ParityWarning, ...]
    duration_ms: float
    peak_memory_mb: float | None
    fault: str | None
    """None | timeout | memory | exit | crash | output-flood"""
    exit_code: int | None
    outbox: tuple[dict, ...] = ()
    output_truncated: bool = False
    """Some output of this invocation went past the cap and was dropped (a marker line says so)."""
    paused_ms: float = 0.0
    """Time spent paused in the debugger (not counted against the deadline)."""
    debugger_quit: bool = False
    profile: tuple[dict, ...] = ()
    """`profile` requests: the top functions by cumulative time (worker/profiling.py rows)."""
    app_path: str | None = None
    """The path a framework app received, after the platform stripped the route prefix."""


@dataclass
class _Run:
    """One invocation in progress: its clock, its memory limit and what it said before its result."""

    started: float
    deadline_s: float
    limit_kb: int | None
    peak_kb: int = 0
    exiting: dict | None = None
    result: InstanceResult | None = None
    """Set when it ended before it began (the instance was not running)."""


def error_from_wire(data: dict | None) -> ErrorInfo | None:
    if not data:
        return None
    frames = tuple(
        FrameInfo(file=str(f.get("file") or ""), line=int(f.get("line") or 0), function=str(f.get("function") or ""),
                  source=str(f.get("source") or ""), locals=dict(f.get("locals") or {}),
                  is_user=bool(f.get("is_user", True)))
        for f in data.get("frames") or ()
    )
    return ErrorInfo(type=str(data.get("type") or "Error"), message=str(data.get("message") or ""),
                     traceback=str(data.get("traceback") or ""), frames=frames)


def warnings_from_wire(items) -> tuple[ParityWarning, ...]:
    seen, found = set(), []
    for item in items or ():
        if item.get("id") in seen:
            continue
        seen.add(item.get("id"))
        found.append(ParityWarning(id=str(item.get("id")), message=str(item.get("message") or ""),
                                   fix=str(item.get("fix") or "")))
    return tuple(found)


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def leftover_line(pid: int, command: str) -> str:
    return f"funcstudio: killed pid {pid} ({command}): the function started it and it outlived its instance"


class _Output:
    """Lines from the instance, frames and pipes alike, under one per-invocation byte cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.on_log: OnLog | None = None
        self.pending: list[tuple[str, str | None, float, str]] = []
        self.pending_bytes = 0
        self.partial = {"stdout": b"", "stderr": b""}
        self.written = 0
        self.truncated = False

    def begin(self, on_log: OnLog) -> None:
        self.on_log = on_log
        self.written = 0
        self.truncated = False
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        for line in pending:
            self._deliver(*line)

    def end(self) -> None:
        self.flush_partial()
        self.on_log = None

    def line(self, stream: str, level: str | None, when: float, text: str) -> None:
        if stream != "platform":
            if self.truncated:
                return
            self.written += len(text.encode("utf-8", "replace")) + 1
            if self.written > self.cap:
                self.mark_truncated(when)
                return
        self._deliver(stream, level, when, text)

    def mark_truncated(self, when: float) -> None:
        if not self.truncated:
            self.truncated = True
            self._deliver("platform", None, when, TRUNCATED_MARKER.format(cap=self.cap))

    def pipe(self, stream: str, data: bytes) -> None:
        if self.truncated and self.on_log is not None:
            return  # past the cap: read and drop, never buffer
        buffered = self.partial[stream] + data
        *lines, rest = buffered.split(b"\n")
        if len(rest) > 65536:
            lines.append(rest)
            rest = b""
        self.partial[stream] = rest
        now = time.time()
        for raw in lines:
            self.line(stream, None, now, raw.decode("utf-8", "replace"))

    def flush_partial(self) -> None:
        for stream, rest in self.partial.items():
            if rest:
                self.partial[stream] = b""
                self.line(stream, None, time.time(), rest.decode("utf-8", "replace"))

    def _deliver(self, stream: str, level: str | None, when: float, text: str) -> None:
        if self.on_log is None:
            # Between invocations: keep lines for the next one, but never more than the cap.
            self.pending_bytes += len(text)
            if self.pending_bytes <= self.cap:
                self.pending.append((stream, level, when, text))
            return
        try:
            self.on_log(stream, level, when, text)
        except Exception:  # noqa: BLE001 - a failing subscriber must not fail the invocation
            pass


class Instance:
    """One live worker process serving one function, one invocation at a time."""

    def __init__(self, config: InstanceConfig, process: WorkerProcess) -> None:
        self.id = f"i{next(_ids)}-{process.pid}"
        self.pid = process.pid
        self.function_id = config.function_id
        self.config = config
        self.init_ms = 0.0
        self.load_error: ErrorInfo | None = None
        self.load_warnings: tuple[ParityWarning, ...] = ()
        self.kind: str | None = None
        self.framework: str | None = None
        self.inner_routes: list[dict] = []
        self.modules: set[str] = set()
        self.entry_digest = config.entry_digest
        """sha1 of the entry source it was handed (the file may differ by now), else None."""
        self.busy = False
        self.alive = True
        self.last_used = time.monotonic()
        self.answers_quickly = True
        """Its last invocation answered within `SPIN_S` (worth polling for the next answer)."""
        self.exit_code: int | None = None
        self.kill_reason: str | None = None
        self.leftovers: list[tuple[int, str]] = []
        """(pid, command) of processes the instance left running, killed when it ended."""
        self._process = process
        self._decoder = protocol.FrameDecoder(fastjson.loads)
        self._output = _Output(max(int(config.output_cap_bytes or 0), 1024))
        self._lock = threading.Lock()
        self._closed = False
        self._send_lock = threading.Lock()
        self._on_debug: Callable[[dict], None] | None = None
        self._paused_at: float | None = None
        self._paused_s = 0.0
        self._garbled = False
        """Bytes that are no frame came on the channel."""
        self._loop_watch: asyncio.AbstractEventLoop | None = None
        """The event loop whose reader watches the channel (see `_watch_channel`); loop thread only."""
        self._loop_wake: Callable[[], None] | None = None
        """Wakes the invocation waiting on the loop, while there is one."""
        process.channel.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(process.channel, selectors.EVENT_READ, "channel")
        self._selector.register(process.out_fd, selectors.EVENT_READ, "stdout")
        self._selector.register(process.err_fd, selectors.EVENT_READ, "stderr")
        self._poller = select.poll() if hasattr(select, "poll") else None
        self._pipe_poller = select.poll() if hasattr(select, "poll") else None
        if self._poller is not None:
            self._poller.register(process.channel, select.POLLIN)
            for fd in (process.out_fd, process.err_fd):
                self._pipe_poller.register(fd, select.POLLIN)

    def exited(self) -> bool:
        """Whether the process is gone, asked of the channel (its end closes with the process):
        one poll(0), no /proc read, nothing consumed."""
        if not self.alive:
            return True
        if self._poller is None or self.busy:
            return False
        try:
            ready = self._poller.poll(0)
        except (OSError, ValueError):
            return True
        if not ready:
            return False
        if ready[0][1] & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            return True
        try:  # readable while idle: a line printed between invocations, or the end of the channel
            return self._process.channel.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    @property
    def load_logs(self) -> list[tuple[str, str | None, float, str]]:
        """Lines written while loading, not yet delivered to an invocation's on_log."""
        return list(self._output.pending)

    # -- reading -------------------------------------------------------------------------------

    def _pump(self, timeout: float) -> tuple[list[tuple[dict, bytes]], bool]:
        """Read whatever is ready within `timeout`; returns (frames, channel closed)."""
        frames: list[tuple[dict, bytes]] = []
        closed = False
        for key, _ in self._selector.select(timeout):
            if key.data == "channel":
                try:
                    data = self._process.channel.recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed = True
                    continue
                try:
                    frames.extend(self._decoder.feed(data))
                except protocol.ProtocolError:
                    self._garbled = closed = True
            else:
                self._read_pipe(key.data, key.fd)
        return frames, closed

    def _read_channel(self) -> tuple[list[tuple[dict, bytes]], bool]:
        """What the channel holds now, without waiting: (frames, closed or garbled)."""
        try:
            data = self._process.channel.recv(1 << 20)
        except BlockingIOError:
            return [], False
        except OSError:
            return [], True
        if not data:
            return [], True
        try:
            return self._decoder.feed(data), False
        except protocol.ProtocolError:
            self._garbled = True
            return [], True

    def _read_pipe(self, stream: str, fd: int) -> bool:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass
            if self._pipe_poller is not None:
                try:
                    self._pipe_poller.unregister(fd)
                except (KeyError, ValueError):
                    pass
            return False
        self._output.pipe(stream, data)
        return True

    def _drain_ready_pipes(self, budget_s: float) -> None:
        """`_drain_pipes` for the pipes that hold something, asked with one poll(0) (a result's usual
        case: nothing was written to fds 1 and 2, and two empty reads cost two syscalls)."""
        poller = self._pipe_poller
        if poller is None:
            self._drain_pipes(budget_s)
            return
        try:
            ready = poller.poll(0)
        except (OSError, ValueError):
            ready = [(self._process.out_fd, 0), (self._process.err_fd, 0)]
        if ready:
            self._drain_pipes(budget_s, {fd for fd, _ in ready})

    def _drain_pipes(self, budget_s: float = 0.2, only: set[int] | None = None) -> None:
        """Read what the pipes already hold (output written just before a result or a death)."""
        end = time.monotonic() + budget_s
        for stream, fd in (("stdout", self._process.out_fd), ("stderr", self._process.err_fd)):
            if only is not None and fd not in only:
                continue
            while time.monotonic() < end and self._read_pipe(stream, fd):
                pass

    def _handle_log(self, message: dict) -> None:
        if message.get("truncated"):
            self._output.mark_truncated(float(message.get("time") or time.time()))
            return
        self._output.line(str(message.get("stream") or "stdout"), message.get("level"),
                          float(message.get("time") or time.time()), str(message.get("text") or ""))

    # -- loading -------------------------------------------------------------------------------

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill("load-timeout")
                self.load_error = ErrorInfo("TimeoutError", f"the entry did not load within {timeout:g} s",
                                            f"TimeoutError: the entry did not load within {timeout:g} s\n")
                return
            frames, closed = self._pump(min(remaining, 0.5))
            for message, _blob in frames:
                kind = message.get("type")
                if kind == "log":
                    self._handle_log(message)
                elif kind == "ready":
                    self.init_ms = float(message.get("init_ms") or 0.0)
                    self.kind = message.get("kind")
                    self.framework = message.get("framework")
                    self.inner_routes = list(message.get("inner_routes") or [])
                    self.modules = set(message.get("modules") or [])
                    self.load_warnings = warnings_from_wire(message.get("warnings"))
                    return
                elif kind == "load_error":
                    self.load_error = error_from_wire(message.get("error"))
                    self.modules = set(message.get("modules") or [])
                    self.load_warnings = warnings_from_wire(message.get("warnings"))
                    self._drain_pipes()
                    self._output.flush_partial()
                    self._mark_dead(self._process.wait_exit(EXIT_WAIT_S))
                    return
            if closed:
                self._drain_pipes()
                self._output.flush_partial()
                code = self._process.wait_exit(EXIT_WAIT_S)
                self._mark_dead(code)
                how = f"was killed by {_signal_name(-code)}" if code is not None and code < 0 else \
                    f"exited with code {code}"
                self.load_error = ErrorInfo("WorkerExit", f"the instance {how} while loading its entry",
                                            f"WorkerExit: the instance {how} while loading its entry\n")
                return

    # -- invoking ------------------------------------------------------------------------------

    def invoke(self, request: dict, body: bytes, deadline_s: float, on_log: OnLog,
               on_debug: Callable[[dict], None] | None = None) -> InstanceResult:
        """`on_debug` receives the debugger's `paused` and `evaluated` frames (a request with a
        `debug` spec); answer them with `debug_command`. Blocks the calling thread until the end."""
        with self._lock:
            run, unsent = self._begin(request, body, deadline_s, on_log, on_debug)
            try:
                if run.result is not None:
                    return run.result
                self._send_blocking(unsent)
                while True:
                    frames, closed = self._pump(self._wait_s(run))
                    result = self._advance(run, frames, closed)
                    if result is not None:
                        return result
            finally:
                self._end()

    async def invoke_on_loop(self, request: dict, body: bytes, deadline_s: float,
                             on_log: OnLog, spin: bool = False,
                             on_sent: Callable[[], None] | None = None) -> InstanceResult:
        """`invoke` for the event loop's own thread (no debugger): the instance's channel and pipes
        are watched by the loop, so a request costs no thread hand-off. Only an ending that has to
        wait (a death, a timeout or memory kill) runs on a thread. The caller holds the instance
        (its slot is busy), so the lock is free.

        `on_sent` runs once the frame is sent (while the function runs). `spin`: nothing else is
        waiting for the loop, so when this instance answers quickly its
        answer is awaited for up to `SPIN_S` without sleeping: a sleeping loop costs a wake-up (a
        cross-CPU interrupt, tens of microseconds in a VM) when the answer comes."""
        loop = asyncio.get_running_loop()
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"instance {self.id} is serving another invocation")
        try:
            run, unsent = self._begin(request, body, deadline_s, on_log, None)
            if run.result is not None:
                return run.result
            if unsent:
                await loop.sock_sendall(self._process.channel, unsent)
            if on_sent is not None:
                try:
                    on_sent()
                except Exception:  # noqa: BLE001 - a listener's failure is not the invocation's
                    pass
            if not unsent and spin and self.answers_quickly:
                frames, broken = self._spin(SPIN_S)
                result = self._take_frames(run, frames)
                if result is not None:
                    return result
                if broken:
                    return await loop.run_in_executor(None, self._end_badly, run, True)
            woken: list[asyncio.Future] = []

            def wake() -> None:
                if woken and not woken[0].done():
                    woken[0].set_result(None)

            # Only the channel is watched by the loop (its end also says the process ended), and it
            # stays watched between invocations (`_watch_channel`); the pipes are asked with one
            # poll(0) per wake-up and every `PIPE_TICK_S`. Adding and removing readers for all three
            # per request cost 21 epoll_ctl and 3 ioctl under load, a tenth of the process's CPU.
            self._loop_wake = wake
            self._watch_channel(loop)
            while True:
                woken[:] = [loop.create_future()]
                timer = loop.call_later(min(self._wait_s(run), PIPE_TICK_S), wake)
                try:
                    await woken[0]
                finally:
                    timer.cancel()
                frames, closed = self._read_channel()
                self._drain_ready_pipes(PIPE_DRAIN_S)
                result = self._take_frames(run, frames)
                if result is not None:
                    return result
                if closed or self._ending(run):
                    return await loop.run_in_executor(None, self._end_badly, run, closed)
        finally:
            self._loop_wake = None
            try:
                self._end()
            finally:
                self._lock.release()

    def _watch_channel(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have `loop` watch the channel, and keep it so after this invocation: while requests keep
        coming, no reader is added or removed per request. Data that arrives when no invocation
        waits on the loop (a line printed between invocations, an answer read on a thread, the end
        of the channel) removes the reader instead (`_on_channel_readable`), so an unread channel
        never spins the loop; the next invocation adds it back."""
        if self._loop_watch is loop:
            return
        if self._loop_watch is not None:  # another loop (a restarted server): let it go there
            self._unwatch_from(self._loop_watch)
        loop.add_reader(self._process.channel.fileno(), self._on_channel_readable)
        self._loop_watch = loop

    def _on_channel_readable(self) -> None:
        wake = self._loop_wake
        if wake is not None:
            wake()
            return
        loop, self._loop_watch = self._loop_watch, None
        if loop is not None:
            loop.remove_reader(self._process.channel.fileno())

    def _unwatch_from(self, loop: asyncio.AbstractEventLoop) -> None:
        fd = self._process.channel.fileno()
        self._loop_watch = None
        try:
            if _running_loop() is loop:
                loop.remove_reader(fd)
            else:
                loop.call_soon_threadsafe(loop.remove_reader, fd)
        except (RuntimeError, ValueError, OSError):
            pass  # the loop is closed: nothing of it watches the fd any more

    def _spin(self, budget_s: float) -> tuple[list[tuple[dict, bytes]], bool]:
        """Read the channel without sleeping for up to `budget_s`: (the frames that came, whether the
        channel closed or carried garbage). A log frame ends the spin too; the loop then waits."""
        channel, decoder = self._process.channel, self._decoder
        end = time.perf_counter() + budget_s
        while True:
            try:
                data = channel.recv(1 << 20)
            except BlockingIOError:
                if time.perf_counter() >= end:
                    return [], False
                # the instance may be waiting for this very CPU (woken onto it): let it run
                os.sched_yield()
                continue
            except OSError:
                return [], True
            if not data:
                return [], True
            try:
                frames = decoder.feed(data)
            except protocol.ProtocolError:
                self._garbled = True
                return [], True
            if frames:
                return frames, False

    def _begin(self, request: dict, body: bytes, deadline_s: float, on_log: OnLog,
               on_debug: Callable[[dict], None] | None) -> tuple[_Run, bytes]:
        """Mark the instance busy and send what fits of the `invoke` frame without waiting; returns
        the invocation's state and the bytes still to send."""
        self.busy = True
        self._on_debug, self._paused_at, self._paused_s = on_debug, None, 0.0
        run = _Run(started=time.monotonic(), deadline_s=max(float(deadline_s), 0.0),
                   limit_kb=int(self.config.memory_mb) * 1024 if self.config.memory_mb else None)
        self._output.begin(on_log)
        if not self.alive:
            run.result = self._fault_result("exit", run.started, None, None,
                                            ErrorInfo("WorkerExit", "the instance is not running", ""))
            return run, b""
        request_id = str(request.get("request_id") or "")
        data = protocol.encode_trusted_frame({"type": "invoke", "request_id": request_id, "deadline_s": deadline_s,
                                      "request": request}, body)
        try:
            sent = self._process.channel.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return run, b""  # the instance is gone; reading sees the closed channel
        return run, data[sent:]

    def _send_blocking(self, data: bytes) -> None:
        if data:
            with self._send_lock:
                self._send_all(memoryview(data))

    def _send_all(self, view: memoryview) -> bool:
        """Send on the non-blocking channel, waiting (poll, any fd number) while it is full."""
        waiter = select.poll()
        waiter.register(self._process.channel, select.POLLOUT)
        while view:
            try:
                sent = self._process.channel.send(view)
            except BlockingIOError:
                waiter.poll(1000)
                continue
            except OSError:
                return False
            view = view[sent:]
        return True

    def _wait_s(self, run: _Run) -> float:
        wait = self._deadline(run) - time.monotonic()
        if run.limit_kb is not None:
            wait = min(wait, POLL_S)
        return max(wait, 0.0)

    def _deadline(self, run: _Run) -> float:
        # a paused debugger stops the clock
        return run.started + run.deadline_s + self._paused_total(time.monotonic())

    def _advance(self, run: _Run, frames: list[tuple[dict, bytes]], closed: bool) -> InstanceResult | None:
        """What the frames and the clock say: the invocation's result, or None to keep waiting."""
        result = self._take_frames(run, frames)
        if result is None and (closed or self._ending(run)):
            result = self._end_badly(run, closed)
        return result

    def _take_frames(self, run: _Run, frames: list[tuple[dict, bytes]]) -> InstanceResult | None:
        for message, blob in frames:
            kind = message.get("type")
            if kind == "log":
                self._handle_log(message)
            elif kind == "exiting":
                run.exiting = message
            elif kind in ("paused", "evaluated"):
                self._debug_frame(message)
            elif kind == "result":
                self._drain_ready_pipes(0.05)
                return self._result(message, blob, run.started, run.peak_kb)
        return None

    def _ending(self, run: _Run) -> bool:
        """Past the deadline, or over the memory limit (sampled here: one /proc read)."""
        if time.monotonic() >= self._deadline(run):
            return True
        if run.limit_kb is not None:
            rss = _rss_kb(self.pid)
            if rss is not None:
                run.peak_kb = max(run.peak_kb, rss)
                return rss > run.limit_kb
        return False

    def _end_badly(self, run: _Run, closed: bool) -> InstanceResult:
        """The instance died, or is killed now for its deadline or memory (this may wait a moment)."""
        if self._garbled:  # its channel carried bytes that are no frame: it cannot be talked to again
            self._kill_now()
            self._drain_pipes()
            text = "the instance wrote bytes that are not a funcstudio frame into its channel (fd " \
                   f"{self._process.channel.fileno()}), so it was killed"
            return self._fault_result("crash", run.started, run.peak_kb, self.exit_code,
                                      ErrorInfo("WorkerCrash", text, f"WorkerCrash: {text}\n"))
        if closed:
            self._drain_pipes()
            code = self._process.wait_exit(EXIT_WAIT_S)
            self._mark_dead(code)
            return self._death_result(run.started, run.peak_kb, code, run.exiting)
        timed_out = time.monotonic() >= self._deadline(run)
        self._kill_now()
        self._drain_pipes()
        if timed_out:
            deadline_s = run.deadline_s
            return self._fault_result("timeout", run.started, run.peak_kb, None, ErrorInfo(
                "TimeoutError", f"Invocation timed out after {deadline_s:g} s",
                f"TimeoutError: Invocation timed out after {deadline_s:g} s\n"))
        mb = self.config.memory_mb
        return self._fault_result("memory", run.started, run.peak_kb, None, ErrorInfo(
            "MemoryError", f"Memory limit exceeded: the instance used more than {mb} MB",
            f"MemoryError: Memory limit exceeded: the instance used more than {mb} MB\n"))

    def _end(self) -> None:
        try:
            if not self.alive:
                for pid, command in self._take_leftovers():
                    self._output.line("platform", "WARNING", time.time(), leftover_line(pid, command))
            self._output.end()
        finally:
            self._on_debug, self._paused_at = None, None
            self.busy = False
            self.last_used = time.monotonic()
            if not self.alive:
                self._close_fds()

    # -- debugging -----------------------------------------------------------------------------

    def _paused_total(self, now: float) -> float:
        paused_at = self._paused_at
        return self._paused_s + (now - paused_at if paused_at is not None else 0.0)

    def _debug_frame(self, message: dict) -> None:
        if message.get("type") in ("paused", "evaluated") and self._paused_at is None:
            self._paused_at = time.monotonic()  # stopped (again, after an evaluation): the clock stands
        on_debug = self._on_debug
        if on_debug is None:
            if message.get("type") == "paused":  # nobody can answer: let it run on
                self.debug_command({"command": "detach"})
            return
        try:
            on_debug(message)
        except Exception:  # noqa: BLE001 - a failing listener must not fail the invocation
            pass

    def debug_command(self, command: dict) -> bool:
        """Send a debugger command (continue, step, next, return, up, down, frame, evaluate, detach,
        quit) to the paused invocation; False when the instance is not running one."""
        if not self.alive or not self.busy:
            return False
        # user code runs again, on the invocation's clock: a resume, or an evaluation (which cannot
        # hang a paused instance forever: past the deadline it is killed like any other run)
        if command.get("command") in ("continue", "step", "next", "return", "detach", "quit", "evaluate"):
            paused_at = self._paused_at
            if paused_at is not None:
                self._paused_s += time.monotonic() - paused_at
                self._paused_at = None
        data = protocol.encode_frame({"type": "debug", **command})
        with self._send_lock:
            return self._send_all(memoryview(data))

    def _result(self, message: dict, blob: bytes, started: float, peak_kb: int) -> InstanceResult:
        self.answers_quickly = time.monotonic() - started < SPIN_S
        for stream, level, when, text in message.get("logs") or ():  # held platform lines, in order
            self._output.line(str(stream), level, float(when), str(text))
        if "modules" in message:
            self.modules = set(message.get("modules") or [])
        worker_peak = message.get("peak_memory_kb")
        peak = max(peak_kb, int(worker_peak or 0))
        return InstanceResult(
            status=message.get("status"),
            headers=[(str(k), str(v)) for k, v in message.get("headers") or []],
            body=blob, return_value=message.get("return_value"),
            error=error_from_wire(message.get("error")),
            warnings=warnings_from_wire(message.get("warnings")),
            duration_ms=float(message.get("duration_ms") or (time.monotonic() - started) * 1000.0),
            peak_memory_mb=round(peak / 1024.0, 1) if peak else None,
            fault=None, exit_code=None, outbox=tuple(message.get("outbox") or ()),
            output_truncated=self._output.truncated,
            paused_ms=round(self._paused_s * 1000.0, 3), debugger_quit=bool(message.get("debugger_quit")),
            profile=tuple(message.get("profile") or ()), app_path=message.get("app_path"),
        )

    def _death_result(self, started: float, peak_kb: int, code: int | None, exiting: dict | None):
        if exiting is not None:
            error = error_from_wire(exiting.get("error"))
            return self._fault_result("exit", started, peak_kb, code if code is not None else exiting.get("code"),
                                      error)
        if self.kill_reason in ("timeout", "memory", "output-flood"):
            fault = self.kill_reason
        else:
            fault = "crash" if code is not None and code < 0 else "exit"
        if self.kill_reason:
            text = f"the instance was killed ({self.kill_reason})"
        elif code is None:
            text = "the instance died"
        elif code < 0:
            text = f"the instance crashed: killed by {_signal_name(-code)}"
        else:
            text = f"the instance exited with code {code} during the invocation"
        kind = "WorkerCrash" if fault == "crash" else "WorkerExit"
        return self._fault_result(fault, started, peak_kb, code, ErrorInfo(kind, text, f"{kind}: {text}\n"))

    def _fault_result(self, fault: str, started: float, peak_kb: int | None, code: int | None,
                      error: ErrorInfo | None) -> InstanceResult:
        return InstanceResult(
            status=None, headers=[], body=b"", return_value=None, error=error, warnings=self.load_warnings,
            duration_ms=(time.monotonic() - started) * 1000.0,
            peak_memory_mb=round(peak_kb / 1024.0, 1) if peak_kb else None, fault=fault,
            exit_code=code if code is not None else self.exit_code, outbox=(),
            output_truncated=self._output.truncated,
        )

    # -- ending --------------------------------------------------------------------------------

    def _kill_now(self) -> None:
        if self.exit_code is None and self.alive:
            try:
                if self._process.contained:  # the zygote kills (and names) what it leaves behind
                    os.kill(self.pid, signal.SIGKILL)
                else:
                    os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self._mark_dead(self._process.wait_exit(EXIT_WAIT_S))

    def _mark_dead(self, code: int | None) -> None:
        self.alive = False
        if code is not None:
            self.exit_code = code

    def _take_leftovers(self) -> list[tuple[int, str]]:
        """What the zygote killed when this instance ended (it reports with the exit, so after
        `wait_exit` returned a code the list is complete)."""
        found = self._process.leftovers()
        self.leftovers += found
        return found

    def kill(self, reason: str) -> None:
        """End the instance. Idle instances retired for idle/stale/shutdown get a graceful shutdown
        (ASGI lifespan shutdown runs) for up to a second; anything else is SIGKILLed."""
        if self.kill_reason is None:
            self.kill_reason = reason
        if not self.alive:
            self._close_fds()
            return
        if reason in ("idle", "stale", "shutdown") and not self.busy:
            try:
                self._process.channel.setblocking(True)
                self._process.channel.settimeout(1.0)
                protocol.send_frame(self._process.channel, {"type": "shutdown"})
            except OSError:
                pass
            code = self._process.wait_exit(1.0)
            if code is not None:
                self._mark_dead(code)
        if self.alive:
            self._kill_now()
        self._take_leftovers()
        if not self.busy:
            self._close_fds()

    def _close_fds(self) -> None:
        if self._closed or self.busy:
            return
        self._closed = True
        loop = self._loop_watch
        if loop is not None and _running_loop() is not loop:
            # A loop still watches the channel: the fd is closed there, after its reader goes (a
            # closed fd left in libuv's epoll set would silence a new fd given the same number).
            try:
                loop.call_soon_threadsafe(self._close_fds_now)
                return
            except RuntimeError:  # the loop is closed: its epoll set is gone with it
                self._loop_watch = None
        self._close_fds_now()

    def _close_fds_now(self) -> None:
        if self._loop_watch is not None:
            self._unwatch_from(self._loop_watch)
        try:
            self._selector.close()
        except Exception:  # noqa: BLE001
            pass
        for close in (self._process.channel.close, lambda: os.close(self._process.out_fd),
                      lambda: os.close(self._process.err_fd)):
            try:
                close()
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"<Instance {self.id} {self.function_id} alive={self.alive} busy={self.busy}>"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class InstanceFactory:
    """Starts instances: one zygote per worker interpreter, spawn where fork is unavailable."""

    def __init__(self, preload: Sequence[str] = (), *, use_zygote: bool | None = None) -> None:
        self.preload = tuple(preload)
        self.use_zygote = fork_supported() if use_zygote is None else use_zygote
        self._zygotes: dict[str, Zygote] = {}
        self._no_zygote: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def _zygote(self, python: str) -> Zygote | None:
        if not self.use_zygote or python in self._no_zygote:
            return None
        with self._lock:
            zygote = self._zygotes.get(python)
            if zygote is not None and zygote.alive:
                return zygote
            try:
                zygote = Zygote(python, self.preload)
            except WorkerStartError:
                self._no_zygote.add(python)
                return None
            self._zygotes[python] = zygote
            return zygote

    def warm(self, python: str | None = None) -> None:
        """Start the interpreter's zygote now rather than at the first spawn."""
        self._zygote(python or sys.executable)

    def spawn(self, config: InstanceConfig) -> Instance:
        """A loaded instance (or a dead one whose `load_error` says why the entry did not load).

        Raises WorkerStartError when the interpreter cannot be started at all (bad `python` path).
        """
        if self._closed:
            raise WorkerStartError("the instance factory is closed")
        python = config.python or sys.executable
        wire = config.to_wire()
        zygote = self._zygote(python)
        process = None
        if zygote is not None:
            try:
                process = zygote.fork(wire)
            except WorkerStartError:
                process = None
        if process is None:
            process = spawn_process(python, wire)  # WorkerStartError: no interpreter to run at all
        instance = Instance(config, process)
        instance._wait_ready(config.load_timeout_s)
        return instance

    def close(self) -> None:
        self._closed = True
        with self._lock:
            zygotes, self._zygotes = list(self._zygotes.values()), {}
        for zygote in zygotes:
            zygote.close()

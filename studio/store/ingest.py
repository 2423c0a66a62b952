"""Record a runtime through a store writer PROCESS: the serving process runs no SQLite at all.

    recorder = RecorderProcess(db_path(project_root), settings.store).attach(runtime.bus)
    ...
    recorder.close()

Why a process: the gateway answers warm requests on its event-loop thread, and a writer THREAD in
the same process (redaction, rows, every sqlite step releasing and retaking the GIL) halved its
throughput under load through GIL hand-offs. Here the `Recorder` (writer.py) runs unchanged in
`python -m studio.store.ingester`, and this proxy, with the same API, is what callers hold.

**The request path.** `__call__` (the bus subscriber, on the event loop) holds a started invocation
and its log lines back for up to `HOLD_S`: most invocations finish sooner, and for those the
finished record (whose journal line carries the start and every line) is the only frame sent. A
finished invocation's line is appended to this process's journal (journal.py: one copy into a mapped file, the durable
hand-off, before the answer goes out). The same bytes go to the child once requests pause: no
invocation finished for `QUIET_S` (or the oldest waited `QUIET_MAX_S`, or `KEPT_MAX` wait), in one
`send`, so a burst of requests never wakes the writer process and its Python (parsing, redaction,
rows, SQL) runs between bursts instead of beside the gateway and the function on two cores. Anything
else sent (a log line, a `flush`, a `clear`) sends them first, so nothing overtakes them. Nothing here
blocks or waits for the child: when the socket is full, frames wait in a local backlog that the
reader thread drains; past `queue_limit` frames log lines are dropped and counted, past twice that
invocations too (as the Recorder's own queue does).

**The reader thread** sends what a longer invocation held and the finished lines once requests pause
(it looks every `HOLD_S / 2` while invocations come and go, else it sleeps up to a second) and wakes for each message from the child (one per committed
batch, not per request): the status it mirrors (`recording`, `problem`, `notice`, drop counts), each
commit (for `add_listener` callbacks and `wait_recorded`), how many journaled records were committed
(when all are, the journal is truncated) and replies to named operations (`flush`, `save_request`,
`delete_saved_request`, `clear`). `on_problem` is called on it.

**If the child dies** (killed, crashed), recording turns off with a reason naming it, the runtime
serves on, and a new child starts after `RESTART_AFTER_S` (0.5 s, then longer while it keeps
dying; after the last, recording stays off). Nothing answered is lost: finished records go on being
journaled meanwhile (up to `DEAD_JOURNAL_MAX_BYTES`), and the new child is handed the journal as an
orphan (`_resume`), so it commits what the dead one never did and what was answered while none ran.
When this process ends before that, its journal is an orphan that the next recorder replays at
start, like a SIGKILLed process's.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING

from studio.project.settings import StoreSettings
from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
from studio.store import channel
from studio.store.db import BUSY_TIMEOUT_MS, StoreError
from studio.store.journal import Journal, journal_dir, journal_line
from studio.store.writer import COMMITTED_IDS_KEPT, CommitInfo

if TYPE_CHECKING:
    from studio.runtime.events import Event, EventBus
    from studio.store.rows import SavedRequest

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
"""How long the child may take to open the store and say it is ready (a loaded machine is slow)."""
DEAD_JOURNAL_MAX_BYTES = 64 << 20
"""With the child dead, answered invocations are journaled for its replacement up to this size."""
RESTART_AFTER_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits before each restart of a writer process that died (killed, crashed). One that lived
`STABLE_S` starts the count over; after the last, recording stays off until the next start."""
STABLE_S = 60.0
HOLD_S = 0.05
"""A started invocation's events are held this long for its finished line (see `__call__`)."""
HELD_MAX = 10_000
"""Invocations whose events may be held at once (more are sent as they come)."""
DOZE_AFTER_S = 1.0
"""The reader checks held events every HOLD_S / 2 until none was held for this long."""
QUIET_S = HOLD_S / 2
"""Finished lines wait for the server to be quiet: they go to the child once no invocation finished for
this long (the reader's own cadence while invocations come and go)..."""
QUIET_MAX_S = 0.25
"""...or once the oldest of them waited this long (a server that is never quiet)..."""
KEPT_MAX = 1_000
"""...or at once when this many wait."""
WRITER_LOG = "writer.log"
"""In `.funcstudio/`: what the writer process printed (warnings, a traceback when it failed)."""
WRITER_LOG_MAX_BYTES = 1 << 20
_PICKLE = pickle.HIGHEST_PROTOCOL
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class RecorderProcess:
    """The serving process's side of the store writer process. See the module docstring."""

    def __init__(
        self,
        db_path: str | Path,
        settings: StoreSettings | None = None,
        *,
        queue_limit: int = 100_000,
        journal: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings or StoreSettings()
        self.queue_limit = queue_limit
        self.recording = False
        self.problem: str | None = None
        self.notice: str | None = None
        self.replayed = 0
        self.skipped_events = 0
        self.keep_from_log_id: int | None = None
        self.pid: int | None = None
        """The writer process's pid."""
        self._on_problem = on_problem
        self._listeners: list[Callable[[CommitInfo], None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._child = (0, 0, 0, 0)
        """The child's dropped lines and invocations, and how many of ours it counted in them."""
        self._dropped = [0, 0]
        """Invocations and lines this process did not send (recording off, a full channel, no child)."""
        self._unsent_drops = [0, 0]
        self._send_lock = threading.Lock()
        self._backlog: deque[bytes] = deque()
        self._kept: list[bytes] = []
        """Finished lines waiting for a quiet moment (journaled already: see `_finished`), each after its
        frame's header: framed when sent, in one join, not copied once per request on the request path."""
        self._kept_since = 0.0
        self._last_finished = 0.0
        self._held: dict[str, tuple[float, list]] = {}
        """request id -> (when it started, its InvocationStarted and LogLines) not sent yet."""
        self._held_lock = threading.Lock()
        self._reader_dozing = False
        """The reader sleeps up to a second (nothing held for a while): the next hold wakes it."""
        self._committed = threading.Condition()
        self._committed_ids: OrderedDict[str, None] = OrderedDict()
        self._replies: dict[int, Future] = {}
        self._tokens = itertools.count(1)
        self._ready = threading.Event()
        self._alive = False
        self._closing = False
        self._stopping = False
        self._restarting = False
        """A replacement child is starting: finished lines are journaled and queued for it."""
        self._log_mark = 0
        """The size of the writer's output file when the running child started (`WRITER_LOG`)."""
        self._restart_wait = threading.Event()
        """Set by `close`: a reader waiting to restart the child gives up."""
        self.restarts = 0
        """How many times a writer process that died was replaced."""
        self._gone_drops = [0, 0]
        """Invocations and lines dead children counted as dropped themselves (their counts die with them)."""
        self._journal_wanted = journal
        self._journal: Journal | None = None
        self._journal_lock = threading.Lock()
        self._journal_pending = 0
        """Finished records sent to the child and not yet committed; at 0 the journal is truncated."""
        self._sock, child_end = _channel()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._process: subprocess.Popen | None = None
        init = pickle.dumps((str(self.db_path), self.settings, queue_limit, busy_timeout_ms), _PICKLE)
        # The reader thread starts the child: PR_SET_PDEATHSIG fires when the THREAD that forked it ends,
        # and the reader lives as long as this recorder (a studio starts its recorder on a passing thread).
        self._reader = threading.Thread(target=self._start_and_read, args=(child_end, init),
                                        name="funcstudio-store-ingest", daemon=True)
        self._reader.start()
        if not self._ready.wait(START_TIMEOUT_S) and self._alive and self._process is not None:
            self._process.kill()  # the reader then says it is gone
            self._reader.join(10)

    # --- the request path (the event loop; any thread) --------------------------------------------

    def attach(self, bus: EventBus) -> RecorderProcess:
        self._unsubscribe = bus.subscribe(self)
        return self

    def __call__(self, event: Event) -> None:
        """The bus subscriber: journal a finished record, send the event. Never raises or waits.

        A started invocation and its log lines are held back (`_held`): most invocations finish within
        milliseconds, and their finished line carries the same lines, so nothing else is sent for them
        (no pickling, one frame instead of four). The reader thread sends what one that runs longer
        than `HOLD_S` has held, and its later lines go out as they come."""
        try:
            if isinstance(event, LogLine):
                if self.recording and not self._hold(event):
                    self._send_line(event)
            elif isinstance(event, InvocationStarted):
                if self.recording:
                    with self._held_lock:
                        if len(self._held) < HELD_MAX:
                            self._held[event.request_id] = (time.monotonic(), [event])
                            if self._reader_dozing:
                                self._reader_dozing = False
                                self._wake_reader()
                            return
                    self._send_started(event)
            elif isinstance(event, InvocationFinished):
                self._finished(event)
        except Exception:  # noqa: BLE001 - recording is best effort; the request path comes first
            log.exception("store: could not record %r", event)

    def _hold(self, line: LogLine) -> bool:
        with self._held_lock:
            held = self._held.get(line.request_id)
            if held is None:
                return False
            held[1].append(line)
            return True

    def _send_started(self, event: InvocationStarted) -> None:
        # the six fields the child writes; the record rides in the finished line
        self._send(channel.STARTED, pickle.dumps(
            (event.request_id, event.function_id, event.trigger, event.method, event.path, event.started_at),
            _PICKLE))

    def _send_line(self, line: LogLine) -> None:
        self._send(channel.LOG, pickle.dumps(line, _PICKLE), droppable=True)

    def _send_held(self, older_than: float) -> bool:
        """On the reader thread: send what invocations started before `older_than` (monotonic) held;
        their next lines go out as they come. Returns whether anything is still held."""
        with self._held_lock:  # held while sending, so a later line cannot overtake these
            for request_id in [rid for rid, (since, _) in self._held.items() if since < older_than]:
                for event in self._held.pop(request_id)[1]:
                    if isinstance(event, InvocationStarted):
                        self._send_started(event)
                    else:
                        self._send_line(event)
            return bool(self._held)

    def _finished(self, event: InvocationFinished) -> None:
        with self._held_lock:
            held = self._held.pop(event.record.request_id, None)
        if self._alive and not (self.recording or self._restarting):
            self._drop(invocations=1)  # recording is off (e.g. a read-only store): nothing keeps it
            return
        if len(self._backlog) >= 2 * self.queue_limit:
            self._drop(invocations=1)
            return
        line = journal_line(event.record, self.settings.body_cap_bytes)
        with self._journal_lock:  # decided under the lock: a restart swaps the journal and `_alive` in it
            journal = self._journal
            alive = self._alive
            if alive:
                self._journal_pending += 1
                if journal is not None and not journal.broken:
                    self._append(journal, line)
            else:  # no child: the journal keeps it for the replacement (or the next start) to replay
                journaled = (journal is not None and not journal.broken
                             and journal.size < DEAD_JOURNAL_MAX_BYTES and self._append(journal, line))
        if not alive:
            if not journaled:
                self._drop(invocations=1)
            return
        # Nothing of it was sent yet: the child takes its start and lines from the finished line.
        # The line is journaled, so sending it can wait until requests pause (`_release_kept`): a
        # send now would wake the writer process in the middle of a burst, and its Python would run
        # beside the gateway and the function on two cores.
        header = channel.HEADER.pack(len(line), channel.FINISHED_WHOLE if held is not None else channel.FINISHED)
        now = time.monotonic()
        with self._send_lock:
            kept = self._kept
            if not kept:
                self._kept_since = now
                if self._reader_dozing:  # its start was not held, so nothing woke the reader yet
                    self._wake_reader()
            kept += (header, line)
            self._last_finished = now
            if len(kept) >= 2 * KEPT_MAX:
                self._release_kept()

    def _append(self, journal: Journal, line: bytes) -> bool:
        try:
            journal.append(line)
            return True
        except OSError as exc:
            # e.g. a full disk: invocations are recorded from memory only until the journal works again
            log.warning("store: the journal %s stopped working (%s)", journal.path, exc)
            journal.broken = True
            return False

    def _send(self, kind: int, payload: bytes, *, droppable: bool = False) -> None:
        """One non-blocking send; what the socket cannot take now waits in the backlog."""
        data = channel.frame(kind, payload)
        with self._send_lock:
            if self._kept:
                self._release_kept()  # they came first: a `clear` or `flush` must not overtake them
            if droppable and self._backlog and len(self._backlog) >= self.queue_limit:
                self._dropped[1] += 1
                self._unsent_drops[1] += 1
                return
            self._push(data)

    def _push(self, data: bytes) -> None:
        """Send now what the socket takes, queue the rest behind the backlog (`_send_lock` held)."""
        if self._backlog:
            self._backlog.append(data)
            return
        try:
            sent = self._sock.send(data, _DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the child is gone: the reader says so (finished lines are journaled)
        if sent < len(data):
            self._backlog.append(data[sent:])
            self._wake_reader()

    def _release_kept(self) -> None:
        """Send the finished lines that waited for a quiet moment, in one send (`_send_lock` held)."""
        data = b"".join(self._kept)
        self._kept.clear()
        self._push(data)

    def _release_if_quiet(self, now: float) -> bool:
        """On the reader thread: send the kept finished lines once no invocation finished for
        `QUIET_S` (or the oldest waited `QUIET_MAX_S`). Returns whether some still wait."""
        with self._send_lock:
            if not self._kept:
                return False
            if now - self._last_finished >= QUIET_S or now - self._kept_since >= QUIET_MAX_S:
                self._release_kept()
            return bool(self._kept)

    def _drop(self, *, invocations: int = 0, lines: int = 0) -> None:
        with self._send_lock:
            self._dropped[0] += invocations
            self._dropped[1] += lines
            self._unsent_drops[0] += invocations
            self._unsent_drops[1] += lines
            backlogged = bool(self._backlog)
        if not backlogged and self._alive:
            self._send_drops()

    def _send_drops(self) -> None:
        """Tell the child what was not sent, so its 'not recorded' line counts it."""
        with self._send_lock:
            drops, self._unsent_drops = self._unsent_drops, [0, 0]
        if any(drops):
            self._send(channel.DROPPED, pickle.dumps(tuple(drops), _PICKLE))

    def _wake_reader(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass  # already awake (the pipe is full) or closing

    @property
    def dropped_invocations(self) -> int:
        lines, invocations, applied_invocations, _ = self._child
        return invocations + self._dropped[0] - applied_invocations + self._gone_drops[0]

    @property
    def dropped_lines(self) -> int:
        lines, invocations, _, applied_lines = self._child
        return lines + self._dropped[1] - applied_lines + self._gone_drops[1]

    # --- the reader thread -------------------------------------------------------------------------

    def _start_and_read(self, child_end: socket.socket, init: bytes) -> None:
        """Start the child and read what it says; when it dies, start another (`RESTART_AFTER_S`)."""
        failures = 0
        while True:
            began = time.monotonic()
            try:
                written = _size(self.db_path.parent / WRITER_LOG)
                self._log_mark = written if written <= WRITER_LOG_MAX_BYTES else 0  # else started over
                self._process = _spawn(child_end, self.db_path.parent / WRITER_LOG)
            except OSError as exc:
                if not self.restarts:
                    self._gone(f"the store's writer process could not start: {exc}")
                    return
                reason = f"a new store writer process could not start ({exc})"
            else:
                child_end.close()  # the child's copy is its own: its death must be our end's EOF
                self.pid = self._process.pid
                if self.restarts:
                    self._resume(init)
                else:
                    self._alive = True
                    self._send(channel.INIT, init)
                self._read()
                reason = self._child_exited()
                if reason is None:
                    return  # closed
            finally:
                child_end.close()  # (again, harmless) also when the spawn failed
            failures = 1 if time.monotonic() - began >= STABLE_S else failures + 1
            journal = self._journal.path if self._journal is not None else None
            if failures > len(RESTART_AFTER_S):
                kept = (f": invocations answered from now on are kept in {journal} and recorded when funcstudio "
                        "next starts in this project") if journal is not None else ""
                self._gone(f"{reason}; it was restarted {self.restarts} times and stays off{kept}")
                return
            delay = RESTART_AFTER_S[failures - 1]
            kept = f"; what is answered meanwhile is kept in {journal}" if journal is not None else ""
            self._gone(f"{reason}; a new one starts in {delay:g} s{kept}")
            if self._restart_wait.wait(delay) or self._closing or self._stopping:
                return
            self.restarts += 1
            child_end = self._new_channel()

    def _new_channel(self) -> socket.socket:
        """A fresh socket pair for a replacement child: ours replaces the dead one's; returns its end."""
        ours, child_end = _channel()
        with self._send_lock:
            old, self._sock = self._sock, ours
            self._backlog.clear()  # what was queued for the dead child: finished lines are journaled
            self._kept.clear()
        old.close()
        return child_end

    def _resume(self, init: bytes) -> None:
        """Hand over to a replacement child. The journal is swapped for a fresh one and the old one
        closed, which unlocks it: the child replays it as it starts (an orphan, like a killed process's
        journal), so whatever the dead child never committed, and whatever was answered while none
        ran, is committed by the new one. Lines finished from here go to the new journal and the child."""
        with self._journal_lock:
            old = self._journal
            if old is not None:
                try:
                    self._journal = Journal(journal_dir(self.db_path))
                except OSError as exc:
                    self._journal = None
                    log.warning("store: no new journal in %s (%s)", journal_dir(self.db_path), exc)
                old.close(remove=old.size == 0)
            self._journal_pending = 0
            with self._send_lock:
                self._push(channel.frame(channel.INIT, init))  # the first frame on the new channel
            self._restarting = True
            self._alive = True
        if self._journal is not None:
            self._notify("journal", str(self._journal.path))
        if self.keep_from_log_id is not None:
            self._notify("keep_from", self.keep_from_log_id)

    def _read(self) -> None:
        frames = channel.Frames()
        sock = self._sock
        busy_until = 0.0
        try:
            while True:
                now = time.monotonic()
                if self._send_held(now - HOLD_S):
                    busy_until = now + DOZE_AFTER_S
                keeping = self._release_if_quiet(now)
                dozing = now > busy_until and not keeping
                with self._held_lock:
                    self._reader_dozing = dozing and not self._held
                readable, writable, _ = select.select(
                    [sock, self._wake_r], [sock] if self._backlog else [], [],
                    1.0 if self._reader_dozing else HOLD_S / 2)
                if self._wake_r in readable:
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                if writable:
                    self._drain()
                if sock in readable:
                    data = sock.recv(1 << 20)
                    if not data:
                        break
                    for _kind, payload in frames.feed(data):
                        self._handle(pickle.loads(payload))
        except (OSError, ValueError):
            pass
        except Exception:  # noqa: BLE001 - a bug here must not leave callers waiting
            log.exception("store: the reader of the writer process failed")
        self._child_exited()

    def _drain(self) -> None:
        with self._send_lock:
            backlog = self._backlog
            while backlog:
                data = backlog[0]
                try:
                    sent = self._sock.send(data, _DONTWAIT)
                except BlockingIOError:
                    return
                if sent < len(data):
                    backlog[0] = data[sent:]
                    return
                backlog.popleft()
        self._send_drops()

    def _handle(self, message: tuple) -> None:
        what = message[0]
        if what == "commit":
            _, info, status = message
            self._mirror(status)
            with self._committed:
                for request_id in info.request_ids:
                    self._committed_ids[request_id] = None
                while len(self._committed_ids) > COMMITTED_IDS_KEPT:
                    self._committed_ids.popitem(last=False)
                self._committed.notify_all()
            for listener in self._listeners:
                try:
                    listener(info)
                except Exception:  # noqa: BLE001 - a listener's bug must not stop recording
                    log.exception("store commit listener %r failed", listener)
        elif what == "journaled":
            self._journal_committed(message[1])
        elif what == "recovered":  # after a pause the child committed what the journal held
            with self._journal_lock:
                self._journal_pending = 0
                if self._journal is not None:
                    try:
                        self._journal.truncate()
                        self._journal.broken = False
                    except OSError:
                        log.debug("store: truncating the journal failed", exc_info=True)
        elif what == "status":
            self._mirror(message[1])
        elif what == "reply":
            _, token, ok, value = message
            future = self._replies.pop(token, None)
            if future is not None:
                future.set_result(value) if ok else future.set_exception(value)
        elif what == "say":
            _, sentence, status = message
            self._mirror(status)
            self._tell(sentence)
        elif what == "ready":
            _, status, _pid = message
            restarted = self._restarting
            self._restarting = False
            self._mirror(status)
            self._ready.set()
            if restarted:
                self._send_drops()  # what was not recorded while none ran
                if self.recording:
                    self._tell(f"recording is on again: a new store writer process (pid {self.pid}) took over "
                               "and records what was answered meanwhile")

    def _mirror(self, status: tuple) -> None:
        (recording, problem, notice, dropped_lines, dropped_invocations, self.replayed, self.skipped_events,
         applied_invocations, applied_lines) = status
        if not self._alive:
            return
        self._child = (dropped_lines, dropped_invocations, applied_invocations, applied_lines)
        self.problem, self.notice = problem, notice
        if recording:
            self._keep_journal()
        self.recording = recording

    def _keep_journal(self) -> None:
        """A journal while recording: opened once the store is, reopened when `.funcstudio/` was
        removed (a fresh store), usable again after a full disk."""
        if not self._journal_wanted:
            return
        with self._journal_lock:
            journal = self._journal
            if journal is not None and journal.path.exists():
                if journal.broken and self._journal_pending == 0:
                    journal.truncate()
                    journal.broken = False
                return
            if journal is not None:
                journal.close(remove=False)
            try:
                self._journal = Journal(journal_dir(self.db_path))
                self._notify("journal", str(self._journal.path))
            except OSError as exc:
                self._journal = None
                log.warning("store: no journal in %s (%s): invocations answered just before a kill may be "
                            "lost", journal_dir(self.db_path), exc)

    def _journal_committed(self, finished: int) -> None:
        with self._journal_lock:
            self._journal_pending = max(0, self._journal_pending - finished)
            if self._journal is not None and self._journal_pending == 0 and self._alive:
                try:
                    self._journal.truncate()
                except OSError:
                    log.debug("store: truncating the journal failed", exc_info=True)

    def _child_exited(self) -> str | None:
        """The child is gone: why, or None when it was closed."""
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self._stopping:
            self._alive = False
            self._fail_waiting("the store's writer is closed")
            return None
        lines, invocations, applied_invocations, applied_lines = self._child
        self._gone_drops[0] += invocations - applied_invocations
        self._gone_drops[1] += lines - applied_lines
        self._child = (0, 0, 0, 0)
        self._restarting = False
        if code is not None and code < 0:
            try:
                how = f"was killed ({signal.Signals(-code).name})"
            except ValueError:
                how = f"was killed (signal {-code})"
        else:
            how = f"exited (code {code})"
        said = self.db_path.parent / WRITER_LOG
        where = f"; what it said is in {said}" if _size(said) > self._log_mark else ""
        return f"the store's writer process (pid {self.pid}) {how}{where}"

    def _gone(self, reason: str) -> None:
        self._alive = False
        self.recording = False
        self.problem = f"recording is off: {reason}"
        (log.info if self._on_problem is not None else log.warning)("funcstudio store: %s", self.problem)
        self._fail_waiting(self.problem)
        self._ready.set()
        self._tell(self.problem)

    def _fail_waiting(self, reason: str) -> None:
        for token in list(self._replies):
            future = self._replies.pop(token, None)
            if future is not None and not future.done():
                future.set_exception(StoreError(reason))
        with self._committed:
            self._committed.notify_all()

    def _tell(self, sentence: str) -> None:
        if self._on_problem is not None:
            try:
                self._on_problem(sentence)
            except Exception:  # noqa: BLE001
                log.exception("store on_problem callback failed")

    # --- waiting for commits, other writes ---------------------------------------------------------

    def _request(self, name: str, *args: object, timeout: float = 30.0) -> object:
        """Run the named operation in the child and return its result; raises StoreError when the
        child is gone or does not answer within `timeout`."""
        if not self._alive or self._closing:
            raise StoreError(self.problem or "the store's writer is closed")
        token = next(self._tokens)
        future: Future = Future()
        self._replies[token] = future
        self._send(channel.OPERATION, pickle.dumps((token, name, args), _PICKLE))
        if not self._alive:
            self._fail_waiting(self.problem or "the store's writer is closed")
        try:
            return future.result(timeout)
        except FutureTimeout:
            self._replies.pop(token, None)
            raise StoreError(f"the store's writer did not answer {name} within {timeout:g} s") from None

    def _notify(self, name: str, *args: object) -> None:
        if self._alive:
            self._send(channel.OPERATION, pickle.dumps((0, name, args), _PICKLE))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event sent before this call is committed. For tests and the CLI."""
        self._send_held(float("inf"))  # a running invocation's start and lines too
        try:
            return bool(self._request("flush", timeout, timeout=timeout + 5.0))
        except StoreError:
            return False

    def wait_recorded(self, request_id: str, timeout: float = 2.0) -> bool:
        """Block until the invocation `request_id` is committed (True), or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        self._notify("hurry")
        with self._committed:
            while request_id not in self._committed_ids:
                remaining = deadline - time.monotonic()
                if not self.recording or not self._alive or remaining <= 0:
                    return False
                self._committed.wait(remaining)
        return True

    def add_listener(self, callback: Callable[[CommitInfo], None]) -> None:
        """Call `callback(CommitInfo)` after each commit, on this process's reader thread (keep it quick)."""
        self._listeners = [*self._listeners, callback]

    def keep_from(self, log_id: int | None) -> None:
        """Retention never removes this line, any newer one, or their invocations; None lifts it."""
        self.keep_from_log_id = log_id
        self._notify("keep_from", log_id)

    def save_request(self, function_id: str, name: str, **request: object) -> SavedRequest:
        """Create or replace (same function and name) a saved request; returns it as stored."""
        return self._request("save_request", function_id, name, request)  # type: ignore[return-value]

    def delete_saved_request(self, saved_id: int) -> bool:
        return self._request("delete_saved_request", saved_id)  # type: ignore[return-value]

    def clear(self) -> dict[str, int]:
        """Delete every invocation, log line and frame (saved requests stay); returns what was removed."""
        return self._request("clear")  # type: ignore[return-value]

    def close(self, timeout: float = 10.0) -> None:
        """Unsubscribe, let the child write what it holds and exit, close the journal (removed when
        everything in it was committed, else left for the next recorder to replay)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._restart_wait.set()  # a reader waiting to restart a dead child gives up
        if self._alive and not self._closing:
            self._send_held(float("inf"))
            self._stopping = True  # its exit is expected from here on
            try:
                self._request("close", timeout=timeout)
            except StoreError:
                pass
        self._closing = self._stopping = True
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout)
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close(remove=self._journal.size == 0)  # else the next recorder replays it
                self._journal = None
        self._sock.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def status(self) -> dict[str, object]:
        return {
            "recording": self.recording,
            "problem": self.problem,
            "notice": self.notice,
            "db_path": str(self.db_path),
            "queued": len(self._backlog) + len(self._kept) // 2,
            "dropped_lines": self.dropped_lines,
            "dropped_invocations": self.dropped_invocations,
            "skipped_events": self.skipped_events,
            "journal": str(self._journal.path) if self._journal is not None else None,
            "replayed": self.replayed,
            "pid": self.pid,
            "restarts": self.restarts,
        }

    def __enter__(self) -> RecorderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _channel() -> tuple[socket.socket, socket.socket]:
    """The socket pair between this process and a child: (ours, the child's)."""
    ours, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for end in (ours, child_end):
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:
                end.setsockopt(socket.SOL_SOCKET, option, channel.BUFFER_BYTES)
            except OSError:
                pass
    return ours, child_end


def _spawn(child_end: socket.socket, log_path: Path) -> subprocess.Popen:
    """`python -m studio.store.ingester` with this interpreter, able to import this `studio`. What it
    prints (a warning, a traceback) goes to `log_path`, not to this process's terminal, where the
    studio draws its screen."""
    here = str(Path(__file__).resolve().parents[2])  # the folder holding this `studio` package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    fd = child_end.fileno()
    output = _open_log(log_path)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "studio.store.ingester", str(fd), str(os.getpid())],
            pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=output, env=env,
            start_new_session=True,
        )
    finally:
        if isinstance(output, int) and output >= 0:
            os.close(output)


def _open_log(path: Path) -> int:
    """The writer process's output file, started over once past `WRITER_LOG_MAX_BYTES`; where it
    cannot be written (a read-only `.funcstudio/`), nowhere."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        big = path.exists() and path.stat().st_size > WRITER_LOG_MAX_BYTES
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if big else os.O_APPEND) | getattr(os, "O_CLOEXEC", 0)
        return os.open(path, flags, 0o600)
    except OSError:
        return subprocess.DEVNULL


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

"""The store writer process: `python -m studio.store.ingester <fd> <parent pid>`, started by ingest.py.

It runs a `Recorder` (writer.py) fed from the socket `fd`, so SQLite, redaction and row building run
in a process of their own and never compete with the serving process's event loop for its GIL.
Its main thread reads frames and hands events to the recorder (whose writer thread commits them in
batches, replays dead processes' journals, enforces retention...); it sends back what the parent
mirrors: status (recording, problem, notice, drop counts), each commit, how many journaled records
were committed (the parent then truncates its journal), and replies to named operations.

It dies with its parent (PR_SET_PDEATHSIG on Linux, and EOF on its socket), ignores the terminal's
Ctrl-C (the parent closes it, after it wrote what it holds), and on `close` writes what is queued,
closes the store and exits.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

from studio.runtime.events import InvocationFinished, InvocationRecord, InvocationStarted
from studio.store import channel
from studio.store.journal import journal_lines, line_json
from studio.store.writer import CommitInfo, Recorder, whole_event

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
READ_BYTES = 1 << 20
READ_PAUSE_S = 0.005
"""After a read that did not fill the buffer, wait this long before the next one (see `run`)."""
GC_THRESHOLDS = (10_000, 10, 10)
"""The cyclic collector runs per 10,000 allocations, not 700: records and rows are acyclic (refcounting
frees them), and scanning the batch that waits for its commit took ~5% of this process's CPU."""
_NULL = {}.get
"""A C callable that answers None for None (`{}.get(None)`): the adapter that binds NULL (`main`)."""
OPERATIONS = {"save_request", "delete_saved_request", "clear", "flush"}
"""Operations answered from a thread of their own (they wait for the writer thread)."""


class _ChildRecorder(Recorder):
    """A Recorder that tells the parent how many of the (parent-journaled) records it committed."""

    def __init__(self, ingester: Ingester, *args, **kwargs) -> None:
        self._relay = ingester.send
        ingester.recorder = self  # before its thread starts: a problem it says carries its status
        super().__init__(*args, **kwargs)

    parent_journal: Path | None = None
    """The parent's journal (it appends; we only read it, to recover after a pause)."""

    def _journal_committed(self, finished: int) -> None:
        super()._journal_committed(finished)
        self._relay(("journaled", finished))

    def _recover_own_journal(self, upto: int) -> None:
        """After a pause (a full disk): what the parent journaled and we could not commit goes in now,
        and no longer counts as dropped; the parent then starts its journal over."""
        path = self.parent_journal
        if path is None:
            return
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return
        records = self._replay_recovered(journal_lines(data))
        self._relay(("recovered", len(records)))


class Ingester:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self.recorder: Recorder | None = None
        self._applied = [0, 0]
        """Invocations and lines the parent dropped (a full channel, recording off) and told us."""
        self._last_status: tuple | None = None

    def send(self, message: tuple) -> None:
        data = channel.frame(channel.MESSAGE, pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        try:
            with self._send_lock:
                self.sock.sendall(data)
        except OSError:
            pass  # the parent is gone: nobody to tell

    def status(self) -> tuple:
        recorder = self.recorder
        # while a paused recorder tries to resume it says `recording` for a moment: on once it did
        recording = getattr(recorder, "recording", False) and getattr(recorder, "_retry_at", None) is None
        return (
            recording, getattr(recorder, "problem", None),
            getattr(recorder, "notice", None), getattr(recorder, "dropped_lines", 0),
            getattr(recorder, "dropped_invocations", 0), getattr(recorder, "replayed", 0),
            getattr(recorder, "skipped_events", 0), self._applied[0], self._applied[1],
        )

    def _say(self, sentence: str) -> None:
        self._last_status = status = self.status()
        self.send(("say", sentence, status))

    def _commit(self, info: CommitInfo) -> None:
        self._last_status = status = self.status()
        self.send(("commit", info, status))

    def _report_status(self) -> None:
        status = self.status()
        if status != self._last_status:
            self._last_status = status
            self.send(("status", status))

    def run(self) -> None:
        frames = channel.Frames()
        try:
            while True:
                try:
                    data = self.sock.recv(READ_BYTES)
                except OSError:
                    data = b""
                if not data:
                    break
                for kind, payload in frames.feed(data):
                    if not self._take(kind, payload):
                        return
                self._report_status()
                if len(data) < READ_BYTES:
                    # Let frames pile up in the socket rather than waking per request: a send then
                    # wakes nobody (cheaper for the serving process too), and each wake-up here costs
                    # a GIL hand-off with the writer thread. Commits wait ~20 ms anyway.
                    time.sleep(READ_PAUSE_S)
        finally:
            if self.recorder is not None:
                self.recorder.close()

    def _take(self, kind: int, payload: bytes) -> bool:
        """`_handle`, except that an event frame this process cannot read (a journal line it cannot
        parse, say) is skipped and counted, not the end of the process and of what it queued."""
        try:
            return self._handle(kind, payload)
        except Exception:  # noqa: BLE001 - one unreadable event must not stop recording
            if kind in (channel.INIT, channel.OPERATION) or self.recorder is None:
                raise
            self.recorder.skipped_events += 1
            log.debug("store: skipped an event frame it could not read (kind %d)", kind, exc_info=True)
            return True

    def _handle(self, kind: int, payload: bytes) -> bool:
        recorder = self.recorder
        if kind == channel.FINISHED:
            recorder(InvocationFinished(InvocationRecord.from_json(line_json(payload))))
        elif kind == channel.FINISHED_WHOLE:  # its lines were never sent: they are the record's
            recorder(whole_event(payload, recorder.settings, recorder._redactor))
        elif kind == channel.STARTED:
            recorder(InvocationStarted(*pickle.loads(payload)))
        elif kind == channel.LOG:
            recorder(pickle.loads(payload))
        elif kind == channel.DROPPED:
            invocations, lines = pickle.loads(payload)
            self._applied[0] += invocations
            self._applied[1] += lines
            recorder.dropped_invocations += invocations
            recorder.dropped_lines += lines
        elif kind == channel.OPERATION:
            return self._operate(*pickle.loads(payload))
        elif kind == channel.INIT:
            db_path, settings, queue_limit, busy_timeout_ms = pickle.loads(payload)
            recorder = _ChildRecorder(self, db_path, settings, queue_limit=queue_limit, journal=False,
                                      busy_timeout_ms=busy_timeout_ms, on_problem=self._say)
            recorder.add_listener(self._commit)
            self._last_status = status = self.status()
            self.send(("ready", status, os.getpid()))
        return True

    def _operate(self, token: int, name: str, args: tuple) -> bool:
        recorder = self.recorder
        if name == "hurry":
            recorder._hurry.set()
            recorder._wake.set()
        elif name == "keep_from":
            recorder.keep_from(*args)
        elif name == "journal":
            recorder.parent_journal = Path(args[0])
        elif name == "close":
            recorder.close()  # writes what is queued first
            self._report_status()
            self.send(("reply", token, True, None))
            return False
        elif name in OPERATIONS:
            threading.Thread(target=self._answer, args=(token, name, args), daemon=True,
                             name=f"funcstudio-ingester-{name}").start()
        else:
            self.send(("reply", token, False, ValueError(f"no store operation {name!r}")))
        return True

    def _answer(self, token: int, name: str, args: tuple) -> None:
        try:
            if name == "save_request":
                function_id, request_name, request = args
                result = self.recorder.save_request(function_id, request_name, **request)
            else:
                result = getattr(self.recorder, name)(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller waiting for it
            self.send(("reply", token, False, _portable(exc)))
        else:
            self.send(("reply", token, True, result))


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a StoreError saying the same."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        from studio.store.db import StoreError

        return StoreError(f"{type(exc).__name__}: {exc}")


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(70)


def bind_as_is() -> None:
    """sqlite3 binds an int, float, str or bytearray at once, but tries to adapt any other value first:
    for None (NULL columns and levels) and bytes (bodies) it looks up `__adapt__` and `__conform__`,
    formatting an AttributeError each time (~2,000 instructions a value, ~10 values an invocation:
    ~4% of this process's CPU). An adapter registered for the exact type is found first and hands
    the value back as it is (`bytes(b) is b`), so what is bound, and stored, is the same. Process-wide
    (sqlite3 keeps one registry), so only this process, whose one job is the store, sets it."""
    sqlite3.register_adapter(bytes, bytes)
    sqlite3.register_adapter(type(None), _NULL)


def main(argv: list[str]) -> int:
    fd, parent_pid = int(argv[0]), int(argv[1])
    bind_as_is()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes us in order
    _die_with_parent(parent_pid)
    gc.freeze()  # what the imports made lives as long as the process: never scan it again
    gc.set_threshold(*GC_THRESHOLDS)
    Ingester(socket.socket(fileno=fd)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The store's single writer: runtime events in, batched SQLite transactions out.

    recorder = Recorder(db_path(project_root), settings.store).attach(runtime.bus)
    ...
    recorder.close()

Publishing (`Recorder.__call__`, run on the gateway's request threads) only appends to a deque and
wakes the writer thread: it never blocks and never raises. The writer drains the deque, writes
everything it found in ONE transaction and commits at once, so under load batches grow by
themselves and at rest each invocation is committed within a millisecond or two. In WAL mode with
`synchronous=NORMAL` a committed transaction survives a killed process.

**Full queue: drop, counted.** The deque is bounded (`queue_limit` events). Past it, log lines are
dropped and counted in `dropped_lines` (and a `platform` line saying how many is written once the
writer catches up), while invocation events (started/finished) are still accepted up to twice the
limit: they are few, small and what `show` and the history need. Spilling to a file would only move
the problem to the same slow disk, and blocking would stall requests, which the runtime must never do.

**Acknowledged means recorded.** The gateway publishes `InvocationFinished` in its teardown, before
werkzeug writes the response to the socket. With `ack_timeout` set (as `serve` and `invoke` do), the
subscriber call for that one event waits until its transaction is committed (group commit: one
commit serves every request waiting on it, typically well under a millisecond), at most
`ack_timeout` seconds and not at all while recording is off. So a response that reached a client is
in the store even if the process is SIGKILLed right after. This is the only wait on the request
path, and it is bounded; log lines and every other event never wait. `wait_recorded(request_id,
timeout)` offers the same wait to any other caller.

**Failure keeps the runtime serving.** A locked, read-only or newer-version database, or a full disk,
turns `recording` off with a sentence in `problem` (also given to `on_problem` and logged); events
are then dropped cheaply. Nothing here raises into the publisher.

Retention (newest `max_invocations` invocations, newest `max_log_lines` log lines) is enforced by
this thread, in chunks of `PRUNE_CHUNK` rows between batches, so pruning never delays a write long.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from studio.project.settings import StoreSettings
from studio.runtime.events import InvocationFinished, InvocationRecord, InvocationStarted, LogLine
from studio.store import maintenance
from studio.store.db import BUSY_TIMEOUT_MS, StoreError, describe_error, open_store
from studio.store.redact import cap_line, redact_record
from studio.store.rows import SavedRequest, frame_rows, invocation_row

if TYPE_CHECKING:
    from studio.runtime.events import Event, EventBus

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_MAX = 5_000
"""Events written per transaction at most; a bigger backlog is written in several."""
COMMITTED_IDS_KEPT = 20_000
"""Request ids remembered as committed, for `wait_recorded`."""
RETRY_BUSY = 3
ABANDONED_AFTER_S = 3600.0
"""A `running` invocation older than this at start-up belonged to a dead process."""


@dataclass(frozen=True)
class CommitInfo:
    """What one committed batch added; given to `Recorder.add_listener` callbacks."""

    invocations: int
    """Invocations finished in this batch."""
    logs: int
    last_log_id: int | None
    request_ids: tuple[str, ...]


class Recorder:
    """Records runtime events into the store from one writer thread. See the module docstring."""

    def __init__(
        self,
        db_path: str | Path,
        settings: StoreSettings | None = None,
        *,
        queue_limit: int = 100_000,
        ack_timeout: float | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings or StoreSettings()
        self.queue_limit = queue_limit
        self.ack_timeout = ack_timeout
        self._ack_degraded = False
        self.recording = False
        self.problem: str | None = None
        self.dropped_lines = 0
        self.dropped_invocations = 0
        self.skipped_events = 0
        """Events that could not be written (a bug or bad value); logged, never fatal."""
        self._on_problem = on_problem
        self._queue: deque[Event] = deque()
        self._tasks: deque[tuple[Callable[[sqlite3.Connection], object], Future]] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._committed = threading.Condition()
        self._committed_ids: OrderedDict[str, None] = OrderedDict()
        self._enqueued = 0
        self._count_lock = threading.Lock()
        self._written = 0
        self._listeners: list[Callable[[CommitInfo], None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._open_ids: dict[str, int] = {}
        """request id -> invocations.id for invocations started and not yet finished."""
        self._unreported_drops = 0
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = open_store(self.db_path, busy_timeout_ms=busy_timeout_ms)
        except StoreError as exc:
            self._turn_off(str(exc))
        else:
            self.recording = True
            self._close_abandoned()
        self._thread = threading.Thread(target=self._run, name="funcstudio-store-writer", daemon=True)
        self._thread.start()

    # --- publisher side (any thread) -----------------------------------------------------------

    def attach(self, bus: EventBus) -> Recorder:
        """Subscribe to `bus`; returns self so `Recorder(...).attach(bus)` reads as one step."""
        self._unsubscribe = bus.subscribe(self)
        return self

    def __call__(self, event: Event) -> None:
        """The bus subscriber: enqueue and wake the writer. Never raises; waits only for `ack_timeout`."""
        if not self.recording:
            return
        try:
            self._enqueue(event)
        except Exception:  # noqa: BLE001 - recording is best effort; the request path comes first
            log.exception("store: could not enqueue %r", event)

    def _enqueue(self, event: Event) -> None:
        if not isinstance(event, (LogLine, InvocationStarted, InvocationFinished)):
            return
        backlog = len(self._queue)
        if backlog >= self.queue_limit:
            if isinstance(event, LogLine):
                self.dropped_lines += 1
                return
            if backlog >= 2 * self.queue_limit:
                self.dropped_invocations += 1
                return
        with self._count_lock:
            self._queue.append(event)
            self._enqueued += 1
        if not self._wake.is_set():
            self._wake.set()
        if self.ack_timeout and not self._ack_degraded and isinstance(event, InvocationFinished):
            if not self.wait_recorded(event.record.request_id, self.ack_timeout):
                # The writer is stuck (a lock, a slow disk): stop waiting until a commit succeeds again,
                # so one stall costs one request `ack_timeout`, not every request after it.
                self._ack_degraded = True

    def wait_recorded(self, request_id: str, timeout: float = 2.0) -> bool:
        """Block until the invocation `request_id` is committed (True), or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        with self._committed:
            while request_id not in self._committed_ids:
                remaining = deadline - time.monotonic()
                if not self.recording or remaining <= 0:
                    return False
                self._committed.wait(remaining)
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event enqueued before this call is committed. For tests and the CLI."""
        target = self._enqueued
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._committed:
            while self._written < target:
                remaining = deadline - time.monotonic()
                if not self.recording or remaining <= 0 or not self._thread.is_alive():
                    return self._written >= target
                self._committed.wait(min(remaining, 0.1))
        return True

    def add_listener(self, callback: Callable[[CommitInfo], None]) -> None:
        """Call `callback(CommitInfo)` on the writer thread after each commit (keep it quick)."""
        self._listeners = [*self._listeners, callback]

    # --- other writes, on the writer thread ------------------------------------------------------

    def run(self, operation: Callable[[sqlite3.Connection], T], timeout: float = 30.0) -> T:
        """Run `operation(conn)` (one of `maintenance`'s) on the writer thread, between batches, and
        return its result; raises `StoreError` when recording is off or the operation fails."""
        if not self.recording or self._closing:
            raise StoreError(self.problem or "the store's writer is closed")
        done: Future = Future()
        self._tasks.append((operation, done))
        self._wake.set()
        return done.result(timeout)

    def save_request(self, function_id: str, name: str, **request: object) -> SavedRequest:
        """Create or replace (same function and name) a saved request; returns it as stored.
        `request`: method, path, headers, body, event (see `maintenance.save_request`)."""
        return self.run(lambda conn: maintenance.save_request(conn, function_id, name, **request))  # type: ignore[arg-type]

    def delete_saved_request(self, saved_id: int) -> bool:
        return self.run(lambda conn: maintenance.delete_saved_request(conn, saved_id))

    def clear(self) -> dict[str, int]:
        """Delete every invocation, log line and frame (saved requests stay); returns what was removed."""
        return self.run(self._clear)

    def _clear(self, conn: sqlite3.Connection) -> dict[str, int]:
        removed = maintenance.clear_history(conn)
        self._open_ids.clear()
        return removed

    def _run_tasks(self) -> None:
        while self._tasks:
            operation, done = self._tasks.popleft()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                if self._conn is None or not self.recording:
                    raise StoreError(self.problem or "the store's writer is closed")
                done.set_result(operation(self._conn))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller waiting on it
                self._safe_rollback()
                done.set_exception(exc)

    def close(self, timeout: float = 10.0) -> None:
        """Unsubscribe, write what is queued, stop the thread and close the database."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        if self._conn is not None and not self._thread.is_alive():
            try:
                self._conn.execute("PRAGMA optimize")  # keeps the planner's statistics fresh, cheaply
            except sqlite3.Error:
                pass
            self._conn.close()
            self._conn = None

    def status(self) -> dict[str, object]:
        return {
            "recording": self.recording,
            "problem": self.problem,
            "db_path": str(self.db_path),
            "queued": len(self._queue),
            "dropped_lines": self.dropped_lines,
            "dropped_invocations": self.dropped_invocations,
            "skipped_events": self.skipped_events,
        }

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _close_abandoned(self) -> None:
        """Invocations left `running` by a process that died long ago will never finish."""
        assert self._conn is not None
        try:
            self._conn.execute(
                "UPDATE invocations SET state = 'interrupted' WHERE state = 'running' AND started_at < ?",
                (time.time() - ABANDONED_AFTER_S,),
            )
        except sqlite3.Error as exc:
            log.warning("store: %s", describe_error(exc, self.db_path))

    # --- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()  # before draining, so an event appended after the drain wakes us again
            try:
                while self._queue:
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), BATCH_MAX))]
                    self._write_batch(batch)
                self._run_tasks()
                if self.recording and not self._closing:
                    self._prune_some()
            except Exception as exc:  # noqa: BLE001 - a bug here must not leave the runtime waiting on us
                log.exception("store writer failed")
                self._safe_rollback()
                self._turn_off(f"the store writer failed: {type(exc).__name__}: {exc}")
            if self._closing and not self._queue:
                self._run_tasks()
                break

    def _write_batch(self, batch: list[Event]) -> None:
        if not self.recording or self._conn is None:
            self._mark_written(len(batch), ())
            return
        for attempt in range(RETRY_BUSY + 1):
            try:
                info = self._apply(batch)
            except sqlite3.OperationalError as exc:
                self._safe_rollback()
                busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
                if busy and attempt < RETRY_BUSY:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                self._turn_off(describe_error(exc, self.db_path))
                break
            except sqlite3.Error as exc:
                self._safe_rollback()
                self._turn_off(describe_error(exc, self.db_path))
                break
            else:
                self._ack_degraded = False
                self._mark_written(len(batch), info.request_ids)
                for listener in self._listeners:
                    try:
                        listener(info)
                    except Exception:  # noqa: BLE001 - a listener's bug must not stop recording
                        log.exception("store commit listener %r failed", listener)
                return
        self._mark_written(len(batch), ())

    def _apply(self, batch: list[Event]) -> CommitInfo:
        """Write one batch in one transaction. Raises sqlite3 errors for the caller to handle."""
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        log_rows: list[tuple] = []
        finished: list[str] = []
        new_invocations = 0
        for event in batch:
            try:
                if isinstance(event, LogLine):
                    invocation_id, created = self._invocation_id(conn, event.request_id, event)
                    new_invocations += created
                    log_rows.append(
                        (
                            invocation_id,
                            event.function_id,
                            event.seq,
                            event.time,
                            event.stream,
                            event.level.upper() if event.level else None,
                            cap_line(event.text),
                        )
                    )
                elif isinstance(event, InvocationStarted):
                    new_invocations += self._start(conn, event)
                elif isinstance(event, InvocationFinished):
                    new_invocations += self._finish(conn, event.record)
                    finished.append(event.record.request_id)
            except (sqlite3.InterfaceError, sqlite3.IntegrityError, TypeError, ValueError, AttributeError):
                self.skipped_events += 1
                log.exception("store: skipped an event it could not write: %r", event)
        if self._unreported_drops != self.dropped_lines:
            log_rows.append(self._drop_notice(conn))
            new_invocations += 1
        last_log_id = None
        if log_rows:
            conn.executemany(
                "INSERT INTO logs (invocation_id, function_id, seq, time, stream, level, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                log_rows,
            )
            last_log_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        maintenance.bump(conn, "invocations", new_invocations)
        maintenance.bump(conn, "logs", len(log_rows))
        conn.execute("COMMIT")
        return CommitInfo(len(finished), len(log_rows), last_log_id, tuple(finished))

    def _invocation_id(self, conn: sqlite3.Connection, request_id: str, event: LogLine) -> tuple[int, int]:
        """The row a log line belongs to; a placeholder row when its start was never seen."""
        known = self._open_ids.get(request_id)
        if known is not None:
            return known, 0
        row = conn.execute("SELECT id FROM invocations WHERE request_id = ?", (request_id,)).fetchone()
        if row is not None:
            return row[0], 0
        started = InvocationStarted(request_id, event.function_id, "http", "", "", event.time)
        self._start(conn, started)
        return self._open_ids[request_id], 1

    def _start(self, conn: sqlite3.Connection, event: InvocationStarted) -> int:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO invocations (request_id, state, function_id, trigger, method, path, "
            "started_at) VALUES (?, 'running', ?, ?, ?, ?, ?)",
            (event.request_id, event.function_id, event.trigger, event.method, event.path, event.started_at),
        )
        if cursor.rowcount:
            self._open_ids[event.request_id] = cursor.lastrowid
            return 1
        return 0

    def _finish(self, conn: sqlite3.Connection, record: InvocationRecord) -> int:
        values = invocation_row(redact_record(record), self.settings.body_cap_bytes)
        invocation_id = self._open_ids.pop(record.request_id, None)
        if invocation_id is None:
            row = conn.execute(
                "SELECT id FROM invocations WHERE request_id = ?", (record.request_id,)
            ).fetchone()
            invocation_id = row[0] if row else None
        created = 0
        if invocation_id is not None:
            assignments = ", ".join(f"{name} = ?" for name in values)
            updated = conn.execute(
                f"UPDATE invocations SET {assignments} WHERE id = ?", (*values.values(), invocation_id)
            ).rowcount
            conn.execute("DELETE FROM frames WHERE invocation_id = ?", (invocation_id,))
            if not updated:  # its running row was cleared meanwhile
                invocation_id = None
        if invocation_id is None:
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cursor = conn.execute(
                f"INSERT INTO invocations ({columns}) VALUES ({marks})", tuple(values.values())
            )
            invocation_id = cursor.lastrowid
            created = 1
        frames = frame_rows(invocation_id, record)
        if frames:
            conn.executemany(
                "INSERT INTO frames (invocation_id, idx, file, line, function, source, locals, is_user_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                frames,
            )
        return created

    def _drop_notice(self, conn: sqlite3.Connection) -> tuple:
        """A platform line, under a synthetic invocation, saying how many lines a full queue cost."""
        dropped = self.dropped_lines - self._unreported_drops
        self._unreported_drops = self.dropped_lines
        now = time.time()
        notice = InvocationStarted(f"recorder-{now:.6f}", None, "platform", "", "", now)
        self._start(conn, notice)
        invocation_id = self._open_ids.pop(notice.request_id)
        conn.execute("UPDATE invocations SET state = 'finished' WHERE id = ?", (invocation_id,))
        text = f"funcstudio: {dropped} log lines were not recorded (the recorder's queue was full)"
        return (invocation_id, None, 0, now, "platform", "WARNING", text)

    def _prune_some(self) -> None:
        """Delete one chunk of the oldest rows past the retention limits (called between batches)."""
        if self._conn is None:
            return
        try:
            more = maintenance.prune_some(self._conn, self.settings.max_invocations, self.settings.max_log_lines)
        except (StoreError, sqlite3.Error) as exc:
            self._safe_rollback()
            log.warning("store: pruning failed, will retry: %s", exc)
            return
        if more:
            self._wake.set()  # more to prune: come straight back after any new events

    def _mark_written(self, count: int, request_ids: tuple[str, ...]) -> None:
        with self._committed:
            self._written += count
            for request_id in request_ids:
                self._committed_ids[request_id] = None
            while len(self._committed_ids) > COMMITTED_IDS_KEPT:
                self._committed_ids.popitem(last=False)
            self._committed.notify_all()

    def _safe_rollback(self) -> None:
        try:
            if self._conn is not None and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _turn_off(self, message: str) -> None:
        self.recording = False
        self.problem = f"recording is off: {message}"
        self._queue.clear()
        # Said once: through the caller's channel when it gave one, else the log.
        (log.info if self._on_problem is not None else log.warning)("funcstudio store: %s", self.problem)
        with self._committed:
            self._committed.notify_all()
        if self._on_problem is not None:
            try:
                self._on_problem(self.problem)
            except Exception:  # noqa: BLE001
                log.exception("store on_problem callback failed")



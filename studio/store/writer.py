"""The store's single writer: runtime events in, batched SQLite transactions out.

    recorder = Recorder(db_path(project_root), settings.store).attach(bus)
    ...
    recorder.close()

Where it runs: `serve`, `invoke`, the studio and the testing plugin (store/wiring.py) run it in a
child process of its own (ingest.py's `RecorderProcess` in the serving process, ingester.py in the
child), so its Python and SQLite never compete with the gateway's event loop for the GIL; there the
parent journals each finished record (below) and the child's Recorder runs with `journal=False` and
tells the parent what it committed. In-process (`Recorder(...)` directly) it works the same, as the
tests and tools that construct it do.

Publishing (`Recorder.__call__`) only appends to a deque and
wakes the writer thread: it never blocks and never raises. The writer drains the deque, writes
everything it found in ONE transaction and commits at once, so under load batches grow by
themselves; a lone invocation is committed some 20 ms after it, a busy server's at least once a
second (`_gather`). In WAL mode with
`synchronous=NORMAL` a committed transaction survives a killed process.

**Full queue: drop, counted.** The deque is bounded (`queue_limit` events). Past it, log lines are
dropped and counted in `dropped_lines` (and a `platform` line saying how many is written once the
writer catches up), while invocation events (started/finished) are still accepted up to twice the
limit: they are few, small and what `show` and the history need. Spilling to a file would only move
the problem to the same slow disk, and blocking would stall requests, which the runtime must never do.

**Answered means recorded, without waiting.** The gateway publishes `InvocationFinished` before the
response goes out. For that one event the subscriber call appends the record to this process's
journal (journal.py: one line copied into a mapped file) and returns; it never waits for the writer thread. The
writer commits from memory in batches (it gathers until events stop coming for `BATCH_WINDOW_S`, at
most `GATHER_MAX_S`, so a quick invocation's start and finish share one transaction and a busy server
is not slowed by the writer's Python competing for the GIL) and truncates the journal once everything in it is committed. After
a SIGKILL the next writer to start replays the dead process's journal (INSERT-OR-IGNORE by request
id), so a response that reached a client is in the store. `wait_recorded(request_id, timeout)` and
`flush()` wait for a commit for callers that want to read their own writes.

**Failure keeps the runtime serving.** A read-only or newer-version database (or an unwritable
`.funcstudio/`) turns `recording` off with a sentence in `problem` (also given to `on_problem` and
logged); events are then dropped cheaply and counted (`dropped_invocations`). A full disk or a lock
held too long also turns it off, but only for a while: the writer retries with backoff (0.5 s up to
30 s) and, once a write succeeds, recording is on again and a `platform` line in the store says how
many invocations and lines were not recorded meanwhile. Nothing here raises into the publisher.

**The file stays its own.** With each batch the writer checks that `studio.db` is still the file it
opened (device and inode, and the SQLite magic when the inode is the same; `durability.py`). When
it was deleted, replaced or overwritten, the writer abandons its connection without checkpointing
into a file it does not own, moves an unusable file aside and goes on in a fresh store at the same
path, saying so once in `notice` (given to `on_problem` too).

Retention (newest `max_invocations` invocations, newest `max_log_lines` log lines) is enforced by
this thread, in chunks of `PRUNE_CHUNK` rows between batches, so pruning never delays a write long.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
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
from studio.store import durability, maintenance
from studio.store.db import BUSY_TIMEOUT_MS, NotADatabaseError, StoreError, describe_error, open_store
from studio.store.journal import (
    Journal,
    journal_dir,
    journal_line,
    line_json,
    orphans,
    parse_records,
    read_records,
)
from studio.store.redact import Redactor, cap_line
from studio.store.rows import JsonRow, SavedRequest, ascii_json, frame_rows, invocation_row, json_row

if TYPE_CHECKING:
    from studio.runtime.events import Event, EventBus

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_MAX = 5_000
"""Events written per transaction at most; a bigger backlog is written in several."""
COMMITTED_IDS_KEPT = 20_000
"""Request ids remembered as committed, for `wait_recorded`."""
RETRY_BUSY_S = 2.0
"""A batch that meets a lock is retried, with growing waits, for this long before the writer pauses.
The busy timeout covers a writer holding the lock, but SQLite answers SQLITE_BUSY at once in a few
cases (another connection setting up a brand-new store as this one writes its first batch, seen with
`logs --follow` waiting for the store), where three quick retries (0.3 s) used to count the batch
as not recorded."""
RETENTION_NOTICE_ROWS = 1_000
"""Rows retention removes before it says so in a line (its own line must not set off another prune)."""
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Waits between attempts to write again after a full disk or a long lock."""
BATCH_WINDOW_S = 0.02
"""The writer gathers events until none came for this long (unless a flush hurries it)."""
GATHER_MAX_S = 1.0
"""...but a busy server's events are committed at least this often: the writer waits for a quiet
moment so that its Python (redaction, rows, SQL) does not compete with requests for the GIL, and
the journal keeps them safe meanwhile."""
ABANDONED_AFTER_S = 3600.0
"""A `running` invocation older than this at start-up belonged to a dead process."""


@dataclass(frozen=True)
class FinishedWhole(InvocationFinished):
    """A finished invocation none of whose events came before it (the writer process's FINISHED_WHOLE
    frame): its start and log lines are the record's own, written with it from this ONE queued event
    (two fewer per EdgeOne request than a line event each)."""


class FinishedRow(FinishedWhole):
    """A FinishedWhole whose rows the writer process built straight from its journal line (`json_row`:
    the same rows, without building the record first). It keeps the line's bytes, not its parsed JSON
    (one object rather than a tree of them for the garbage collector to scan until the commit); its
    `record` is made from them only when something asks (a batch that could not be written)."""

    def __init__(self, line: bytes, row: JsonRow) -> None:
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "row", row)

    @functools.cached_property
    def record(self) -> InvocationRecord:  # type: ignore[override]
        return InvocationRecord.from_json(line_json(self.line))


def whole_event(line: bytes, settings: StoreSettings, redactor: Redactor) -> FinishedWhole:
    """The event of a finished invocation none of whose events came before it, from its journal line:
    a FinishedRow when `json_row` takes it (the common record), else a FinishedWhole."""
    data = line_json(line)
    row = json_row(data, settings.body_cap_bytes, redactor, ascii_json(line))
    return FinishedRow(line, row) if row is not None else FinishedWhole(InvocationRecord.from_json(data))


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
        journal: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings or StoreSettings()
        self._redactor = Redactor.from_settings(self.settings.redact, self.settings.redact_body_fields)
        self.queue_limit = queue_limit
        self.recording = False
        self.problem: str | None = None
        self.notice: str | None = None
        """Said once: the store file was deleted or replaced and recording went on in a fresh one."""
        self.dropped_lines = 0
        self.dropped_invocations = 0
        self.skipped_events = 0
        """Events that could not be written (a bug or bad value); logged, never fatal."""
        self._on_problem = on_problem
        self._queue: deque[Event] = deque()
        self._tasks: deque[tuple[Callable[[sqlite3.Connection], object], Future]] = deque()
        self._wake = threading.Event()
        self._hurry = threading.Event()
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
        self._reported_invocation_drops = 0
        self._drop_reason = "the recorder's queue was full"
        self.keep_from_log_id: int | None = None
        """Retention keeps this log line and newer ones (`keep_from`)."""
        self._pruned = (0, 0)
        """Invocations and lines removed by retention since its last notice."""
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_at: float | None = None
        """While recording is off for a reason that may pass (a full disk, a lock): when to try again."""
        self._retries = 0
        self._conn: sqlite3.Connection | None = None
        self._owned: durability.Owned | None = None
        self._journal: Journal | None = None
        self._journal_lock = threading.Lock()
        self._journal_pending = 0
        """Finished records in the journal and not yet committed; at 0 the journal is truncated."""
        self.replayed = 0
        """Invocations recovered from dead processes' journals at start."""
        self._replay_done = threading.Event()
        try:
            self._open()
        except StoreError as exc:
            if _passing(str(exc)):
                self._pause(str(exc))
            else:
                self._turn_off(str(exc))
        else:
            self.recording = True
            self._close_abandoned()
            if journal:
                self._open_journal()
        self._journal_wanted = journal
        self._thread = threading.Thread(target=self._run, name="funcstudio-store-writer", daemon=True)
        self._thread.start()

    # --- publisher side (any thread) -----------------------------------------------------------

    def attach(self, bus: EventBus) -> Recorder:
        """Subscribe to `bus`; returns self so `Recorder(...).attach(bus)` reads as one step."""
        self._unsubscribe = bus.subscribe(self)
        return self

    def __call__(self, event: Event) -> None:
        """The bus subscriber: enqueue (journal a finished record first) and wake the writer. Never
        raises, never waits for the writer."""
        if not self.recording:
            if isinstance(event, InvocationFinished):
                self.dropped_invocations += 1
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
        if self._journal is not None:
            if isinstance(event, InvocationFinished):
                self._append_journal(event.record)
        with self._count_lock:
            self._queue.append(event)
            self._enqueued += 1
        if not self._wake.is_set():
            self._wake.set()

    def _open_journal(self) -> None:
        try:
            self._journal = Journal(journal_dir(self.db_path))
        except OSError as exc:
            log.warning("store: no journal in %s (%s): invocations answered just before a kill may be "
                        "lost", journal_dir(self.db_path), exc)

    def _append_journal(self, record: InvocationRecord) -> None:
        try:
            line = journal_line(record, self.settings.body_cap_bytes)
        except Exception:  # noqa: BLE001 - the writer will still record it from memory
            log.exception("store: could not journal %s", record.request_id)
            return
        with self._journal_lock:
            journal = self._journal
            if journal is None or journal.broken:
                return
            try:
                journal.append(line)
            except OSError as exc:
                # e.g. a full disk: what the file holds is recovered when recording resumes (or replayed
                # by the next writer); until then invocations are recorded from memory only
                log.warning("store: the journal %s stopped working (%s)", journal.path, exc)
                journal.broken = True
                return
            self._journal_pending += 1

    def _journal_committed(self, finished: int) -> None:
        with self._journal_lock:
            self._journal_pending = max(0, self._journal_pending - finished)
            if self._journal is not None and self._journal_pending == 0:
                try:
                    self._journal.truncate()
                except OSError:
                    log.debug("store: truncating the journal failed", exc_info=True)

    def wait_recorded(self, request_id: str, timeout: float = 2.0) -> bool:
        """Block until the invocation `request_id` is committed (True), or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        self._hurry.set()
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
        self._replay_done.wait(timeout)
        self._hurry.set()
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
        self._hurry.set()  # someone waits for it: no gathering
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
        self._hurry.set()
        self._wake.set()
        self._thread.join(timeout)
        with self._journal_lock:
            if self._journal is not None:
                # everything committed: nothing to replay; else the next writer replays the rest
                self._journal.close(remove=self._journal_pending == 0 and not self._thread.is_alive())
                self._journal = None
        if self._conn is not None and not self._thread.is_alive():
            if self._owned is not None and durability.change(self.db_path, self._owned):
                durability.abandon(self._conn)  # its checkpoint would write into somebody else's file
            else:
                try:
                    self._conn.execute("PRAGMA optimize")  # keeps the planner's statistics fresh, cheaply
                except sqlite3.Error:
                    pass
                self._conn.close()
                if self._owned is not None:
                    self._owned.release()
            self._conn = None

    def status(self) -> dict[str, object]:
        return {
            "recording": self.recording,
            "problem": self.problem,
            "notice": self.notice,
            "db_path": str(self.db_path),
            "queued": len(self._queue),
            "dropped_lines": self.dropped_lines,
            "dropped_invocations": self.dropped_invocations,
            "skipped_events": self.skipped_events,
            "journal": str(self._journal.path) if self._journal is not None else None,
            "replayed": self.replayed,
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

    def _replay_orphans(self) -> None:
        """Commit what dead processes journaled and never committed, then delete their journals."""
        own = self._journal.path if self._journal is not None else None
        for path, fd in orphans(journal_dir(self.db_path), own):
            try:
                records, skipped = read_records(fd)
                for start in range(0, len(records), BATCH_MAX):
                    self._replay_batch(records[start:start + BATCH_MAX])
                if skipped:
                    log.info("store: %d unreadable lines in %s (cut short by a kill) skipped", skipped, path)
                path.unlink()
            except (OSError, sqlite3.Error) as exc:
                self._safe_rollback()
                log.warning("store: could not replay the journal %s: %s", path, exc)
            finally:
                os.close(fd)

    def _replay_batch(self, records: list[InvocationRecord]) -> tuple[int, int]:
        """Commit journaled records not already finished in the store: (invocations, log lines) added."""
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        new_invocations = recovered = 0
        log_rows: list[tuple] = []
        for record in records:
            row = conn.execute(
                "SELECT id, state FROM invocations WHERE request_id = ?", (record.request_id,)
            ).fetchone()
            if row is not None and row[1] == "finished":
                continue  # committed before the kill
            try:
                new_invocations += self._finish(conn, record)
            except Exception as exc:  # noqa: BLE001 - one bad record must not keep a journal unreplayable
                if not _unwritable(exc):
                    raise
                self.skipped_events += 1
                log.warning("store: skipped a journaled record it could not write (%s): %s", record.request_id, exc)
                continue
            invocation_id = self._finished_id
            have = {seq for (seq,) in conn.execute("SELECT seq FROM logs WHERE invocation_id = ?",
                                                   (invocation_id,))}
            log_rows.extend(_log_row(invocation_id, line) for line in record.logs if line.seq not in have)
            self.replayed += 1
            recovered += 1
        self._insert_logs(conn, log_rows)
        maintenance.bump(conn, "invocations", new_invocations)
        maintenance.bump(conn, "logs", len(log_rows))
        conn.execute("COMMIT")
        return recovered, len(log_rows)

    def _replay_recovered(self, data: bytes) -> list[InvocationRecord]:
        """Commit the journal lines in `data` after a pause; they no longer count as dropped."""
        records, _skipped = parse_records(data)
        recovered = lines = 0
        for start in range(0, len(records), BATCH_MAX):
            got, added = self._replay_batch(records[start:start + BATCH_MAX])
            recovered += got
            lines += added
        self.dropped_invocations = max(self._reported_invocation_drops, self.dropped_invocations - recovered)
        self.dropped_lines = max(self._unreported_drops, self.dropped_lines - lines)
        return records

    def _recover_own_journal(self, upto: int) -> None:
        """After a pause: what this process journaled and could not commit (the first `upto` bytes of
        its journal) goes in now, and no longer counts as dropped."""
        journal = self._journal
        if journal is None:
            return
        if upto <= 0:
            journal.broken = False
            return
        with self._journal_lock:
            data = journal.read(upto)
        records = self._replay_recovered(data)
        self._journal_committed(len(records))
        journal.broken = False

    def _run(self) -> None:
        try:
            if self.recording:
                self._replay_orphans()
        except Exception:  # noqa: BLE001 - a bad journal must not stop recording
            log.exception("store: replaying journals failed")
        finally:
            self._replay_done.set()
        while True:
            self._wake.wait(0.5)
            if not self._closing and not self._hurry.is_set():
                self._gather()  # one transaction for a burst, written once the burst is over
            self._hurry.clear()
            self._wake.clear()  # before draining, so an event appended after the drain wakes us again
            if self._retry_at is not None and time.monotonic() >= self._retry_at and not self._closing:
                self._try_resume()
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

    def _gather(self) -> None:
        """Wait while events keep coming (at most `GATHER_MAX_S`, `BATCH_MAX` events): a server
        answering back-to-back requests is left alone, and its events are written in the first gap."""
        until = time.monotonic() + GATHER_MAX_S
        seen = self._enqueued
        while not self._hurry.wait(BATCH_WINDOW_S):
            enqueued = self._enqueued
            if (enqueued == seen or self._closing or self._tasks or len(self._queue) >= BATCH_MAX
                    or time.monotonic() >= until):
                return
            seen = enqueued

    def _write_batch(self, batch: list[Event]) -> None:
        if self.recording and self._conn is not None:
            self._keep_own_file()
        if not self.recording or self._conn is None:
            self._count_lost(batch)
            self._mark_written(len(batch), ())
            return
        began = time.monotonic()
        for attempt in itertools.count():
            try:
                info = self._apply(batch)
            except sqlite3.Error as exc:
                self._safe_rollback()
                text = str(exc).lower()
                if ("locked" in text or "busy" in text) and time.monotonic() - began < RETRY_BUSY_S:
                    time.sleep(min(0.05 * 2 ** attempt, 0.5))
                    continue
                message = describe_error(exc, self.db_path)
                if _passing(text):
                    self._pause(message)
                else:
                    self._turn_off(message)
                self._count_lost(batch)
                break
            else:
                finished = sum(isinstance(event, InvocationFinished) for event in batch)
                if finished:
                    self._journal_committed(finished)  # before a flush() waiting on this batch returns
                for listener in self._listeners:  # also before it: the writer process relays commits
                    try:
                        listener(info)
                    except Exception:  # noqa: BLE001 - a listener's bug must not stop recording
                        log.exception("store commit listener %r failed", listener)
                self._mark_written(len(batch), info.request_ids)
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
        # An invocation that starts and finishes within this batch (most do) is written as ONE row
        # insert at its finish, its lines after it: no `running` row to insert and then update.
        finishing = {e.row[0] if type(e) is FinishedRow else e.record.request_id
                     for e in batch if isinstance(e, InvocationFinished)}
        held: dict[str, list[LogLine]] = {}
        for event in batch:
            try:
                if type(event) is FinishedRow:  # the writer process's common event: its rows are built
                    request_id, columns, values, lines = event.row
                    new_invocations += self._write_finished(conn, request_id, columns, values)
                    finished.append(request_id)
                    invocation_id = self._finished_id
                    log_rows.extend((invocation_id, *line) for line in lines)
                elif isinstance(event, LogLine):
                    if event.request_id in finishing and event.request_id not in self._open_ids:
                        held.setdefault(event.request_id, []).append(event)
                        continue
                    invocation_id, created = self._invocation_id(conn, event.request_id, event)
                    new_invocations += created
                    log_rows.append(_log_row(invocation_id, event))
                elif isinstance(event, InvocationStarted):
                    if event.request_id in finishing and event.request_id not in self._open_ids:
                        continue
                    new_invocations += self._start(conn, event)
                elif isinstance(event, InvocationFinished):
                    # no time.sleep(0) per record to hand the GIL over: that syscall doubled the
                    # writer's CPU per invocation (170 -> 93 us) and the switch interval hands it over
                    new_invocations += self._finish(conn, event.record)
                    finished.append(event.record.request_id)
                    lines = (event.record.logs if type(event) is FinishedWhole
                             else held.pop(event.record.request_id, ()))
                    log_rows.extend(_log_row(self._finished_id, line) for line in lines)
            except Exception as exc:  # noqa: BLE001 - a bad value skips the event; anything else is raised
                if not _unwritable(exc):
                    raise
                self.skipped_events += 1
                log.exception("store: skipped an event it could not write: %r", event)
                if isinstance(event, FinishedWhole) and event.record.logs:  # its lines are kept all the same
                    held.setdefault(event.record.request_id, []).extend(event.record.logs)
        for request_id, lines in held.items():  # its finish could not be written: keep the lines anyway
            try:
                invocation_id, created = self._invocation_id(conn, request_id, lines[0])
            except Exception as exc:  # noqa: BLE001 - as above
                if not _unwritable(exc):
                    raise
                self.skipped_events += len(lines)
                continue
            new_invocations += created
            log_rows.extend(_log_row(invocation_id, line) for line in lines)
        if self._unreported_drops != self.dropped_lines or self._reported_invocation_drops != self.dropped_invocations:
            log_rows.append(self._drop_notice(conn))
            new_invocations += 1
        last_log_id = self._insert_logs(conn, log_rows)
        maintenance.bump(conn, "invocations", new_invocations)
        maintenance.bump(conn, "logs", len(log_rows))
        conn.execute("COMMIT")
        return CommitInfo(len(finished), len(log_rows), last_log_id, tuple(finished))

    # every insert into `logs` goes through here: it also indexes the lines for search
    _insert_logs = staticmethod(maintenance.insert_logs)

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
        record = self._redactor.record(record)  # the one pass: nothing below sees a secret
        values = invocation_row(record, self.settings.body_cap_bytes)
        created = self._write_finished(conn, record.request_id, tuple(values), tuple(values.values()))
        frames = frame_rows(self._finished_id, record)
        if frames:
            conn.executemany(
                "INSERT INTO frames (invocation_id, idx, file, line, function, source, locals, is_user_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                frames,
            )
        return created

    def _write_finished(self, conn: sqlite3.Connection, request_id: str, columns: tuple[str, ...],
                        values: tuple) -> int:
        """Write a finished invocation's row (`columns`, `values`: redacted); its id goes in
        `_finished_id`. Returns 1 when the row is new."""
        invocation_id = self._open_ids.pop(request_id, None)
        created = 0
        update, insert = _finish_sql(columns)
        if invocation_id is not None:
            updated = conn.execute(update, (*values, invocation_id)).rowcount
            conn.execute("DELETE FROM frames WHERE invocation_id = ?", (invocation_id,))
            if not updated:  # its running row was cleared meanwhile
                invocation_id = None
        if invocation_id is None:
            # No running row of ours, as for most records (their start was never sent, or came in this
            # batch): insert at once rather than look the request id up first (3% of the writer's CPU).
            # A row made elsewhere (a dead writer's start, a replayed journal) conflicts: update it.
            try:
                invocation_id = conn.execute(insert, values).lastrowid
                created = 1
            except sqlite3.IntegrityError:
                row = conn.execute("SELECT id FROM invocations WHERE request_id = ?", (request_id,)).fetchone()
                if row is None:
                    raise  # not the request id's conflict: a bad value, skipped by the caller
                invocation_id = row[0]
                conn.execute(update, (*values, invocation_id))
                conn.execute("DELETE FROM frames WHERE invocation_id = ?", (invocation_id,))
        self._finished_id = invocation_id
        return created

    def _drop_notice(self, conn: sqlite3.Connection) -> tuple:
        """A platform line, under a synthetic invocation, saying how many invocations and lines were
        not recorded since the last such line (a full queue, a full disk, a long lock)."""
        lines = self.dropped_lines - self._unreported_drops
        invocations = self.dropped_invocations - self._reported_invocation_drops
        self._unreported_drops = self.dropped_lines
        self._reported_invocation_drops = self.dropped_invocations
        lost = [f"{invocations} invocations"] if invocations else []
        lost += [f"{lines} log lines"] if lines else []
        now = time.time()
        notice = InvocationStarted(f"recorder-{now:.6f}", None, "platform", "", "", now)
        self._start(conn, notice)
        invocation_id = self._open_ids.pop(notice.request_id)
        conn.execute("UPDATE invocations SET state = 'finished' WHERE id = ?", (invocation_id,))
        said = f"{' and '.join(lost)} were not recorded" if lost else "nothing was lost"
        text = f"funcstudio: {said} ({self._drop_reason})"
        return (invocation_id, None, 0, now, "platform", "WARNING", text)

    def keep_from(self, log_id: int | None) -> None:
        """Retention never removes this line, any newer one, or their invocations (the studio passes
        the oldest line on screen); None lifts it."""
        self.keep_from_log_id = log_id

    def _prune_some(self) -> None:
        """Delete one chunk of the oldest rows past the retention limits (called between batches), and
        say what was removed in a platform line once enough has gone (the log view and `logs` show it)."""
        if self._conn is None:
            return
        try:
            pruned = maintenance.prune_some(self._conn, self.settings.max_invocations, self.settings.max_log_lines,
                                            self.keep_from_log_id)
            self._pruned = (self._pruned[0] + pruned.invocations, self._pruned[1] + pruned.logs)
            if not pruned.more and sum(self._pruned) >= RETENTION_NOTICE_ROWS:
                self._retention_notice()
        except (StoreError, sqlite3.Error) as exc:
            self._safe_rollback()
            log.warning("store: pruning failed, will retry: %s", exc)
            return
        if pruned.more:
            self._wake.set()  # more to prune: come straight back after any new events

    def _retention_notice(self) -> None:
        conn = self._conn
        invocations, lines = self._pruned
        self._pruned = (0, 0)
        settings = self.settings
        text = (f"funcstudio retention: removed the {invocations:,} oldest invocations and {lines:,} log lines "
                f"(the store keeps the newest {settings.max_invocations:,} invocations and "
                f"{settings.max_log_lines:,} log lines: [store] max_invocations, max_log_lines)")
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            notice = InvocationStarted(f"retention-{now:.6f}", None, "platform", "", "", now)
            self._start(conn, notice)
            invocation_id = self._open_ids.pop(notice.request_id)
            conn.execute("UPDATE invocations SET state = 'finished' WHERE id = ?", (invocation_id,))
            self._insert_logs(conn, [(invocation_id, None, 0, now, "platform", "INFO", text)])
            maintenance.bump(conn, "invocations", 1)
            maintenance.bump(conn, "logs", 1)
            conn.execute("COMMIT")
        except BaseException:
            self._safe_rollback()
            raise

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

    # --- durability ----------------------------------------------------------------------------

    def _open(self) -> None:
        self._conn = open_store(self.db_path, busy_timeout_ms=self._busy_timeout_ms)
        self._owned = durability.Owned.of(self.db_path)
        self._seen: dict = {}

    def _keep_own_file(self) -> None:
        """Before a batch: if `studio.db` is no longer the file we opened, go on in a fresh store."""
        assert self._owned is not None
        what = durability.change(self.db_path, self._owned, self._seen)
        if what is None:
            return
        old, owned = self._conn, self._owned
        self._conn = None
        if old is not None:
            durability.abandon(old)
        durability.clear_own_wal(self.db_path, owned)
        self._open_ids.clear()
        moved = None
        try:
            try:
                self._open()
            except NotADatabaseError:
                moved = durability.move_aside(self.db_path)
                self._open()
        except StoreError as exc:
            self._turn_off(f"{self.db_path} {what} and no fresh store could be made there: {exc}")
            return
        self._renew_journal()
        self._say(
            f"{self.db_path} {what} while recording; recording goes on in a fresh store at the same path"
            + (f" (what was there is kept as {moved.name})" if moved is not None else "")
        )

    def _renew_journal(self) -> None:
        """The journal went with `.funcstudio/` (rm -rf): appends would land in a deleted file, so
        open a new one beside the fresh store. What the old one held is still queued in memory."""
        with self._journal_lock:
            journal = self._journal
            if journal is None or journal.path.exists():
                return
            journal.close(remove=False)
            self._journal = None
            self._journal_pending = 0
        if self._journal_wanted:
            self._open_journal()

    def _pause(self, message: str) -> None:
        """Recording off until a retry succeeds (a full disk, a lock held too long)."""
        first = self._retry_at is None
        self._retry_at = time.monotonic() + RETRY_BACKOFF_S[min(self._retries, len(RETRY_BACKOFF_S) - 1)]
        self._retries += 1
        if first:
            self._drop_reason = message
            self._turn_off(f"{message}; it comes back by itself when the store can be written again")

    def _try_resume(self) -> None:
        """Write the drop notice as the probe: when it commits, recording is on again."""
        try:
            if self._conn is None:
                self._open()
            journaled = self._journal.size if self._journal is not None else 0  # before any new line
            self.recording = True  # for _keep_own_file and the notice's write
            self._keep_own_file()
            if self._conn is None:
                return
            self._recover_own_journal(journaled)
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            row = self._drop_notice(conn)
            self._insert_logs(conn, [row])
            maintenance.bump(conn, "invocations", 1)
            maintenance.bump(conn, "logs", 1)
            conn.execute("COMMIT")
        except (StoreError, sqlite3.Error) as exc:
            self.recording = False
            self._safe_rollback()
            message = str(exc) if isinstance(exc, StoreError) else describe_error(exc, self.db_path)
            if _passing(message.lower()):
                self._pause(message)
            else:
                self._retry_at = None
                self._turn_off(message)
            return
        self._retry_at = None
        self._retries = 0
        self.problem = None
        if self._journal_wanted and self._journal is None:
            self._open_journal()
        self._drop_reason = "the recorder's queue was full"
        self._say(f"recording is on again in {self.db_path}; {row[-1].removeprefix('funcstudio: ')}")

    def _count_lost(self, batch: list[Event]) -> None:
        self.dropped_invocations += sum(1 for event in batch if isinstance(event, InvocationFinished))
        self.dropped_lines += sum(1 if isinstance(event, LogLine) else len(event.row[3]) if type(event) is FinishedRow
                                  else len(event.record.logs)
                                  for event in batch if isinstance(event, (LogLine, FinishedWhole)))

    def _say(self, sentence: str) -> None:
        self.notice = sentence
        (log.info if self._on_problem is not None else log.warning)("funcstudio store: %s", sentence)
        if self._on_problem is not None:
            try:
                self._on_problem(sentence)
            except Exception:  # noqa: BLE001
                log.exception("store on_problem callback failed")

    def _turn_off(self, message: str) -> None:
        self.recording = False
        self.problem = f"recording is off: {message}"
        lost = list(self._queue)
        self._count_lost(lost)
        self._queue.clear()
        self._mark_written(len(lost), ())  # settled: a flush must not wait for them
        # Said once: through the caller's channel when it gave one, else the log.
        (log.info if self._on_problem is not None else log.warning)("funcstudio store: %s", self.problem)
        with self._committed:
            self._committed.notify_all()
        if self._on_problem is not None:
            try:
                self._on_problem(self.problem)
            except Exception:  # noqa: BLE001
                log.exception("store on_problem callback failed")


def _unwritable(exc: BaseException) -> bool:
    """Whether `exc` says one event's values cannot be written (skip that event), not that the store
    failed. Binding an unsupported type is InterfaceError on Python 3.10 but ProgrammingError on 3.11,
    which also means a closed connection: only its binding message counts."""
    if isinstance(exc, (sqlite3.InterfaceError, sqlite3.IntegrityError, TypeError, ValueError, AttributeError)):
        return True
    return isinstance(exc, sqlite3.ProgrammingError) and "binding parameter" in str(exc)


def _passing(text: str) -> bool:
    """A failure that goes away by itself: a full disk gets room, a lock gets released."""
    text = text.lower()
    return "full" in text or "locked" in text or "busy" in text or "disk i/o error" in text


@functools.lru_cache(maxsize=16)
def _finish_sql(columns: tuple[str, ...]) -> tuple[str, str]:
    """The UPDATE and INSERT of a finished invocation's columns (a handful of column sets exist)."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    return (f"UPDATE invocations SET {assignments} WHERE id = ?",
            f"INSERT INTO invocations ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})")


def _log_row(invocation_id: int, line: LogLine) -> tuple:
    return (invocation_id, line.function_id, line.seq, line.time, line.stream,
            line.level.upper() if line.level else None, cap_line(line.text))

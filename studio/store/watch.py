"""Notice rows written by any process on the project: `serve`, `funcstudio invoke` in another
terminal, the studio's own recorder.

SQLite bumps `PRAGMA data_version` on a connection whenever another connection (in this process or
any other) commits to the file, so polling it on a reader connection of our own is a cheap, exact
"something changed" signal: one pragma per tick, no file-system events, no reading of rows. The
watcher waits for the file to appear (a fresh project has no store until its first recording) and
reconnects when the file is replaced (`logs --clear`, a deleted store the writer starts afresh).

    watcher = StoreWatcher(db_path(root), on_change=lambda: post_message(StoreChanged()))
    watcher.start()
    ...
    watcher.stop()
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often `data_version` is read: well inside the studio's 500 ms budget for another writer's rows."""


class StoreWatcher:
    """Calls `on_change()` from its own thread after any commit to the store file (and once when the
    file first appears or is replaced). `on_change` must be quick and must not block."""

    def __init__(self, db_path: str | Path, on_change: Callable[[], None], *, interval: float = POLL_S) -> None:
        self.db_path = Path(db_path)
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.changes = 0
        """How many times `on_change` was called (tests read it)."""

    def start(self) -> StoreWatcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="funcstudio-store-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.db_path)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        identity = None
        version = None
        delay = 0.0  # the first look is immediate
        while not self._stop.wait(delay):
            delay = self.interval
            current = self._identity()
            if current != identity:  # appeared, replaced or removed: start over on the file there now
                if conn is not None:
                    conn.close()
                    conn = None
                identity, version = current, None
                if current is None:
                    continue
                try:
                    conn = sqlite3.connect(str(self.db_path), check_same_thread=False, isolation_level=None)
                    conn.execute("PRAGMA busy_timeout = 1000")
                except sqlite3.Error as exc:
                    log.debug("store watcher cannot open %s: %s", self.db_path, exc)
                    identity = None
                    continue
                self._changed()
            if conn is None:
                continue
            try:
                now = conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:  # busy or replaced mid-read: try again next tick
                log.debug("store watcher: %s", exc)
                continue
            if version is not None and now != version:
                self._changed()
            version = now
        if conn is not None:
            conn.close()

    def _changed(self) -> None:
        self.changes += 1
        try:
            self.on_change()
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the watching
            log.exception("store watcher callback failed")

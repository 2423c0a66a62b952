"""The store watcher notices commits from another process (a real `sqlite3` writer in a subprocess),
the file appearing, and the file being replaced."""

from __future__ import annotations

import subprocess
import sys
import threading

from studio.store.db import open_store
from studio.store.watch import StoreWatcher

WRITE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA busy_timeout = 5000")
conn.execute("INSERT INTO counters (name, value) VALUES ('other-process', 1)")
"""


def wait_for(event: threading.Event, what: str) -> None:
    assert event.wait(30), f"the watcher did not notice {what}"


def test_a_commit_by_another_process_is_noticed(tmp_path):
    db = tmp_path / "studio.db"
    open_store(db).close()
    seen = threading.Event()
    watcher = StoreWatcher(db, seen.set, interval=0.02).start()
    try:
        wait_for(seen, "the file")  # once when it starts watching a file
        seen.clear()
        subprocess.run([sys.executable, "-c", WRITE, str(db)], check=True, timeout=60)
        wait_for(seen, "another process's commit")
    finally:
        watcher.stop()


def test_the_store_appearing_and_being_replaced_are_noticed(tmp_path):
    db = tmp_path / "studio.db"
    seen = threading.Event()
    watcher = StoreWatcher(db, seen.set, interval=0.02).start()
    try:
        open_store(db).close()
        wait_for(seen, "the file appearing")
        seen.clear()
        db.unlink()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"studio.db{suffix}").unlink(missing_ok=True)
        open_store(db).close()
        wait_for(seen, "the file being replaced")
    finally:
        watcher.stop()
    assert watcher.changes >= 2

"""Watch the project folder and report changes in debounced batches.

watchfiles (Rust notify underneath) watches the project, not `sys.path`. Bursts (an editor's
write-rename-chmod, a `git checkout`) arrive as one batch: watchfiles yields once no new change
has come for `step_ms`, and at the latest after `debounce_ms`. What a batch means (re-discover,
retire instances, publish `ProjectChanged`) is the runtime's business: the reloader only calls
`on_change(paths)` on its own thread, and a failing callback never stops the watching.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

IGNORED_DIRS = frozenset({
    ".funcstudio", ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".edgeone", ".tox", ".idea", ".vscode",
})
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", ".tmp", "~", ".db-journal", ".db-wal", ".db-shm",
                    ".sqlite-wal", ".sqlite-shm")


def is_watched(path: str, root: Path) -> bool:
    """False for files in ignored folders and for editor/compiler droppings."""
    try:
        rel = Path(path).resolve().relative_to(root)
    except (ValueError, OSError):
        rel = Path(path)
    if any(part in IGNORED_DIRS for part in rel.parts):
        return False
    name = rel.name
    if name.startswith(".#") or name.endswith(IGNORED_SUFFIXES):
        return False
    return True


class Reloader:
    def __init__(self, root: Path, on_change: Callable[[list[str]], None], *, step_ms: int = 50,
                 debounce_ms: int = 1600) -> None:
        self.root = Path(root).resolve()
        self.on_change = on_change
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The notifier is created here, not on the thread, so a change made right after
        # start() returns is already seen.
        from watchfiles._rust_notify import RustNotify

        self._notify = RustNotify([str(self.root)], False, False, 300, True, True)
        self._thread = threading.Thread(target=self._run, name="funcstudio-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        notify = getattr(self, "_notify", None)
        if notify is not None:
            notify.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self._notify.watch(self.debounce_ms, self.step_ms, 1000, self._stop)
            except Exception:  # noqa: BLE001 - e.g. the folder vanished; the server keeps serving
                log.exception("watching %s stopped", self.root)
                return
            if raw == "stop":
                return
            if not isinstance(raw, set):
                continue  # "timeout" or "signal"
            paths = sorted({path for _change, path in raw if is_watched(path, self.root)})
            if not paths:
                continue
            try:
                self.on_change(paths)
            except Exception:  # noqa: BLE001 - a bad reload must never stop the watching
                log.exception("reload after %s failed", paths)

"""Watch the project folder and report changes in debounced batches.

watchfiles (Rust notify underneath) watches the project, not `sys.path`. Bursts (an editor's
write-rename-chmod, a `git checkout`) arrive as one batch: watchfiles yields once no new change
has come for `step_ms`, and at the latest after `debounce_ms`. What a batch means (re-discover,
retire instances, publish `ProjectChanged`) is the runtime's business: the reloader only calls
`on_change(paths)` on its own thread, and a failing callback never stops the watching.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

STEP_MS = 5
"""A batch ends once nothing changed for this long: an editor's write-rename-chmod burst takes well
under it, and a save answers with new code in tens of milliseconds."""

IGNORED_DIRS = frozenset({
    ".funcstudio", ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".edgeone", ".tox", ".idea", ".vscode",
})
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", ".tmp", "~", ".db-journal", ".db-wal", ".db-shm",
                    ".sqlite-wal", ".sqlite-shm", ".http")
IGNORED_NAMES = frozenset({"http-client.env.json", "http-client.private.env.json"})
"""Saved requests and their environments: never code, so saving one reloads nothing."""


def is_watched(path: str, root: Path) -> bool:
    """False for files in ignored folders and for editor/compiler droppings."""
    try:
        rel = Path(path).resolve().relative_to(root)
    except (ValueError, OSError):
        rel = Path(path)
    if any(part in IGNORED_DIRS for part in rel.parts):
        return False
    name = rel.name
    if name.startswith(".#") or name.endswith(IGNORED_SUFFIXES) or name in IGNORED_NAMES:
        return False
    return True


class _Either:
    """A stop flag for RustNotify.watch that trips on either of two events."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class Reloader:
    """Two notifiers: the root itself (not recursive: top-level files, new folders) and every
    folder below the top-level folders that are not ignored, each watched on its own (not
    recursive), as `tree_dirs` lists them: a project's `.venv` or `.git` is never walked, and a
    symbolic link that leads outside the project is never followed (notify's own recursion follows
    every link, so a link to `/` would watch the whole machine). A new folder re-arms the tree."""

    def __init__(self, root: Path, on_change: Callable[[list[str]], None], *, step_ms: int = STEP_MS,
                 debounce_ms: int = 1600) -> None:
        self.root = Path(root).resolve()
        self.on_change = on_change
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._rescan = threading.Event()
        self._threads: list[threading.Thread] = []
        self._tree_dirs: list[str] = []
        self._root_notify = None
        self._tree_notify = None

    def top_dirs(self) -> list[str]:
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except OSError:
            return []
        return [e.path for e in entries
                if e.name not in IGNORED_DIRS and e.is_dir(follow_symlinks=False)]

    def tree_dirs(self) -> list[str]:
        """Every folder below the watched top-level folders, staying inside the project."""
        root = os.path.realpath(self.root)
        found: list[str] = []
        seen: set[str] = set()
        stack = list(reversed(self.top_dirs()))
        while stack:
            folder = stack.pop()
            real = os.path.realpath(folder)
            if real in seen or not (real == root or real.startswith(root.rstrip(os.sep) + os.sep)):
                continue  # a loop, or a link out of the project
            seen.add(real)
            found.append(folder)
            try:
                with os.scandir(folder) as entries:
                    children = sorted((e.path for e in entries if e.name not in IGNORED_DIRS and _is_dir(e)),
                                      reverse=True)
            except OSError:
                continue
            stack.extend(children)
        return found

    def start(self) -> None:
        # The notifiers are created here, not on the threads, so a change made right after
        # start() returns is already seen.
        from watchfiles._rust_notify import RustNotify

        self._root_notify = RustNotify([str(self.root)], False, False, 300, False, True)
        self._tree_dirs = self.tree_dirs()
        self._tree_notify = RustNotify(self._tree_dirs, False, False, 300, False, True) if self._tree_dirs else None
        for target, name in ((self._run_root, "funcstudio-reloader-root"), (self._run_tree, "funcstudio-reloader")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        for notify in (self._root_notify, self._tree_notify):
            if notify is not None:
                notify.close()

    def _run_root(self) -> None:
        self._watch(self._root_notify, self._stop, on_batch=self._check_new_dirs)

    def _check_new_dirs(self, paths: list[str]) -> None:
        if self.top_dirs() != [d for d in self._tree_dirs if os.path.dirname(d) == str(self.root)]:
            self._rescan.set()

    def _check_tree_dirs(self, paths: list[str]) -> None:
        """A folder created (or moved in) below a watched one needs a watch of its own."""
        known = set(self._tree_dirs)
        if any(path not in known and os.path.isdir(path) for path in paths):
            self._rescan.set()

    def _run_tree(self) -> None:
        from watchfiles._rust_notify import RustNotify

        while not self._stop.is_set():
            if self._tree_notify is None:
                self._rescan.wait(1.0)
            else:
                self._watch(self._tree_notify, _Either(self._stop, self._rescan), on_batch=self._check_tree_dirs)
                if not self._stop.is_set() and not self._rescan.is_set():
                    self._rescan.set()  # the notifier failed (a folder vanished): re-arm shortly
                    self._stop.wait(0.5)
            if self._stop.is_set():
                return
            if self._rescan.is_set():
                self._rescan.clear()
                old, self._tree_notify = self._tree_notify, None
                if old is not None:
                    old.close()
                self._tree_dirs = self.tree_dirs()
                try:
                    self._tree_notify = (RustNotify(self._tree_dirs, False, False, 300, False, True)
                                         if self._tree_dirs else None)
                except Exception:  # noqa: BLE001 - e.g. a folder vanished meanwhile; try again later
                    log.debug("re-arming the watcher failed", exc_info=True)
                    self._rescan.set()
                    self._stop.wait(0.5)

    def _watch(self, notify, stop, on_batch=None) -> None:
        while not stop.is_set():
            try:
                raw = notify.watch(self.debounce_ms, self.step_ms, 1000, stop)
            except Exception:  # noqa: BLE001 - e.g. the folder vanished; the server keeps serving
                log.debug("watching %s stopped", self.root, exc_info=True)
                return
            if raw == "stop":
                return
            if not isinstance(raw, set):
                continue  # "timeout" or "signal"
            paths = sorted({path for _change, path in raw if is_watched(path, self.root)})
            if on_batch is not None and raw:
                on_batch(paths)
            if not paths:
                continue
            try:
                self.on_change(paths)
            except Exception:  # noqa: BLE001 - a bad reload must never stop the watching
                log.exception("reload after %s failed", paths)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links: where they lead is checked by the caller
    except OSError:
        return False

"""A function whose entry file stops parsing keeps serving its last good version.

An editor that saves in place truncates the file and writes it again; a reload that lands between the
two (or a half-typed line) sees an empty or unparsable entry. Dropping the route then would answer 404
for a moment, and retiring the warm instance would answer load errors. Instead the reload keeps the
function as it was (its warm instances keep serving the code they loaded) and adds a problem that
says so; the next reload that finds the file parsing again replaces it as usual.

New instances compile the entry source the supervisor read (`EntrySources`), not the file: one forked
while a save is half written gets the last version that parsed instead of a syntax error.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

from studio.project.model import Function, Problem, Project
from studio.project.routing import sort_routes

T = TypeVar("T")


def parses(path: str) -> bool:
    """The file is non-empty Python that compiles (never run)."""
    source = read_source(path)
    return source is not None and source_parses(source, path)


def read_source(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def source_parses(source: bytes, path: str) -> bool:
    """`source` (the file at `path`) is non-empty Python that compiles (never run)."""
    if not source.strip():
        return False  # truncated by an in-place save, not yet written again
    try:
        compile(source, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST: parse only
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


class EntrySources:
    """The entry source each new instance compiles, by one read of the file when it starts: those
    bytes when they parse, else the last bytes of that file that parsed (an in-place save caught
    between its truncate and its write, or a broken save while its last good version serves), else
    None (the worker reads the file itself and reports its error as ever). Bytes seen before are not
    parsed again (a large entry takes milliseconds to parse).

    Used from request, prewarm and reload threads: single dict operations, atomic under the GIL."""

    def __init__(self) -> None:
        self._good: dict[str, bytes] = {}
        self._bad: dict[str, bytes] = {}
        """The last bytes of each entry that did not parse."""

    def for_instance(self, path: str) -> bytes | None:
        path = os.path.abspath(path)
        source = read_source(path)
        if source is not None and self._parses(path, source):
            return source
        return self._good.get(path)

    def parses(self, path: str) -> bool:
        """The file parses now (as `parses`, without parsing bytes seen before)."""
        path = os.path.abspath(path)
        source = read_source(path)
        return source is not None and self._parses(path, source)

    def reloaded(self, changed: Iterable[str], keep: Iterable[str] = ()) -> None:
        """After a reload, a changed entry's last good source is what the file holds now when that
        parses; when it does not, the old one stays only for the entries in `keep` (functions kept
        at their last good version), so a new instance does not start from a version older than the
        one the reload found."""
        kept = {os.path.abspath(p) for p in keep}
        for path in {os.path.abspath(p) for p in changed}:
            if path not in self._good:
                continue  # no instance read it yet: the first one reads the file
            source = read_source(path)
            if (source is None or not self._parses(path, source)) and path not in kept:
                self._good.pop(path, None)

    def _parses(self, path: str, source: bytes) -> bool:
        """Whether `source` parses; remembered as the file's last good (or last bad) bytes."""
        if source == self._good.get(path):
            return True
        if source == self._bad.get(path):
            return False
        if source_parses(source, path):
            self._good[path] = source
            return True
        self._bad[path] = source
        return False


def settle(old: Project, discover: Callable[[], tuple[Project, T]], changed: Iterable[str],
           attempts: int = 3) -> tuple[Project, T, tuple[str, ...]]:
    """Discover, keeping the last good version of every function whose changed entry no longer parses.

    Each entry is read once per attempt, and that one reading decides: a function gone or broken in the
    new project whose file does not parse keeps its old self (an in-place save caught between its
    truncate and its write); one whose file parses again means the save finished after discovery read
    it, so discovery runs again (keeping it then would also keep a function a save really removed).
    Returns (project, the discover call's extra value, the ids kept)."""
    changed_set = {os.path.abspath(p) for p in changed}
    for _attempt in range(attempts):
        new, extra = discover()
        broken = [fn for fn in old.functions if _lost(fn, old, new, changed_set)]
        parsing = {fn.id: parses(os.path.abspath(old.root / fn.entry)) for fn in broken}
        if not any(parsing.values()):
            break
    project, kept = _keep(old, new, [fn for fn in broken if not parsing[fn.id]])
    return project, extra, kept


def _lost(fn: Function, old: Project, new: Project, changed: set[str]) -> bool:
    """A good function of `old` whose changed, still existing entry is gone or broken in `new`."""
    if fn.load_problem is not None:
        return False  # it was not good before either
    entry = os.path.abspath(old.root / fn.entry)
    if entry not in changed or not os.path.exists(entry):
        return False  # unchanged, or deleted (a real removal)
    now = new.function(fn.id)
    return now is None or now.load_problem is not None


def _keep(old: Project, new: Project, kept: list[Function]) -> tuple[Project, tuple[str, ...]]:
    """`new` with `kept` (and their routes) taken from `old`, each with a problem saying so."""
    if not kept:
        return new, ()
    ids = {fn.id for fn in kept}
    functions = [fn for fn in new.functions if fn.id not in ids]
    functions.extend(kept)
    routes = sort_routes([r for r in new.routes if r.function_id not in ids]
                         + [r for r in old.routes if r.function_id in ids])
    notes = tuple(
        Problem("warning", "last-good-version",
                f"{fn.entry} does not parse now (an unfinished save?); its last good version keeps serving",
                file=fn.entry, hint="Save the file again once it is valid Python; it reloads then.")
        for fn in kept
    )
    return dataclasses.replace(new, functions=tuple(functions), routes=tuple(routes),
                               problems=(*new.problems, *notes)), tuple(sorted(ids))

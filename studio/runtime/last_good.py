"""A function whose entry file stops parsing keeps serving its last good version.

An editor that saves in place truncates the file and writes it again; a reload that lands between the
two (or a half-typed line) sees an empty or unparsable entry. Dropping the route then would answer 404
for a moment, and retiring the warm instance would answer load errors. Instead the reload keeps the
function as it was (its warm instances keep serving the code they loaded) and adds a problem that
says so; the next reload that finds the file parsing again replaces it as usual.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

from studio.project.model import Problem, Project
from studio.project.routing import sort_routes


def parses(path: str) -> bool:
    """The file is non-empty Python that compiles (never run)."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        return False
    if not source.strip():
        return False  # truncated by an in-place save, not yet written again
    try:
        compile(source, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST: parse only
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def keep_last_good(old: Project, new: Project, changed: Iterable[str]) -> tuple[Project, tuple[str, ...]]:
    """`new` with the functions whose changed entry file no longer parses taken from `old` (with their
    routes), and the ids kept that way."""
    changed_set = {os.path.abspath(p) for p in changed}
    kept = []
    for fn in old.functions:
        if fn.load_problem is not None:
            continue  # it was not good before either
        entry = os.path.abspath(old.root / fn.entry)
        if entry not in changed_set or not os.path.exists(entry) or parses(entry):
            continue  # unchanged, deleted (a real removal), or fine
        now = new.function(fn.id)
        if now is not None and now.load_problem is None:
            continue
        kept.append(fn)
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

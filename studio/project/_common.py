"""Small helpers shared by SCF, CocoBase and dependency discovery: reading sources and walking folders.

Reading never raises for bad user files: it returns the text or a `Problem` naming the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from studio.project import files
from studio.project.model import Problem

EXCLUDED_DIRS: frozenset[str] = frozenset(
    {"__pycache__", ".git", "node_modules", "venv", ".venv", "scripts", "tests", ".pytest_cache"}
)
"""Folders the EdgeOne build neither copies nor scans for imports (RUNTIME_SPEC.md §2.1)."""

TOOL_DIRS: frozenset[str] = frozenset({".edgeone", ".funcstudio", ".mypy_cache", ".ruff_cache", ".tox", ".idea",
                                       ".vscode", "build", "dist", "site-packages"})
"""Folders that hold tools' output, never a user's function."""


def rel(path: Path, root: Path) -> str:
    """Project-relative POSIX path (the path itself when it lies outside the project)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_source(path: Path, root: Path) -> tuple[str | None, Problem | None]:
    """The file's text (cached by `files.read_source`), or a problem saying why it has none.

    A file that is not UTF-8 gives both: the text decoded with replacements, and the problem.
    """
    source = files.read_source(path)
    return source.text, source.problem(rel(path, root))


_PYTHON2_SYNTAX = ("Missing parentheses in call to 'print'", "Missing parentheses in call to 'exec'",
                   "multiple exception types must be parenthesized", "leading zeros in decimal integer literals")
"""Compiler messages Python 3 gives for Python 2 code."""


def syntax_problem(source: str, path: Path, root: Path) -> Problem | None:
    """A `syntax-error` problem if the source does not compile (the code is never run)."""
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        if any(marker in (exc.msg or "") for marker in _PYTHON2_SYNTAX):
            return Problem("error", "syntax-error", f"Python 2 syntax: {exc.msg}", file=rel(path, root),
                           line=exc.lineno, hint="This is Python 2 code; the platforms run Python 3 (Python 2.7 "
                           "reached its end of life on 2020-01-01). Port it to Python 3.")
        return Problem("error", "syntax-error", f"syntax error: {exc.msg}", file=rel(path, root),
                       line=exc.lineno, hint="Fix the syntax; the function cannot load until then.")
    except (ValueError, RecursionError) as exc:  # null bytes, absurd nesting
        return Problem("error", "syntax-error", f"cannot compile: {exc}", file=rel(path, root))
    return None


def walk_dirs(root: Path, skip: frozenset[str] = frozenset()) -> Iterator[tuple[Path, list[str]]]:
    """(folder, file names) for every folder under root, skipping excluded, hidden, tool and `skip`
    folders (project-relative POSIX paths) and never following symlinked folders (no loops)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=lambda _e: None):
        here = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name in EXCLUDED_DIRS or name in TOOL_DIRS or name.startswith("."):
                continue
            if rel(here / name, root) in skip:
                continue
            kept.append(name)
        dirnames[:] = kept
        yield here, sorted(filenames)


def find_def_line(source: str, name: str) -> int | None:
    """Line of a top-level `def name(`/`async def`/`class`/assignment/import of `name`, if any."""
    pattern = re.compile(
        rf"^(?:(?:async\s+)?def\s+{re.escape(name)}\s*\(|class\s+{re.escape(name)}\b|{re.escape(name)}\s*(?::[^=]*)?="
        rf"|(?:from\s+\S+\s+)?import\s+.*\b{re.escape(name)}\b)",
        re.M,
    )
    match = pattern.search(source)
    return source.count("\n", 0, match.start()) + 1 if match else None


def key_line(text: str, key: str, after: int = 1) -> int | None:
    """First line at or after line `after` that sets `key:` in a YAML text (block or flow style),
    for problems about keys of a file that parsed."""
    pattern = re.compile(rf"(?:^|[\s{{,-])['\"]?{re.escape(key)}['\"]?\s*:", re.M)
    lines = text.splitlines()
    for number in range(max(after, 1), len(lines) + 1):
        if pattern.search(lines[number - 1]):
            return number
    return None

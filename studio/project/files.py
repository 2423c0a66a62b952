"""Walking a project and reading its source files, with a cache for unchanged files.

Discovery reads every candidate file on every scan (the studio rescans on each save), so the
reader caches by `(path, mtime_ns, size)`: a second scan of an unchanged tree costs one `stat`
per file and no reads.

API (used by EdgeOne, SCF, CocoBase discovery and the dependency scan):

* `walk_tree(root, skip_dirs=..., inside=...)` -> `Tree`: files and folders under `root` in the
  platforms' scan order (entries sorted by name in each folder, depth first) as root-relative POSIX
  strings (`Tree.rel_files`, `Tree.rel_dirs`; `Tree.files` / `Tree.dirs` as absolute `Path`s), plus
  `Problem`s for symlink loops, links that lead outside the project (`inside`, default `root`: never
  followed, so a link to `/` costs one problem, not a walk of the machine) and unreadable folders.
* `iter_source_files(root, skip_dirs=..., suffixes=(".py",))`: the files of `walk_tree` with
  those suffixes, as absolute paths.
* `read_source(path, st=None)` -> `SourceFile`: the text, or why it could not be read. `path`
  may be a `str` (cheapest) or a `Path`. Never raises for bad input; `SourceFile.problem(display)`
  turns a failure into a `Problem` naming `display`. A file above the source size cap
  (`set_source_cap`, default 5 MB; the `max_source_bytes` setting) is not read (`too-large`).
* `clear_cache()`: forget every cached file (tests, benchmarks).

Nothing here imports, runs or parses user code.
"""

from __future__ import annotations

import codecs
import errno
import operator
import os
import re
import stat as stat_mod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.project.model import Problem

PROJECT_SKIP_DIRS: frozenset[str] = frozenset(
    {".funcstudio", ".git", ".venv", "venv", "node_modules", "__pycache__"}
)
"""Folders never worth walking when the whole project is scanned (tools, VCS, environments)."""

MAX_SOURCE_BYTES = 5 * 1024 * 1024
"""Default source size cap: discovery never reads (so never parses) a bigger file."""
_source_cap = MAX_SOURCE_BYTES

_by_name = operator.attrgetter("name")
_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class Tree:
    """What `walk_tree` found, in scan order. Paths are kept as project-relative POSIX strings
    (cheap to build and compare); `files` / `dirs` give absolute `Path`s when wanted."""

    root: Path
    rel_files: tuple[str, ...]
    """Files (and links that are not folders) relative to `root`, POSIX style."""
    rel_dirs: tuple[str, ...]
    """Every folder below `root` that was walked (not the skipped ones)."""
    problems: tuple[Problem, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.root / rel for rel in self.rel_files)

    @property
    def dirs(self) -> tuple[Path, ...]:
        return tuple(self.root / rel for rel in self.rel_dirs)

    def rel(self, path: Path) -> str:
        """`path` relative to `root`, POSIX style."""
        return Path(path).relative_to(self.root).as_posix()

    def abspath(self, rel: str) -> str:
        """The absolute path of a `rel_files` entry, as a string (no `Path` built)."""
        return os.path.join(self._root_str, rel) if rel else self._root_str

    @property
    def _root_str(self) -> str:
        return os.fspath(self.root)


@dataclass(frozen=True)
class SourceFile:
    """One file's text, or the reason it has none.

    `text` is None only when the file could not be read at all. A file that is not valid UTF-8
    (and has no PEP 263 coding cookie) still gets `text`, decoded with replacement characters as
    the EdgeOne CLI reads it, plus `error_code = "not-utf8"` and the line of the first bad byte.
    """

    filename: str
    """The path as given to `read_source` (a string: building a `Path` per file is costly)."""
    text: str | None
    mtime_ns: int = 0
    size: int = 0
    error_code: str | None = None
    """`not-utf8`, `unreadable-file`, `symlink-loop`, `not-a-file`, `too-large` or None."""
    error: str | None = None
    line: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.filename)

    @property
    def ok(self) -> bool:
        return self.error_code is None

    def problem(self, display: str | None = None, severity: str = "error") -> Problem | None:
        """The read failure as a `Problem` naming `display` (a project-relative path), or None."""
        if self.error_code is None:
            return None
        hint = {
            "not-utf8": "Save the file as UTF-8 (or declare its encoding with a `# coding:` line).",
            "unreadable-file": "Check the file's permissions.",
            "symlink-loop": "Remove or fix the symbolic link.",
            "not-a-file": "Remove the broken link or replace it with a regular file.",
            "too-large": "Move generated or data files out of the functions' folders, or raise "
                         "`max_source_bytes` in funcstudio.toml.",
        }.get(self.error_code)
        return Problem(
            severity=severity,  # type: ignore[arg-type]
            code=self.error_code,
            message=self.error or self.error_code,
            file=display if display is not None else self.filename,
            line=self.line,
            hint=hint,
        )


def walk_tree(
    root: Path, skip_dirs: frozenset[str] | set[str] = PROJECT_SKIP_DIRS, inside: Path | None = None
) -> Tree:
    """Walk `root` depth first, entries sorted by name in each folder (the platforms' order).

    Symlinked folders inside `inside` (the project root; default `root`) are followed once; a link
    back into a folder already on the path is reported as a `symlink-loop` problem and not entered.
    A link (to a folder or a file) that resolves outside `inside` is one `symlink-outside` problem
    naming the link, and is neither entered nor listed. A missing `root` gives an empty tree.
    """
    root = Path(root)
    files: list[str] = []
    dirs: list[str] = []
    problems: list[Problem] = []
    try:
        boundary = os.path.realpath(inside if inside is not None else root)
    except (OSError, ValueError):
        boundary = os.fspath(inside if inside is not None else root)

    def outside(entry: os.DirEntry, rel: str) -> bool:
        try:
            if not entry.is_symlink():
                return False
            target = os.path.realpath(entry.path)
        except (OSError, ValueError):
            return False
        if target == boundary or target.startswith(boundary.rstrip(os.sep) + os.sep):
            return False
        problems.append(
            Problem(
                severity="warning",
                code="symlink-outside",
                message=f"Symbolic link to {target}, outside the project: not followed",
                file=rel,
                hint="Copy what the functions need into the project, or link to a place inside it.",
            )
        )
        return True

    def listing(folder: str, rel: str) -> list[os.DirEntry] | None:
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=_by_name)
        except OSError as exc:
            problems.append(
                Problem(
                    severity="warning",
                    code="unreadable-folder",
                    message=f"Cannot read folder: {exc.strerror or exc}",
                    file=rel or ".",
                    hint="Check the folder's permissions.",
                )
            )
            return None

    if not root.is_dir():
        return Tree(root=root, rel_files=(), rel_dirs=(), problems=())
    st = root.stat()
    top = listing(os.fspath(root), "")
    # An explicit stack instead of recursion: no depth limit on absurdly nested trees.
    stack = [(iter(top or ()), "", frozenset({(st.st_dev, st.st_ino)}))]
    while stack:
        entries, rel, ancestors = stack[-1]
        prefix = f"{rel}/" if rel else ""
        for entry in entries:  # an iterator: after a descent, the loop resumes where it left off
            if outside(entry, prefix + entry.name):
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if not is_dir:
                # Regular files, broken links and self-referencing links: the reader reports
                # what is wrong with each.
                files.append(prefix + entry.name)
                continue
            if entry.name in skip_dirs:
                continue
            entry_rel = prefix + entry.name
            try:
                est = entry.stat()  # folders are few: one stat each keeps loop detection exact
            except OSError as exc:
                problems.append(_loop_or_unreadable(entry_rel, exc))
                continue
            ident = (est.st_dev, est.st_ino)
            if ident in ancestors:
                problems.append(
                    Problem(
                        severity="warning",
                        code="symlink-loop",
                        message="Symbolic link loop: this folder links back to one that contains it",
                        file=entry_rel,
                        hint="Remove or fix the symbolic link.",
                    )
                )
                continue
            dirs.append(entry_rel)
            children = listing(entry.path, entry_rel)
            if children is not None:
                stack.append((iter(children), entry_rel, ancestors | {ident}))
                break  # depth first: the child folder's entries come next
        else:
            stack.pop()
    return Tree(root=root, rel_files=tuple(files), rel_dirs=tuple(dirs), problems=tuple(problems))


def iter_source_files(
    root: Path,
    skip_dirs: frozenset[str] | set[str] = PROJECT_SKIP_DIRS,
    suffixes: tuple[str, ...] = (".py",),
) -> Iterator[Path]:
    """The files under `root` whose name ends with one of `suffixes`, in scan order.

    Folder problems (loops, permissions) are dropped here; use `walk_tree` to report them.
    """
    tree = walk_tree(root, skip_dirs)
    for rel in tree.rel_files:
        if rel.endswith(suffixes):
            yield tree.root / rel


def _loop_or_unreadable(display: str, exc: OSError) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem(
            severity="warning",
            code="symlink-loop",
            message="Symbolic link loop",
            file=display,
            hint="Remove or fix the symbolic link.",
        )
    return Problem(
        severity="warning",
        code="unreadable-file",
        message=f"Cannot read: {exc.strerror or exc}",
        file=display,
        hint="Check the permissions.",
    )


# (path) -> SourceFile; a hit needs the same mtime_ns and size.
_CACHE: dict[str, SourceFile] = {}


def read_source(path: Path, st: os.stat_result | None = None) -> SourceFile:
    """Read `path` as text, from the cache when its mtime and size are unchanged.

    `st` is an already known `os.stat` of the file (saves a syscall). Never raises for a bad
    file: the failure is in `SourceFile.error_code`.
    """
    key = os.fspath(path)
    if st is None:
        try:
            st = os.stat(key)
        except OSError as exc:
            code = "symlink-loop" if exc.errno == errno.ELOOP else (
                "not-a-file" if exc.errno == errno.ENOENT else "unreadable-file"
            )
            message = {
                "symlink-loop": "Symbolic link loop: the file cannot be resolved",
                "not-a-file": "Broken symbolic link or missing file",
            }.get(code, f"Cannot read file: {exc.strerror or exc}")
            _CACHE.pop(key, None)
            return SourceFile(filename=key, text=None, error_code=code, error=message)
    cached = _CACHE.get(key)
    if cached is not None and cached.mtime_ns == st.st_mtime_ns and cached.size == st.st_size:
        return cached
    if not stat_mod.S_ISREG(st.st_mode):
        result = SourceFile(key, None, st.st_mtime_ns, st.st_size, "not-a-file", "Not a regular file")
    elif st.st_size > _source_cap:
        result = SourceFile(key, None, st.st_mtime_ns, st.st_size, "too-large",
                            f"File is {_megabytes(st.st_size)}, above the {_megabytes(_source_cap)} source "
                            "size cap: not read or parsed")
    else:
        try:
            with open(key, "rb") as fh:
                data = fh.read(_source_cap + 1)  # bounded even when the file grows meanwhile
        except OSError as exc:
            code = "symlink-loop" if exc.errno == errno.ELOOP else "unreadable-file"
            result = SourceFile(
                key, None, st.st_mtime_ns, st.st_size, code, f"Cannot read file: {exc.strerror or exc}"
            )
        else:
            if len(data) > _source_cap:
                result = SourceFile(key, None, st.st_mtime_ns, st.st_size, "too-large",
                                    f"File is above the {_megabytes(_source_cap)} source size cap: not read or parsed")
            else:
                result = _decode(key, data, st)
    _CACHE[key] = result
    return result


def _decode(path: str, data: bytes, st: os.stat_result) -> SourceFile:
    encoding = "utf-8"
    if path.endswith(".py"):
        encoding = _declared_encoding(data) or "utf-8"
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return SourceFile(
            path,
            data.decode(encoding, errors="replace"),
            st.st_mtime_ns,
            st.st_size,
            "not-utf8",
            f"Not valid {encoding.upper()}: byte 0x{data[exc.start]:02x} at line {line}",
            line,
        )
    except LookupError:
        text = data.decode("utf-8", errors="replace")
        return SourceFile(
            path, text, st.st_mtime_ns, st.st_size, "not-utf8", f"Unknown source encoding {encoding!r}", 1
        )
    return SourceFile(path, text, st.st_mtime_ns, st.st_size)


def _declared_encoding(data: bytes) -> str | None:
    """The PEP 263 coding cookie of the first two lines, normalised, or None."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    head = data if second < 0 else data[:second]
    if b"coding" not in head:
        return None
    for line in head.split(b"\n"):
        m = _CODING_COOKIE.match(line)
        if m:
            try:
                return codecs.lookup(m.group(1).decode("ascii")).name
            except (LookupError, UnicodeDecodeError):
                return m.group(1).decode("ascii", errors="replace")
        if line.strip() and not line.lstrip().startswith(b"#"):
            break
    return None


def set_source_cap(max_bytes: int) -> None:
    """Files bigger than `max_bytes` are not read from now on (`too-large`)."""
    global _source_cap
    if max_bytes != _source_cap:
        _source_cap = max_bytes
        _CACHE.clear()  # entries were judged against the old cap


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def clear_cache() -> None:
    """Forget every cached file (tests, benchmarks)."""
    _CACHE.clear()

"""The entry file's source as the supervisor read it, compiled instead of the file on disk.

An editor that saves in place truncates the entry and writes it again. An instance forked while that
happens would read a half-written file and answer its syntax error, though the supervisor had just
read (and checked) a complete version. So the supervisor hands that version over in the config
(`entry_source`, base64) and the instance compiles those bytes: the module is the same in every other
way (name, `__file__`, `__spec__`, its place in `sys.modules`), tracebacks show its lines (linecache
is pinned to them, so a later save on disk does not show through), and the import frames are the
ones a file import has. Without `entry_source` the entry is read from disk as usual.
"""

from __future__ import annotations

import base64
import importlib.machinery
import importlib.util
import io
import linecache
import os
import sys


def from_config(config: dict) -> bytes | None:
    """The handed source (pinned in linecache under the entry path), or None: read the disk."""
    encoded = config.get("entry_source")
    if encoded is None:
        return None
    source = base64.b64decode(encoded)
    pin_lines(os.path.realpath(config["entry_path"]), source)
    return source


def pin_lines(path: str, source: bytes) -> None:
    """Tracebacks, the debugger and `inspect` read `path`'s lines from `source`.

    An mtime of None is how linecache marks lines that came from a loader: `checkcache` keeps them
    instead of comparing them with the file on disk (which may hold another version by now)."""
    try:
        text = importlib.util.decode_source(source)  # its coding cookie or BOM, universal newlines
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return  # compiling it reports that; the lines come from the disk then, as for any file
    lines = io.StringIO(text).readlines()  # split at newlines only, as linecache reads a file
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[path] = (len(source), None, lines, path)


class EntryLoader(importlib.machinery.SourceFileLoader):
    """The file loader of the entry, serving the handed bytes for the entry itself.

    Only `get_data` and `path_stats` differ, so the inherited `get_code`/`exec_module` run exactly
    as for a file (the same frames in a traceback). The bytecode cache is skipped for the entry: it
    is keyed by the file's mtime and size, which describe the disk, not these bytes."""

    def __init__(self, fullname: str, path: str, source: bytes) -> None:
        super().__init__(fullname, path)
        self.source = source

    def get_data(self, path: str) -> bytes:
        if path == self.path:
            pin_lines(path, self.source)
            return self.source
        return super().get_data(path)

    def path_stats(self, path: str) -> dict:
        if path == self.path:
            raise OSError("the entry's source was handed over: no bytecode cache for it")
        return super().path_stats(path)


class EntryFinder:
    """Finds the entry module by its import name (SCF imports `<file>` with `__import__`) as the
    path finder would, then gives it the `EntryLoader`. Any other module, or another file under the
    same name, is left to the usual finders."""

    def __init__(self, name: str, entry_path: str, source: bytes) -> None:
        self.name = name
        self.real_path = os.path.realpath(entry_path)
        self.source = source

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if (spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader)
                or os.path.realpath(spec.origin or "") != self.real_path):
            return None
        spec.loader = EntryLoader(spec.name, spec.origin, self.source)
        return spec


def install_finder(name: str, entry_path: str, source: bytes) -> None:
    """Import `name` from `source` when it resolves to the entry file (once; a retry replaces it)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, EntryFinder)]
    sys.meta_path.insert(0, EntryFinder(name, entry_path, source))

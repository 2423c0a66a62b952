"""The import scan's parse cache, kept between runs: `check` and `deps` parse a file only when its
size or modification time changed since the last run.

Parsing is what a scan costs (a vendored SDK is thousands of files), and each CLI call is a new
process, so the in-memory cache alone never helps them. The cache lives outside the project (the
user's cache folder, `$FUNCSTUDIO_CACHE_DIR` or `$XDG_CACHE_HOME/funcstudio`, one file per project
root) so that `check` still only reads the project. A cache that cannot be read or written is
ignored: the scan just parses again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

FORMAT = 1

Entry = tuple[int, int, tuple[tuple[str, int], ...]]


def cache_file(root: Path) -> Path:
    from studio.project.settings import user_cache_dir

    base = user_cache_dir()
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return Path(base) / "imports" / f"{digest}.json"


def _stamp() -> list:
    """What the cached results depend on besides the files: the format and the interpreter (its
    standard library decides which files need parsing at all)."""
    from studio import __version__

    return [FORMAT, __version__, list(sys.version_info[:2])]


def load(root: Path, into: dict[str, Entry]) -> None:
    """Add the saved entries of `root`'s files to `into` (entries already there win)."""
    try:
        data = json.loads(cache_file(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(data, dict) or data.get("stamp") != _stamp():
        return
    base = str(root).rstrip("/") + "/"
    for rel, entry in (data.get("files") or {}).items():
        try:
            mtime, size, imports = entry
            into.setdefault(base + rel, (int(mtime), int(size), tuple((str(n), int(line)) for n, line in imports)))
        except (TypeError, ValueError):
            continue


def save(root: Path, entries: dict[str, Entry]) -> None:
    """Write `root`'s entries of `entries` (atomically; silently skipped when impossible)."""
    base = str(root).rstrip("/") + "/"
    payload = {"stamp": _stamp(), "files": {
        key[len(base):]: [mtime, size, [list(i) for i in imports]]
        for key, (mtime, size, imports) in entries.items() if key.startswith(base)
    }}
    target = cache_file(root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".imports-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except (OSError, UnboundLocalError):
            pass

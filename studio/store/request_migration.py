"""Move the requests older versions saved in the store (`saved_requests` rows) into `.http` files.

Saved requests now live in the project as `.http` files people commit (project/http_files.py).
This runs once per project: it reads the rows through the store's `Reader` (the database is never
written) and appends each one to `<requests dir>/<function>.http`, unless that file already holds a
request of the same name (the file wins). `.funcstudio/saved-requests-migrated.json` remembers
which rows were moved, so a second run does nothing and says nothing, and a file the user deleted
afterwards stays deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio.project.http_files import (
    HttpFileError,
    HttpRequest,
    file_for_function,
    parse_http,
    slugify,
    upsert_request,
)
from studio.store.db import STORE_DIR, StoreError, db_path
from studio.store.queries import Reader
from studio.store.rows import SavedRequest

MARKER = "saved-requests-migrated.json"
CONTROL_INVOKE = "/__funcstudio/functions/{}/invoke"
INVOCATION_TYPE_HEADER = "X-Funcstudio-Invocation-Type"


@dataclass(frozen=True)
class MigrationResult:
    moved: int
    files: tuple[str, ...]
    """Project-relative paths of the files written."""
    skipped: tuple[str, ...] = ()
    """`function: name (why)` for rows that were not written."""

    @property
    def message(self) -> str:
        where = ", ".join(self.files)
        text = f"moved {self.moved} saved request{'s' * (self.moved != 1)} from the store into {where}"
        if self.skipped:
            text += f"; kept out: {'; '.join(self.skipped)}"
        return text


def _row_key(row: SavedRequest) -> str:
    return f"{row.function_id}\x00{row.name}\x00{row.updated_at!r}"


def request_from_row(row: SavedRequest) -> HttpRequest:
    """The `.http` form of a stored row; an SCF event becomes a call to the control API, which any
    HTTP client can send to `funcstudio serve`."""
    spec: dict = {}
    if row.event:
        try:
            loaded = json.loads(row.event)
            spec = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            spec = {}
    name = " ".join(row.name.split()) or f"request {row.id}"
    if not slugify(name):
        name = f"request {row.id} {name}"
    body = spec.get("body") if isinstance(spec.get("body"), str) else row.body.decode("utf-8", "replace")
    headers = [tuple(h) for h in spec.get("headers") or row.headers]
    if spec.get("mode") == "scf":
        url = CONTROL_INVOKE.format(spec.get("function_id") or row.function_id)
        if spec.get("invocation_type") == "Event":
            headers.append((INVOCATION_TYPE_HEADER, "Event"))
        method = "POST"
    else:
        url = row.path or "/"
        method = (row.method or "GET").upper()
    lines = [line for line in body.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return HttpRequest(name=name, method=method, url=url.replace(" ", "%20"),
                       headers=tuple((str(n), str(v)) for n, v in headers), body="\n".join(lines),
                       comments=(f"# saved in the studio for {row.function_id}",))


def migrate_saved_requests(root: Path, requests_dir: str) -> MigrationResult | None:
    """Move rows not moved before; None when there was nothing to move (or no store)."""
    root = Path(root)
    store = db_path(root)
    if not store.is_file():
        return None
    marker = root / STORE_DIR / MARKER
    try:
        done = set(json.loads(marker.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        done = set()
    try:
        with Reader(store) as reader:
            rows = reader.saved_requests()
    except StoreError:
        return None
    pending = [row for row in rows if _row_key(row) not in done]
    if not pending:
        return None
    folder = root / requests_dir
    written: list[str] = []
    skipped: list[str] = []
    moved = 0
    for row in pending:
        target = folder / file_for_function(row.function_id)
        try:
            request = request_from_row(row)
            text = target.read_text(encoding="utf-8") if target.is_file() else ""
            if parse_http(text).find(request.slug) is not None:
                skipped.append(f"{row.function_id}: {row.name} (already in {target.relative_to(root).as_posix()})")
            else:
                folder.mkdir(parents=True, exist_ok=True)
                target.write_text(upsert_request(text, request), encoding="utf-8")
                moved += 1
                rel = target.relative_to(root).as_posix()
                if rel not in written:
                    written.append(rel)
        except (HttpFileError, OSError, UnicodeDecodeError) as exc:
            skipped.append(f"{row.function_id}: {row.name} ({exc})")
        done.add(_row_key(row))  # reported once either way
    try:
        marker.write_text(json.dumps(sorted(done)), encoding="utf-8")
    except OSError:
        pass
    if not moved and not skipped:
        return None
    return MigrationResult(moved, tuple(written), tuple(skipped))

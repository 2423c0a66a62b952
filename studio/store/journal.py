"""The append-only journal that makes every answered invocation survive a SIGKILL.

Each recording process owns one file, `.funcstudio/journal/<pid>-<token>.jsonl`, and holds an
exclusive `flock` on it for as long as it lives. Before an invocation is answered, its finished record
(`journal_line`: the record's fields, bodies capped as the store keeps them) is appended as one line,
copied into the file's shared mapping (`Journal`: no system call); the store writer then commits from
memory in batches and starts the file over once everything journaled is committed. A process that
dies leaves its file behind, unlocked (the kernel drops the lock with the process): the next writer
to start replays it, INSERT-OR-IGNORE by request id, and deletes it.

A line the kill cut short (copied but not yet counted in the header) is left out: that invocation was
never answered, because the answer goes out only after the line was counted.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import logging
import mmap
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path

import orjson

from studio.runtime import fastjson
from studio.runtime.invocation import InvocationRecord
from studio.store.redact import cap_body

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
SUFFIX = ".jsonl"


def journal_dir(db_path: str | Path) -> Path:
    return Path(db_path).parent / JOURNAL_DIR


def journal_line(record: InvocationRecord, body_cap: int) -> bytes:
    """One JSON line for `record`, bodies capped as the store keeps them; `line_json` reads it back.

    The line is orjson's own rendering of the dataclass (its fields by name, in C: ~1.5 us), not
    `to_json()`, whose dict took ~3.5 us more to build and serialise, on the request path between
    the worker's answer and the client's. Bytes become text, or `{"base64": ...}` when not UTF-8.
    What orjson refuses (a lone surrogate, a huge integer) is written as `to_json()` instead.
    Secrets are redacted when the line is committed (the writer's one redaction pass), not here: the
    journal is a private (0600) file under the git-ignored `.funcstudio/` directory, emptied once committed."""
    if len(record.request_body) > body_cap or len(record.response_body) > body_cap:
        request_body, request_size, request_cut = cap_body(record.request_body, body_cap)
        response_body, response_size, response_cut = cap_body(record.response_body, body_cap)
        record = dataclasses.replace(
            record, request_body=request_body, response_body=response_body,
            request_body_size=request_size if request_cut else record.request_body_size,
            response_body_size=response_size if response_cut else record.response_body_size)
    try:
        return orjson.dumps(record, default=_native_default, option=_NATIVE_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return fastjson.dumps(record.to_json()) + b"\n"


_NATIVE_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME


def _native_default(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    return repr(value)  # as `fastjson.dumps` renders what JSON has no type for


def line_json(line: bytes) -> dict:
    """A journal line as `InvocationRecord.to_json()` has it (what `from_json` and `json_row` read),
    whichever way `journal_line` wrote it. ValueError when it is not JSON (cut short by a kill)."""
    data = fastjson.loads(line)
    if not isinstance(data, dict):
        raise ValueError("a journal line holds a JSON object")
    if "response_headers" in data:  # orjson's rendering of the record: `to_json`'s names and encodings
        data["request_body"], data["request_body_encoding"] = _body_json(data.get("request_body"))
        data["body"], data["body_encoding"] = _body_json(data.pop("response_body", ""))
        data["headers"] = data.pop("response_headers")
        data["body_size"] = data.pop("response_body_size", None)
        for key in ("duration_ms", "wait_ms", "handler_ms"):  # rounded as `to_json` rounds them
            if isinstance(data.get(key), float):
                data[key] = round(data[key], 3)
    return data


def _body_json(value) -> tuple[str, str]:
    if isinstance(value, dict):
        return str(value.get("base64") or ""), "base64"
    return value or "", "utf-8"


MAPPED_MAGIC = b"FSJOURN2"
"""A mapped journal starts with this and the length of the lines after its header (`HEADER` bytes)."""
HEADER = 16
_LENGTH = struct.Struct("<Q")
MAP_INITIAL_BYTES = 1 << 20
"""Room reserved for a new journal (about 700 typical lines); it doubles when a pause fills it."""


class Journal:
    """This process's journal file: append one line per answered invocation, truncate when committed.

    The file is mapped into memory (MAP_SHARED) and each line is copied into the mapping, then counted
    in the header: no system call per line (a `write` cost every recorded request 4-6 us on a VM, and
    slowed the code after it more than that). What is copied is in
    the kernel's page cache at once, so it survives a SIGKILL of this process exactly as a written
    line did; a kill between the copy and the count leaves that line out, as a write cut short did.
    The room is reserved with `posix_fallocate` before it is mapped, so a full disk is an OSError when
    the journal grows, never a SIGBUS when a page is touched. Where mapping is refused (no room at
    start, a file system without shared mappings) the journal writes plain lines instead."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise
        self.size = 0
        """Bytes of lines held (the header not counted)."""
        self.broken = False
        """A write failed (a full disk): no more appends until what it holds was recovered."""
        self._map: mmap.mmap | None = None
        try:
            self._map_file(MAP_INITIAL_BYTES)
        except (OSError, ValueError) as exc:
            log.debug("store: the journal %s is written, not mapped (%s)", self.path, exc)
            os.ftruncate(self._fd, 0)

    @property
    def mapped(self) -> bool:
        return self._map is not None

    def _map_file(self, length: int) -> None:
        """Map `length` bytes of the file (reserved first), keeping the lines already in it."""
        fd = self._fd
        assert fd is not None
        if not hasattr(os, "posix_fallocate"):  # (macOS) no way to reserve the room: write instead
            raise OSError("posix_fallocate is not available")
        os.posix_fallocate(fd, 0, length)
        mapping = mmap.mmap(fd, length)
        if hasattr(mmap, "MADV_DONTFORK"):  # a forked worker runs user code: not with this in reach
            mapping.madvise(mmap.MADV_DONTFORK)
        old, self._map = self._map, mapping
        if old is None:
            mapping[:HEADER] = MAPPED_MAGIC + _LENGTH.pack(self.size)
        else:
            old.close()

    def append(self, line: bytes) -> None:
        """Copy one line in (or write it, unmapped). Raises OSError (a full disk, when it must grow)."""
        mapping = self._map
        if mapping is None:
            self._write(line)
            return
        start = HEADER + self.size
        end = start + len(line)
        if end > len(mapping):
            self._map_file(max(2 * len(mapping), end))
            mapping = self._map
        mapping[start:end] = line
        self.size = end - HEADER
        _LENGTH.pack_into(mapping, len(MAPPED_MAGIC), self.size)  # counted once whole

    def _write(self, line: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise OSError("the journal is closed")
        written = 0
        try:
            written = os.pwrite(fd, line, self.size)
            while written < len(line):  # a short write: only on a nearly full disk; finish the line
                written += os.pwrite(fd, line[written:], self.size + written)
        except OSError:
            if written:  # never leave half a line for the next one to be glued to
                os.ftruncate(fd, self.size)
            raise
        self.size += written

    def read(self, upto: int | None = None) -> bytes:
        """The lines held (their first `upto` bytes)."""
        size = self.size if upto is None else min(upto, self.size)
        if self._map is not None:
            return self._map[HEADER:HEADER + size]
        if self._fd is None:
            return b""
        return os.pread(self._fd, size, 0)

    def truncate(self) -> None:
        """Everything written so far is committed to the store: start the file over."""
        if self._fd is None or not (self.size or self.broken):
            return
        self.size = 0
        mapping = self._map
        if mapping is None:
            os.ftruncate(self._fd, 0)
        elif len(mapping) > MAP_INITIAL_BYTES:  # a long pause grew it: give the room back
            self._map = None
            mapping.close()
            os.ftruncate(self._fd, 0)
            try:
                self._map_file(MAP_INITIAL_BYTES)
            except (OSError, ValueError):
                os.ftruncate(self._fd, 0)  # written from now on
        else:
            _LENGTH.pack_into(mapping, len(MAPPED_MAGIC), 0)

    def close(self, *, remove: bool) -> None:
        if self._fd is None:
            return
        if remove:
            try:
                self.path.unlink()
            except OSError:
                pass
        if self._map is not None:
            self._map.close()
            self._map = None
        os.close(self._fd)  # releases the lock
        self._fd = None


def journal_lines(data: bytes) -> bytes:
    """The lines in a journal file's bytes, mapped (header, lines, reserved zeros) or written."""
    if data[:len(MAPPED_MAGIC)] == MAPPED_MAGIC and len(data) >= HEADER:
        (size,) = _LENGTH.unpack_from(data, len(MAPPED_MAGIC))
        return data[HEADER:HEADER + size]
    return data


def orphans(folder: Path, own: Path | None = None) -> Iterator[tuple[Path, int]]:
    """Journals whose owner is dead: (path, fd holding their lock). Close the fd when done."""
    try:
        entries = sorted(folder.glob(f"*{SUFFIX}"))
    except OSError:
        return
    for path in entries:
        if own is not None and path == own:
            continue
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its owner is alive and recording it
            continue
        yield path, fd


def read_records(fd: int) -> tuple[list[InvocationRecord], int]:
    """The records in a journal, and how many lines were unreadable."""
    with os.fdopen(os.dup(fd), "rb") as fh:
        data = fh.read()
    return parse_records(journal_lines(data))


def parse_records(data: bytes) -> tuple[list[InvocationRecord], int]:
    """The records in journal bytes, and how many lines were unreadable."""
    records, skipped = [], 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            records.append(InvocationRecord.from_json(line_json(raw)))
        except (ValueError, KeyError, TypeError):
            skipped += 1  # cut short by the kill: never answered
    return records, skipped

"""Is the store file still the one the writer opened? And how to leave one that is not.

The writer remembers the identity (device, inode) of `studio.db` and of its `-wal`/`-shm` files
when it opens them, and checks the database's with each batch (one `stat` and, when the inode is
the same but its mtime or size moved, one 16-byte read of the SQLite magic). A file deleted, replaced by another or overwritten
in place is no longer the writer's: it abandons its connection WITHOUT the checkpoint SQLite runs
when a connection closes (that would copy its pages into somebody else's file), removes the WAL
files that are its own, moves an unusable file aside and opens a fresh store at the same path.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"SQLite format 3\x00"

_abandoned: list[sqlite3.Connection] = []
"""Connections left open on purpose until the process ends (see `abandon`)."""


@dataclass(frozen=True)
class Identity:
    device: int
    inode: int

    @classmethod
    def of(cls, path: str | Path) -> Identity | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        return cls(found.st_dev, found.st_ino)


@dataclass(frozen=True)
class Owned:
    """The identities of the files a writer's connection uses."""

    db: Identity | None
    wal: Identity | None
    shm: Identity | None
    fd: int | None = field(default=None, compare=False)
    """The database file, open for as long as the connection is: its magic is read through it. Opening
    and closing the file again would drop every POSIX lock this process holds on it, SQLite's shared
    lock included, and another process's last connection closing would then checkpoint and delete the
    WAL the writer is still appending to (its commits lost)."""

    @classmethod
    def of(cls, db_path: Path) -> Owned:
        try:
            fd = os.open(db_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            fd = None
        return cls(Identity.of(db_path), Identity.of(_side(db_path, "-wal")), Identity.of(_side(db_path, "-shm")),
                   fd)

    def release(self) -> None:
        """Close the database file's descriptor, once the connection is closed too."""
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass


def change(db_path: Path, owned: Owned, seen: dict | None = None) -> str | None:
    """None while `db_path` is the file the writer opened; else what happened to it, in words.
    `seen` (kept by the caller) remembers the file's mtime and size when its magic was last read, so
    an unchanged file costs one `stat`."""
    try:
        found = os.stat(db_path)
    except OSError:
        return "was deleted"
    if Identity(found.st_dev, found.st_ino) != owned.db:
        return "was replaced by another file"
    stamp = (found.st_mtime_ns, found.st_size)
    if seen is not None and seen.get("stamp") == stamp:
        return None
    try:
        if owned.fd is not None:
            head = os.pread(owned.fd, len(MAGIC), 0)  # the same inode, without a new open (see Owned.fd)
        else:
            with open(db_path, "rb") as handle:
                head = handle.read(len(MAGIC))
    except OSError:
        return None  # unreadable for a moment is not replaced; SQLite says what is wrong
    if head and head != MAGIC[: len(head)]:
        return "was overwritten with something that is not a database"
    if seen is not None:
        seen["stamp"] = stamp
    return None


def abandon(conn: sqlite3.Connection) -> None:
    """Stop using `conn` without closing it: closing the last connection to a WAL database
    checkpoints its pages into the database file (through the file descriptor, so into whatever
    now sits at that inode) and deletes the `-wal` by NAME, which could be a fresh store's. The
    connection is kept alive until the process ends, when the kernel closes its files."""
    _abandoned.append(conn)
    try:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn))  # never deallocated, so never closed
    except (AttributeError, OSError):  # pragma: no cover - not CPython: the list keeps it alive
        pass


def clear_own_wal(db_path: Path, owned: Owned) -> None:
    """Remove the `-wal` and `-shm` files the abandoned connection used (identity checked), so a new
    database at the path does not replay another file's log."""
    for suffix, identity in (("-wal", owned.wal), ("-shm", owned.shm)):
        side = _side(db_path, suffix)
        if identity is not None and Identity.of(side) == identity:
            try:
                side.unlink()
            except OSError:
                pass


def move_aside(db_path: Path) -> Path | None:
    """Rename what sits at `db_path` to `studio.db.unusable-<time>` (kept for the user); its new
    path, or None when nothing was there or it could not be moved."""
    if not db_path.exists():
        return None
    target = db_path.with_name(f"{db_path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(db_path, target)
    except OSError:
        return None
    for suffix in ("-wal", "-shm"):
        try:
            os.replace(_side(db_path, suffix), _side(target, suffix))
        except OSError:
            pass
    return target


def _side(db_path: Path, suffix: str) -> Path:
    return db_path.with_name(db_path.name + suffix)

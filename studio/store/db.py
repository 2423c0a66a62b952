"""Open the project's store (`<project>/.funcstudio/studio.db`), set its pragmas, migrate its schema.

The schema is declared here, table by table (DESIGN.md §5), and versioned with `PRAGMA user_version`.
`MIGRATIONS[n]` takes a database from version n to n + 1; `SCHEMA_VERSION` is `len(MIGRATIONS)`.
A database written by a newer funcstudio is never touched: opening it raises `NewerSchemaError`.

Every connection gets WAL, `synchronous=NORMAL` (a commit survives a killed process; only a power
cut can lose the last few) and a `busy_timeout`, and runs in autocommit mode so that callers say
`BEGIN`/`COMMIT` themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

STORE_DIR = ".funcstudio"
DB_NAME = "studio.db"
BUSY_TIMEOUT_MS = 5_000


class StoreError(Exception):
    """The store cannot be used; the message says why in words a user can act on."""


class NewerSchemaError(StoreError):
    """The database was written by a newer funcstudio."""


class NotADatabaseError(StoreError):
    """The file at the store's path is not an SQLite database (or a malformed one)."""


def store_dir(project_root: str | Path) -> Path:
    return Path(project_root) / STORE_DIR


def db_path(project_root: str | Path) -> Path:
    return store_dir(project_root) / DB_NAME


def ensure_store_dir(project_root: str | Path) -> Path:
    """Create `.funcstudio/` with a `.gitignore` of `*`, so nothing in it is ever committed."""
    folder = store_dir(project_root)
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# funcstudio's local state: never commit it\n*\n", encoding="utf-8")
    return folder


def connect(
    path: str | Path, *, readonly: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """A connection with the store's pragmas. `readonly` opens with `mode=ro` and never creates."""
    if readonly:
        conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = OFF")  # rows are removed by the writer in batches, by hand
    return conn


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def open_store(
    path: str | Path, *, create: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """Open (and create or migrate) the store at `path`; raises `StoreError` with a clear message.

    Creates the `.funcstudio/` folder and its `.gitignore` when `path` lives in one.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"no recordings yet: {path} does not exist")
        try:
            if path.parent.name == STORE_DIR:
                ensure_store_dir(path.parent.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only or unwritable folder (EROFS, EACCES), a full disk
            raise StoreError(
                f"cannot write in {path.parent} ({exc.strerror or exc}); check that the folder is writable"
            ) from exc
    conn = None
    try:
        conn = connect(path, busy_timeout_ms=busy_timeout_ms)
        migrate(conn, path)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        text = str(exc).lower()
        error = NotADatabaseError if "not a database" in text or "malformed" in text else StoreError
        raise error(describe_error(exc, path)) from exc
    return conn


def describe_error(exc: BaseException, path: str | Path) -> str:
    """Turn an sqlite3 error into a sentence that names the file and what to do."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return f"{path} is locked by another process ({text}); close it or wait, then retry"
    if "readonly" in lowered or "read-only" in lowered or "attempt to write" in lowered:
        return f"{path} is read-only ({text}); check the file's and folder's permissions"
    if "full" in lowered:
        return f"the disk holding {path} is full ({text}); free some space"
    if "not a database" in lowered or "malformed" in lowered:
        return f"{path} is not a usable funcstudio database ({text}); move it aside to start afresh"
    if "unable to open" in lowered:
        return f"cannot open {path} ({text}); check the folder exists and is writable"
    return f"{path}: {text}"


def migrate(conn: sqlite3.Connection, path: str | Path = "studio.db") -> int:
    """Bring the schema to `SCHEMA_VERSION`, one migration per transaction. Returns the version."""
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path} was written by a newer funcstudio (schema version {version}, this one knows "
            f"up to {SCHEMA_VERSION}); upgrade funcstudio, or move the file aside to start afresh"
        )
    if version == SCHEMA_VERSION:
        return version
    from sqlite_utils import Database

    db = Database(conn)
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            version = user_version(conn)
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                break
            MIGRATIONS[version](db)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version


# --- migrations -------------------------------------------------------------------------------


def _v1_initial(db: Database) -> None:
    """The tables of DESIGN.md §5, their filter indexes, FTS5 on log text and the count cache."""
    db["invocations"].create(
        {
            "id": int,
            "request_id": str,
            "state": str,  # running | finished | interrupted
            "function_id": str,
            "platform": str,
            "kind": str,
            "trigger": str,
            "method": str,
            "path": str,
            "query_string": str,
            "params": str,  # JSON object
            "request_headers": str,  # JSON list of [name, value], secrets redacted
            "request_body": bytes,
            "request_body_size": int,
            "request_body_truncated": int,
            "status": int,
            "status_class": int,  # status // 100; 0 while running or when there is no status
            "response_headers": str,
            "response_body": bytes,
            "response_body_size": int,
            "response_body_truncated": int,
            "return_value": str,
            "error_type": str,
            "error_message": str,
            "error_traceback": str,
            "fault": str,
            "has_error": int,  # an exception, a fault or a 5xx
            "warnings": str,  # JSON list of {id, message, fix}
            "outbox": str,  # JSON list
            "started_at": float,
            "duration_ms": float,
            "init_ms": float,
            "peak_memory_mb": float,
            "code_version": str,
            "instance_id": str,
            "log_count": int,
            "logs_truncated": int,
        },
        pk="id",
        not_null=["request_id", "state", "trigger", "method", "path", "started_at"],
        defaults={"state": "running", "status_class": 0, "has_error": 0, "log_count": 0},
    )
    db["logs"].create(
        {
            "id": int,
            "invocation_id": int,
            "function_id": str,
            "seq": int,
            "time": float,
            "stream": str,
            "level": str,
            "text": str,
        },
        pk="id",
        not_null=["invocation_id", "seq", "time", "stream", "text"],
    )
    db["frames"].create(
        {
            "id": int,
            "invocation_id": int,
            "idx": int,
            "file": str,
            "line": int,
            "function": str,
            "source": str,
            "locals": str,  # JSON object name -> repr (capped by the worker)
            "is_user_code": int,
        },
        pk="id",
        not_null=["invocation_id", "idx"],
    )
    db["saved_requests"].create(
        {
            "id": int,
            "function_id": str,
            "name": str,
            "method": str,
            "path": str,
            "headers": str,  # JSON list of [name, value]
            "body": bytes,
            "event": str,  # JSON text of an event for non-HTTP functions, or NULL
            "created_at": float,
            "updated_at": float,
        },
        pk="id",
        not_null=["function_id", "name", "method", "path", "created_at", "updated_at"],
    )
    db["counters"].create({"name": str, "value": int}, pk="name", not_null=["value"])

    inv = db["invocations"]
    inv.create_index(["request_id"], unique=True)
    inv.create_index(["function_id", "id"])
    inv.create_index(["status_class", "id"])
    inv.create_index(["status", "id"])
    inv.create_index(["has_error", "id"])
    inv.create_index(["started_at"])
    inv.create_index(["state"])
    logs = db["logs"]
    logs.create_index(["invocation_id", "seq"])
    logs.create_index(["function_id", "id"])
    logs.create_index(["level", "id"])
    logs.create_index(["time"])
    db["frames"].create_index(["invocation_id", "idx"])
    db["saved_requests"].create_index(["function_id", "name"], unique=True)
    # External-content FTS5 kept in step by triggers, so pruning a log row prunes its index entry
    # (the insert trigger goes in v6: the writer indexes each commit's lines in one statement).
    logs.enable_fts(["text"], fts_version="FTS5", create_triggers=True, tokenize="unicode61")
    db["counters"].insert_all([{"name": "invocations", "value": 0}, {"name": "logs", "value": 0}])


def _v2_function_level_index(db: Database) -> None:
    """`--function X --level error` walks one ordered index range per level instead of every line of
    the function (100 ms -> 0.1 ms at a million lines when the level is rare)."""
    db["logs"].create_index(["function_id", "level", "id"], if_not_exists=True)


def _v3_app_path(db: Database) -> None:
    """The path a framework app received after prefix stripping (NULL for other kinds), so `show`
    and the studio can say what the app saw."""
    db["invocations"].add_column("app_path", str)


def _v4_paused_ms(db: Database) -> None:
    """How long a debugged invocation sat paused at breakpoints (NULL when it never paused), so a
    recorded duration that includes a person's think time says so."""
    db["invocations"].add_column("paused_ms", float)


def _v5_phases(db: Database) -> None:
    """An invocation's phases for its timing bar: time queued for a busy function's instance and time
    in the handler (NULL in rows written before; the bar is then not drawn)."""
    db["invocations"].add_column("wait_ms", float)
    db["invocations"].add_column("handler_ms", float)


def _v6_index_logs_per_commit(db: Database) -> None:
    """Log lines are indexed for search by one statement per commit (`maintenance.insert_logs`)
    instead of a trigger per row: the trigger goes, so no line is indexed twice. Rows written before
    are indexed already; the delete and update triggers stay (retention and clear rely on them)."""
    db.execute("DROP TRIGGER IF EXISTS logs_ai")


MIGRATIONS: list[Callable[[Database], None]] = [_v1_initial, _v2_function_level_index, _v3_app_path,
                                                _v4_paused_ms, _v5_phases, _v6_index_logs_per_commit]
SCHEMA_VERSION = len(MIGRATIONS)

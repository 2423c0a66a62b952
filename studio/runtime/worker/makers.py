"""EdgeOne Makers' `context` for cloud functions (handler classes read `self.context`). Standard
library only.

Makers documents one store for agents and cloud functions: `context.store` in `agents/`,
`context.agent.store` in `cloud-functions/`, "built on the platform's Blob storage", with the
same API in Node and Python (https://pages.edgeone.ai/document/agents-conversation-storage). Locally
the store is a SQLite file in `.funcstudio/` (like CocoBase's db), so a history written by one
request is read by the next. Its methods follow the public starters' calls (`get_messages`,
`append_message`, `list_conversations`, `delete_conversation`, `clear_messages`); `context.env`
holds the project's variables. Using the context attaches EO-MAKERS-CONTEXT, which says what
production provides instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    user_id TEXT,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, created_at);
"""


class AgentStore:
    """Conversation storage on a local SQLite file; the calls the starters make, synchronous."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def append_message(self, conversation_id, role, content, metadata=None, user_id=None) -> dict:
        message = {"message_id": uuid.uuid4().hex, "conversation_id": str(conversation_id), "role": str(role),
                   "content": content, "metadata": metadata or {}, "user_id": user_id,
                   "created_at": int(time.time() * 1000)}
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message["message_id"], message["conversation_id"], user_id, message["role"],
                 json.dumps(content, ensure_ascii=False), json.dumps(message["metadata"], ensure_ascii=False),
                 message["created_at"]))
        return message

    def get_messages(self, conversation_id, limit=None, order="asc") -> list[dict]:
        direction = "DESC" if str(order).lower() == "desc" else "ASC"
        sql = (f"SELECT message_id, conversation_id, user_id, role, content, metadata, created_at FROM messages "
               f"WHERE conversation_id = ? ORDER BY created_at {direction}, rowid {direction}")
        args: list = [str(conversation_id)]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(int(limit), 0))
        with self._lock:
            rows = self.conn.execute(sql, args).fetchall()
        return [_message(row) for row in rows]

    def list_conversations(self, user_id=None, limit=20, order="desc", after=None, before=None) -> dict:
        direction = "ASC" if str(order).lower() == "asc" else "DESC"
        where, args = ("WHERE user_id = ?", [str(user_id)]) if user_id else ("", [])
        with self._lock:
            rows = self.conn.execute(
                f"SELECT conversation_id, MIN(created_at), MAX(created_at), COUNT(*) FROM messages {where} "
                f"GROUP BY conversation_id ORDER BY MAX(created_at) {direction}", args).fetchall()
        ids = [row[0] for row in rows]
        start = ids.index(after) + 1 if after in ids else 0
        end = ids.index(before) if before in ids else len(ids)
        picked = rows[start:end][: max(int(limit or 20), 0)]
        conversations = [{"id": cid, "conversation_id": cid, "created_at": first, "updated_at": last,
                          "message_count": count} for cid, first, last, count in picked]
        more = start + len(picked) < end
        return {"conversations": conversations, "has_more": more,
                "next_cursor": conversations[-1]["id"] if more and conversations else None}

    def clear_messages(self, conversation_id) -> bool:
        with self._lock, self.conn:
            return self.conn.execute("DELETE FROM messages WHERE conversation_id = ?",
                                     (str(conversation_id),)).rowcount > 0

    def delete_conversation(self, conversation_id) -> bool:
        return self.clear_messages(conversation_id)


def _message(row) -> dict:
    message_id, conversation_id, user_id, role, content, metadata, created_at = row
    return {"message_id": message_id, "conversation_id": conversation_id, "user_id": user_id, "role": role,
            "content": json.loads(content), "metadata": json.loads(metadata), "created_at": created_at}


class _Agent:
    def __init__(self, context: MakersContext) -> None:
        self._context = context

    @property
    def store(self) -> AgentStore:
        self._context.used("context.agent.store")
        return self._context.store


class MakersContext:
    """`self.context` of a handler class: `.agent.store` and `.env`."""

    def __init__(self, store: AgentStore, warn) -> None:
        self.store = store
        self._warn = warn
        self.agent = _Agent(self)

    @property
    def env(self) -> dict:
        self.used("context.env")
        return dict(os.environ)

    def used(self, what: str) -> None:
        self._warn(
            "EO-MAKERS-CONTEXT",
            f"The function used {what}, which EdgeOne Makers provides to cloud functions: in production "
            "context.agent.store is the platform's Blob-backed conversation storage shared with agents/ "
            "(context.store there) and context.env the project's variables. funcstudio keeps the store in "
            ".funcstudio/makers-store.db with the starters' methods; fields beyond those may differ.",
            "Nothing to change for local runs; check conversation data on a deployed preview.",
        )


def attach(cls, project_root: str, current):
    """The handler class with a `context` attribute, unless the class defines its own."""
    if "context" in dir(cls):
        return cls
    store = _store_for(project_root)

    def warn(*args) -> None:
        invocation = current()
        if invocation is not None:
            invocation.warn(*args)

    return type(cls.__name__, (cls,), {"context": MakersContext(store, warn), "__module__": cls.__module__})


_STORES: dict[str, AgentStore] = {}


def _store_for(project_root: str) -> AgentStore:
    path = os.path.join(project_root, ".funcstudio", "makers-store.db")
    if path not in _STORES:
        _STORES[path] = AgentStore(path)
    return _STORES[path]

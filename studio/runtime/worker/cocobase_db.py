"""CocoBase's `db` global on a local SQLite file (RUNTIME_SPEC.md §4.4): the document API. Standard
library only.

Documents live in one `documents` table as JSON text, app users in `app_users`; every filter, sort
and count is compiled to SQL by cocobase_filters.py, so a query never loads a collection into
Python.

Generation A methods return flat documents `{id, ...fields, created_at, updated_at}`; `find_user`
and `query_users` return app users as objects with attributes (`user.id`, `user.email`, also
readable as a dict), as the docs use them. The older `CustomDatabaseService` methods (Generation B)
return `{id, data, created_at, updated_at}`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import datetime, timezone

from .cocobase_filters import (
    MAX_DEPTH,
    RESERVED_DOC_FIELDS,
    DatabaseError,
    SqlParams,
    Target,
    build_mongo_where,
    build_where,
    field_names,
    json_set_sql,
    leaf_sql,
    order_sql,
    page,
    sql_like,
    sql_lower,
    sql_regexp,
    validate_field,
)

__all__ = ["Database", "DatabaseError", "UserRecord"]


class UserRecord(dict):
    """An app user as `find_user`/`query_users` return it: a dict (it serialises as JSON and reads
    as `user["email"]`) whose keys are also attributes, as the docs use it (`user.id`,
    `user.email`, `user.data`, `user.roles`, `user.is_admin`). Passwords are never in it."""

    __slots__ = ()

    def __getattr__(self, name):
        if name == "is_admin":
            return "admin" in (self.get("roles") or [])
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"app user has no field {name!r}") from None

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents(collection);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS app_users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE,
    password TEXT,
    auth_token TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    roles TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_users_by_token ON app_users(auth_token);
CREATE TABLE IF NOT EXISTS user_relationships (
    user_id TEXT NOT NULL,
    related_user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, related_user_id, type)
);
"""

def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- the service


class Database:
    """The `db` global: Generation A methods, plus the Generation B compatibility surface."""

    def __init__(self, path: str, project_id: str = "local-project") -> None:
        self.path = path
        self.project_id = project_id
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- connection

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.create_function("fs_lower", 1, sql_lower, deterministic=True)
            conn.create_function("fs_regexp", 2, sql_regexp, deterministic=True)
            conn.create_function("fs_like", 3, sql_like, deterministic=True)
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _collection(self, name) -> str:
        if not isinstance(name, str) or not name or len(name) > 200:
            raise DatabaseError(f"invalid collection name {name!r}")
        return name

    def _ensure_collection(self, name: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO collections(name, created_at) VALUES (?, ?)", (name, now_iso()))

    @staticmethod
    def _flat(row) -> dict:
        doc_id, data, created, updated = row
        doc = {"id": doc_id}
        doc.update(json.loads(data))
        doc["created_at"], doc["updated_at"] = created, updated
        return doc

    @staticmethod
    def _nested(row) -> dict:
        doc_id, data, created, updated = row
        return {"id": doc_id, "data": json.loads(data), "created_at": created, "updated_at": updated}

    @staticmethod
    def _user(row) -> UserRecord:
        user_id, email, data, roles, created, updated = row
        return UserRecord(id=user_id, email=email, data=json.loads(data), roles=json.loads(roles),
                          created_at=created, updated_at=updated)

    @staticmethod
    def _clean_data(data, what="data") -> dict:
        if not isinstance(data, dict):
            raise DatabaseError(f"{what} must be a dict, got {type(data).__name__}")
        clean = {k: v for k, v in data.items() if k not in RESERVED_DOC_FIELDS}
        for key in clean:
            if not isinstance(key, str):
                raise DatabaseError(f"field name {key!r} is not a string")
        try:
            json.dumps(clean)
        except (TypeError, ValueError) as exc:
            raise DatabaseError(f"{what} is not JSON-serialisable: {exc}") from None
        return clean

    # -- Generation A: queries

    def _select_docs(self, collection, filters, sort=None, order="asc", limit=None, offset=0, count=True):
        target = Target("documents", "d")
        where, params = build_where(target, filters)
        base = f"FROM documents d WHERE d.collection = ? AND {where}"
        args = [collection, *params]
        # One scan gives the page and the total (a window count over the filtered rows); a second
        # COUNT runs only when the page came back empty because of the offset or a zero limit.
        window = ", COUNT(*) OVER ()" if count else ""
        sql = f"SELECT d.id, d.data, d.created_at, d.updated_at{window} {base} ORDER BY {order_sql(target, sort, order)}"
        page_args = list(args)
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            page_args += [-1 if limit is None else limit, offset or 0]
        with self._lock:
            rows = self.conn.execute(sql, page_args).fetchall()
            total = None
            if count:
                if rows:
                    total = rows[0][4]
                elif offset or limit == 0:
                    total = self.conn.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0]
                else:
                    total = 0
        return [row[:4] for row in rows], total

    def query(self, collection_name, populate=None, select=None, sort=None, order="asc", limit=10, offset=0, **filters):
        collection = self._collection(collection_name)
        limit, offset = page(limit, offset)
        fields, pops = field_names(select, "select field"), field_names(populate, "populate field")
        rows, total = self._select_docs(collection, filters, sort, order, limit, offset)
        docs = [self._flat(r) for r in rows]
        for doc in docs:
            self._populate(doc, pops)
        if fields:
            docs = [_select(doc, fields) for doc in docs]
        return {"data": docs, "total": total, "has_more": offset + len(docs) < total, "limit": limit, "offset": offset}

    def find_one(self, collection_name, populate=None, select=None, **filters):
        collection = self._collection(collection_name)
        rows, _ = self._select_docs(collection, filters, limit=1, count=False)
        if not rows:
            return None
        doc = self._flat(rows[0])
        self._populate(doc, field_names(populate, "populate field"))
        fields = field_names(select, "select field")
        return _select(doc, fields) if fields else doc

    def count_documents(self, collection, filters=None, **more):
        merged = dict(filters or {}) if isinstance(filters, dict) else {}
        merged.update(more)
        collection = self._collection(collection)
        target = Target("documents", "d")
        where, params = build_where(target, merged)
        with self._lock:
            return self.conn.execute(
                f"SELECT COUNT(*) FROM documents d WHERE d.collection = ? AND {where}", [collection, *params]
            ).fetchone()[0]

    def search_documents(self, collection, search_term, search_fields=None, limit=None):
        collection = self._collection(collection)
        needle = str(search_term or "").lower()
        fields = field_names(search_fields, "search field")
        sql = SqlParams()
        if fields:
            target = Target("documents", "d")
            conds = [leaf_sql(sql, *target.field(f), "contains", needle) for f in fields]
            where = "(" + " OR ".join(conds) + ")"
        else:
            where = f"EXISTS (SELECT 1 FROM json_each(d.data) j WHERE j.type = 'text' AND instr(fs_lower(j.value), {sql.p(needle)}) > 0)"
        query = f"SELECT d.id, d.data, d.created_at, d.updated_at FROM documents d WHERE d.collection = ? AND {where} ORDER BY d.rowid"
        args = [collection, *sql.params]
        if limit is not None:
            query += " LIMIT ?"
            args.append(page(limit, 0)[0])
        with self._lock:
            return [self._flat(r) for r in self.conn.execute(query, args).fetchall()]

    # -- Generation A: writes

    def create_document(self, collection, data):
        collection = self._collection(collection)
        clean = self._clean_data(data)
        doc_id = str(data.get("id") or uuid.uuid4()) if isinstance(data, dict) else str(uuid.uuid4())
        stamp = now_iso()
        with self._lock:
            self._ensure_collection(collection)
            try:
                self.conn.execute(
                    "INSERT INTO documents(id, collection, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (doc_id, collection, json.dumps(clean, ensure_ascii=False), stamp, stamp),
                )
            except sqlite3.IntegrityError:
                raise DatabaseError(f"a document with id {doc_id!r} already exists") from None
        return {"id": doc_id, **clean, "created_at": stamp, "updated_at": stamp}

    def _get_row(self, collection, doc_id):
        return self.conn.execute(
            "SELECT id, data, created_at, updated_at FROM documents WHERE collection = ? AND id = ?",
            (collection, str(doc_id)),
        ).fetchone()

    def get_document(self, collection, doc_id):
        with self._lock:
            row = self._get_row(self._collection(collection), doc_id)
        return self._flat(row) if row else None

    def update_document(self, collection, doc_id, data):
        collection = self._collection(collection)
        clean = self._clean_data(data)
        stamp = now_iso()
        with self._lock:
            cur = self.conn.execute(
                "UPDATE documents SET data = ?, updated_at = ? WHERE collection = ? AND id = ?",
                (json.dumps(clean, ensure_ascii=False), stamp, collection, str(doc_id)),
            )
            if cur.rowcount == 0:
                return None
            return self._flat(self._get_row(collection, doc_id))

    def update_document_fields(self, collection, doc_id, fields):
        collection = self._collection(collection)
        clean = self._clean_data(fields, "fields")
        setter, args = json_set_sql(clean)
        with self._lock:
            cur = self.conn.execute(
                f"UPDATE documents SET data = {setter}, updated_at = ? WHERE collection = ? AND id = ?",
                (*args, now_iso(), collection, str(doc_id)),
            )
            if cur.rowcount == 0:
                return None
            return self._flat(self._get_row(collection, doc_id))

    def delete_document(self, collection, doc_id):
        with self._lock:
            cur = self.conn.execute(
                "DELETE FROM documents WHERE collection = ? AND id = ?", (self._collection(collection), str(doc_id))
            )
        return cur.rowcount > 0

    # -- relations

    def _lookup(self, ref):
        if not isinstance(ref, str):
            return None
        row = self.conn.execute("SELECT id, data, created_at, updated_at FROM documents WHERE id = ?", (ref,)).fetchone()
        if row:
            return self._flat(row)
        row = self.conn.execute(
            "SELECT id, email, data, roles, created_at, updated_at FROM app_users WHERE id = ?", (ref,)
        ).fetchone()
        return self._user(row) if row else None

    def _populate(self, doc: dict, paths: list[str]) -> None:
        for path in paths:
            self._populate_path(doc, path.split("."), 0)

    def _populate_path(self, doc, segments, depth):
        if not isinstance(doc, dict) or not segments or depth > MAX_DEPTH:
            return
        head, rest = segments[0], segments[1:]
        if isinstance(doc.get(head), dict):
            related = doc[head]
        elif head + "_id" in doc:
            with self._lock:
                related = self._lookup(doc[head + "_id"])
            doc[head] = related
        elif isinstance(doc.get(head + "_ids"), list):
            with self._lock:
                related = [self._lookup(ref) for ref in doc[head + "_ids"]]
            doc[head] = [r for r in related if r is not None]
            for item in doc[head]:
                self._populate_path(item, rest, depth + 1)
            return
        else:
            return
        if rest:
            self._populate_path(related, rest, depth + 1)

    # -- users

    def _select_users(self, filters, sort=None, order="asc", limit=None, offset=0, count=True):
        target = Target("app_users", "u")
        where, params = build_where(target, filters)
        base = f"FROM app_users u WHERE {where}"
        with self._lock:
            total = self.conn.execute(f"SELECT COUNT(*) {base}", params).fetchone()[0] if count else None
            sql = f"SELECT u.id, u.email, u.data, u.roles, u.created_at, u.updated_at {base} ORDER BY {order_sql(target, sort, order)}"
            args = list(params)
            if limit is not None:
                sql += " LIMIT ? OFFSET ?"
                args += [limit, offset]
            rows = self.conn.execute(sql, args).fetchall()
        return [self._user(r) for r in rows], total

    def query_users(self, populate=None, sort=None, order="asc", limit=10, offset=0, **filters):
        limit, offset = page(limit, offset)
        users, total = self._select_users(filters, sort, order, limit, offset)
        pops = field_names(populate, "populate field")
        for user in users:
            self._populate(user["data"], pops)
        return {"data": users, "total": total, "has_more": offset + len(users) < total, "limit": limit, "offset": offset}

    def find_user(self, populate=None, **filters):
        token = filters.pop("auth_token", None)
        if token is not None:
            return self.user_by_token(token)
        users, _ = self._select_users(filters, limit=1, count=False)
        if not users:
            return None
        self._populate(users[0]["data"], field_names(populate, "populate field"))
        return users[0]

    def user_by_token(self, token):
        with self._lock:
            row = self.conn.execute(
                "SELECT id, email, data, roles, created_at, updated_at FROM app_users WHERE auth_token = ?", (str(token),)
            ).fetchone()
        return self._user(row) if row else None

    def create_app_user(self, email, password=None, data=None, roles=None, auth_token=None, user_id=None):
        stamp = now_iso()
        uid = str(user_id or uuid.uuid4())
        with self._lock:
            try:
                self.conn.execute(
                    "INSERT INTO app_users(id, email, password, auth_token, data, roles, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (uid, email, password, auth_token, json.dumps(self._clean_data(data or {}), ensure_ascii=False),
                     json.dumps(list(roles or [])), stamp, stamp),
                )
            except sqlite3.IntegrityError:
                raise DatabaseError(f"an app user with id {uid!r} or email {email!r} already exists") from None
        return self.get_app_user(uid)

    def get_app_user(self, user_id):
        with self._lock:
            row = self.conn.execute(
                "SELECT id, email, data, roles, created_at, updated_at FROM app_users WHERE id = ?", (str(user_id),)
            ).fetchone()
        return self._user(row) if row else None

    def update_app_user(self, user_id, data=None, roles=None):
        with self._lock:
            if data is not None:
                setter, args = json_set_sql(self._clean_data(data))
                self.conn.execute(
                    f"UPDATE app_users SET data = {setter}, updated_at = ? WHERE id = ?", (*args, now_iso(), str(user_id))
                )
            if roles is not None:
                self.conn.execute(
                    "UPDATE app_users SET roles = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(list(roles)), now_iso(), str(user_id)),
                )
        return self.get_app_user(user_id)

    def delete_app_user(self, user_id):
        with self._lock:
            return self.conn.execute("DELETE FROM app_users WHERE id = ?", (str(user_id),)).rowcount > 0

    def add_user_relationship(self, user_id, related_user_id, relationship_type):
        with self._lock:
            self.conn.execute(
                "INSERT OR IGNORE INTO user_relationships VALUES (?, ?, ?, ?)",
                (str(user_id), str(related_user_id), str(relationship_type), now_iso()),
            )
        return True

    def remove_user_relationship(self, user_id, related_user_id, relationship_type):
        with self._lock:
            return self.conn.execute(
                "DELETE FROM user_relationships WHERE user_id = ? AND related_user_id = ? AND type = ?",
                (str(user_id), str(related_user_id), str(relationship_type)),
            ).rowcount > 0

    def get_user_relationships(self, user_id, relationship_type, limit=50, offset=0):
        limit, offset = page(limit, offset)
        args = (str(user_id), str(relationship_type))
        base = "FROM user_relationships r JOIN app_users u ON u.id = r.related_user_id WHERE r.user_id = ? AND r.type = ?"
        with self._lock:
            total = self.conn.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0]
            rows = self.conn.execute(
                f"SELECT u.id, u.email, u.data, u.roles, u.created_at, u.updated_at {base} ORDER BY r.created_at LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        users = [self._user(r) for r in rows]
        return {"data": users, "total": total, "has_more": offset + len(users) < total}

    def get_user_collections(self, user_id, collection_name, filters=None, populate=None, limit=10, offset=0):
        merged = dict(filters or {})
        merged["user_id"] = str(user_id)
        return self.query(collection_name, populate=populate, limit=limit, offset=offset, **merged)

    # -- Generation B: CustomDatabaseService compatibility

    def create_collection(self, name, schema=None):
        with self._lock:
            self._ensure_collection(self._collection(name))
        return {"name": name}

    def get_collections(self, limit=None):
        """Generation B: `[{'id', 'name', 'created_at'}, ...]` (the name is the id locally)."""
        found = [{"id": c["name"], **c} for c in self.list_collections()]
        return found if limit is None else found[: max(int(limit), 0)]

    def get_collection(self, name):
        return next((c for c in self.get_collections() if c["name"] == name), None)

    def get_app_users(self, limit=None, offset=None, filters=None):
        """Generation B: app users matching Mongo-style `filters`; `'data': {...}` matches data fields."""
        conditions: dict = {}
        for key, value in (filters or {}).items():
            if key == "data" and isinstance(value, dict):
                conditions.update({f"data.{k}": v for k, v in value.items()})
            else:
                conditions[key] = value
        return self.query_app_users(conditions, limit=limit, offset=offset)

    def query_app_users(self, conditions=None, limit=None, offset=None, sort_by=None, sort_order="asc"):
        """Generation B: `{'email': {'$ilike': '%@x.com'}, 'data.age': {'$gte': 18}, 'roles': {'$contains': 'a'}}`."""
        target = Target("app_users", "u")
        plain = {}
        for key, value in (conditions or {}).items():
            plain[key[5:] if isinstance(key, str) and key.startswith("data.") else key] = value
        where, params = build_mongo_where(target, plain)
        sort = sort_by[5:] if isinstance(sort_by, str) and sort_by.startswith("data.") else sort_by
        sql = (f"SELECT u.id, u.email, u.data, u.roles, u.created_at, u.updated_at FROM app_users u WHERE {where}"
               f" ORDER BY {order_sql(target, sort, sort_order)}")
        args = list(params)
        if limit is not None or offset:
            lim, off = page(1000 if limit is None else limit, offset or 0)
            sql += " LIMIT ? OFFSET ?"
            args += [lim, off]
        with self._lock:
            return [self._user(r) for r in self.conn.execute(sql, args).fetchall()]

    def list_collections(self):
        with self._lock:
            rows = self.conn.execute("SELECT name, created_at FROM collections ORDER BY name").fetchall()
        return [{"name": n, "created_at": c} for n, c in rows]

    def delete_collection(self, name):
        name = self._collection(name)
        with self._lock:
            self.conn.execute("DELETE FROM documents WHERE collection = ?", (name,))
            return self.conn.execute("DELETE FROM collections WHERE name = ?", (name,)).rowcount > 0

    def get_documents(self, collection, filters=None, limit=None, offset=None):
        if isinstance(filters, dict) and any(isinstance(v, dict) for v in filters.values()):
            # the docs' advanced form, `{'age': {'$gte': 18}, 'status': {'$in': [...]}}`
            return self.query_documents(collection, filters, limit=limit, offset=offset)
        collection = self._collection(collection)
        lim, off = page(0 if limit is None else limit, offset)
        rows, _ = self._select_docs(
            collection, dict(filters or {}), limit=None if limit is None else lim, offset=off, count=False
        )
        return [self._nested(r) for r in rows]

    def query_documents(self, collection, conditions=None, limit=None, offset=None, sort_by=None, sort_order="asc"):
        collection = self._collection(collection)
        target = Target("documents", "d")
        where, params = build_mongo_where(target, conditions or {})
        sql = f"SELECT d.id, d.data, d.created_at, d.updated_at FROM documents d WHERE d.collection = ? AND {where}"
        sql += f" ORDER BY {order_sql(target, sort_by, sort_order)}"
        args = [collection, *params]
        if limit is not None or offset:
            lim, off = page(1000 if limit is None else limit, offset or 0)
            sql += " LIMIT ? OFFSET ?"
            args += [lim, off]
        with self._lock:
            return [self._nested(r) for r in self.conn.execute(sql, args).fetchall()]

    def aggregate_documents(self, collection, group_by=None, aggregations=None, conditions=None):
        collection = self._collection(collection)
        target = Target("documents", "d")
        where, params = build_mongo_where(target, conditions or {})
        selects, names = [], []
        groups = field_names(group_by, "group_by field")
        for g in groups:
            selects.append(target.field(g)[0])
            names.append(g)
        for out_name, spec in (aggregations or {"count": "count"}).items():
            validate_field(out_name, "aggregation")
            func, _, field = str(spec).partition(":")
            func = func.lower()
            if func == "count" and not field:
                selects.append("COUNT(*)")
            elif func in ("count", "sum", "avg", "min", "max"):
                validate_field(field, "aggregated field")
                selects.append(f"{func.upper()}({target.field(field)[0]})")
            else:
                raise DatabaseError(f"unknown aggregation {spec!r}; use count, sum:f, avg:f, min:f or max:f")
            names.append(out_name)
        sql = f"SELECT {', '.join(selects)} FROM documents d WHERE d.collection = ? AND {where}"
        if groups:
            sql += " GROUP BY " + ", ".join(target.field(g)[0] for g in groups) + " ORDER BY 1"
        with self._lock:
            rows = self.conn.execute(sql, [collection, *params]).fetchall()
        return [dict(zip(names, row, strict=True)) for row in rows]

    def execute_raw_query(self, sql, params=None):
        bound = dict(params or {})
        bound.setdefault("project_id", self.project_id)
        with self._lock:
            cur = self.conn.execute(sql, bound)
            cols = [c[0] for c in cur.description or ()]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()] if cols else cur.rowcount

    def commit(self):
        return None

    def rollback(self):
        return None

    # -- seeding and dumping (the `funcstudio db` command)

    def seed(self, payload: dict) -> dict[str, int]:
        """Load `{"collections": {name: [doc, ...]}, "users": [...]}` (or `{name: [doc, ...]}`)."""
        if not isinstance(payload, dict):
            raise DatabaseError("seed file must hold a JSON object")
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                counts = self._seed(payload)
            except BaseException:
                self.conn.execute("ROLLBACK")  # all or nothing: a bad seed file changes nothing
                raise
            self.conn.execute("COMMIT")
        return counts

    def _seed(self, payload: dict) -> dict[str, int]:
        collections = payload.get("collections", {k: v for k, v in payload.items() if k != "users"})
        counts: dict[str, int] = {}
        for name, docs in collections.items():
            if not isinstance(docs, list):
                raise DatabaseError(f"seed: collection {name!r} must be a list of objects")
            for i, doc in enumerate(docs):
                if not isinstance(doc, dict):
                    raise DatabaseError(f"seed: {name}[{i}] is not an object")
                self.create_document(name, doc)
            counts[name] = len(docs)
        users = payload.get("users", [])
        for i, user in enumerate(users):
            if not isinstance(user, dict) or not user.get("email"):
                raise DatabaseError(f"seed: users[{i}] needs an object with an email")
            self.create_app_user(user["email"], user.get("password"), user.get("data"), user.get("roles"),
                                 user.get("auth_token") or user.get("token"), user.get("id"))
        if users:
            counts["users"] = len(users)
        return counts

    def dump(self, collection: str | None = None) -> dict:
        with self._lock:
            if collection:
                rows = self.conn.execute(
                    "SELECT id, data, created_at, updated_at FROM documents WHERE collection = ? ORDER BY rowid",
                    (collection,),
                ).fetchall()
                return {collection: [self._flat(r) for r in rows]}
            out: dict = {}
            for name, doc_id, data, created, updated in self.conn.execute(
                "SELECT collection, id, data, created_at, updated_at FROM documents ORDER BY collection, rowid"
            ):
                out.setdefault(name, []).append(self._flat((doc_id, data, created, updated)))
            users = self.conn.execute(
                "SELECT id, email, data, roles, created_at, updated_at FROM app_users ORDER BY rowid"
            ).fetchall()
            if users:
                out["users"] = [self._user(r) for r in users]
            return out


def _select(doc: dict, fields: list[str]) -> dict:
    picked = {"id": doc.get("id")}
    for f in fields:
        head = f.split(".")[0]
        if head in doc:
            picked[head] = doc[head]
    return picked


def _select(doc: dict, fields: list[str]) -> dict:
    picked = {"id": doc.get("id")}
    for f in fields:
        head = f.split(".")[0]
        if head in doc:
            picked[head] = doc[head]
    return picked



"""CocoBase's `db` global on a local SQLite file (RUNTIME_SPEC.md §4.4). Standard library only.

Documents live in one `documents` table as JSON text; every filter, sort and count is translated
to parameterized SQL over `json_extract`/`json_type`, so a query never loads a collection into
Python. Field names are validated against an identifier/dotted-path grammar before they reach
the SQL text; values only ever travel as bound parameters.

Filter semantics (the same rules the property tests' plain-Python reference implements):
  * a filter value that is a string also matches a number it parses to (`"5"` matches 5) and a
    boolean it spells (`"true"`); Python numbers match numbers, bools match bools, None matches
    a missing or null field.
  * `_gt` `_gte` `_lt` `_lte` compare numbers with numbers and text with text.
  * `_contains` `_startswith` `_endswith` are case-insensitive and apply to text values.
  * `_ne` and `_notin` are the negation of `_eq` / `_in` (a missing field is "not equal").
  * `_in` / `_notin` take a comma-separated string or a list; `_isnull` takes "true"/"false".
  * keys `[or]f` / `[or:grp]f` form OR groups (a `_2`, `_3`... suffix repeats a field in a
    group); groups and plain keys are AND-ed.
  * a dotted key `author.role` follows `author_id` to a document or app user (or, failing that,
    reads the nested object `author` of the document itself).

Generation A methods return flat documents `{id, ...fields, created_at, updated_at}`. The older
`CustomDatabaseService` methods (Generation B) return `{id, data, created_at, updated_at}`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from datetime import datetime, timezone

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

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith", "in", "notin", "isnull")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
SEGMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OR_RE = re.compile(r"^\[or(?::([A-Za-z0-9_-]+))?\](.+)$")
OP_RE = re.compile(r"^(.+?)_(" + "|".join(OPERATORS) + r")$")
REPEAT_RE = re.compile(r"^(.+)_(\d+)$")
RESERVED_DOC_FIELDS = ("id", "created_at", "updated_at")
USER_COLUMNS = ("id", "email", "created_at", "updated_at")
MAX_DEPTH = 3


class DatabaseError(Exception):
    """A bad query (unknown operator, bad field name, bad value); the message says which key."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _regexp(pattern, value):
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    try:
        return 1 if re.search(pattern, value) else 0
    except re.error:
        return 0


def _like(pattern, value, case_sensitive):
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return 1 if re.fullmatch(regex, value, flags) else 0


def validate_field(name: object, where: str = "field") -> str:
    if not isinstance(name, str) or not FIELD_RE.match(name):
        raise DatabaseError(f"invalid {where} name {name!r}: use letters, digits and underscores (dotted for relations)")
    return name


# ---------------------------------------------------------------- filter parsing


def parse_filter_key(key: str) -> tuple[str | None, str, str]:
    """`[or:grp]price_gte_2` -> (group, field, op). group None means AND; "" is the default OR group."""
    group = None
    m = OR_RE.match(key)
    if m:
        group, key = (m.group(1) or ""), m.group(2)
        r = REPEAT_RE.match(key)
        if r and not OP_RE.match(key):
            key = r.group(1)
    op = "eq"
    m = OP_RE.match(key)
    if m:
        key, op = m.group(1), m.group(2)
    elif "_" in key and key.rsplit("_", 1)[1] in LOOKS_LIKE_OPERATORS:
        # `price_between` reads like an operator: refuse rather than filter on a field that never exists
        raise DatabaseError(
            f"unknown filter operator {key.rsplit('_', 1)[1]!r} in {key!r}; known: {', '.join(OPERATORS)}"
        )
    validate_field(key, "filter field")
    return group, key, op


LOOKS_LIKE_OPERATORS = {
    "between", "like", "ilike", "regex", "exists", "nin", "neq", "le", "ge", "not", "has", "icontains",
    "iexact", "exact", "range", "search", "istartswith", "iendswith", "null", "notnull",
}


def split_list(value) -> list:
    if isinstance(value, (list, tuple, set)):
        return list(value)
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")] if value != "" else []
    return [value]


def truthy(value) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise DatabaseError(f"_isnull expects 'true' or 'false', got {value!r}")
    return bool(value)


def value_variants(value) -> list[tuple[str, object]]:
    """The typed forms a filter value stands for: ("text", s), ("num", n), ("bool", b), ("null", None)."""
    if value is None:
        return [("null", None)]
    if isinstance(value, bool):
        return [("bool", value)]
    if isinstance(value, (int, float)):
        return [("num", value)]
    if isinstance(value, str):
        out: list[tuple[str, object]] = [("text", value)]
        number = parse_number(value)
        if number is not None:
            out.append(("num", number))
        if value.strip().lower() in ("true", "false"):
            out.append(("bool", value.strip().lower() == "true"))
        return out
    raise DatabaseError(f"unsupported filter value {value!r} ({type(value).__name__}); use a string, number, bool or None")


def parse_number(text: str):
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", stripped):
        return None
    try:
        return int(stripped)
    except ValueError:
        value = float(stripped)
        return value if value == value and abs(value) != float("inf") else None


# ---------------------------------------------------------------- SQL building


class _Sql:
    """Accumulates a WHERE fragment and its parameters."""

    def __init__(self) -> None:
        self.params: list = []

    def p(self, value) -> str:
        self.params.append(value)
        return "?"


class Target:
    """Where fields live: the documents table or the app_users table, under an alias."""

    def __init__(self, table: str, alias: str) -> None:
        self.table, self.alias = table, alias

    def field(self, name: str) -> tuple[str, str]:
        """(value expression, json type expression) of a top-level field."""
        a = self.alias
        if self.table == "documents" and name in RESERVED_DOC_FIELDS:
            return f"{a}.{name}", "'text'"
        if self.table == "app_users":
            if name in USER_COLUMNS:
                return f"{a}.{name}", f"(CASE WHEN {a}.{name} IS NULL THEN NULL ELSE 'text' END)"
            if name == "roles":
                return f"json_extract({a}.roles, '$')", f"json_type({a}.roles, '$')"
        path = "'$.\"" + name + "\"'"  # name is a validated identifier: safe inside the path literal
        return f"json_extract({a}.data, {path})", f"json_type({a}.data, {path})"

    def nested(self, segments: list[str]) -> tuple[str, str]:
        path = "'$" + "".join('."' + s + '"' for s in segments) + "'"
        return f"json_extract({self.alias}.data, {path})", f"json_type({self.alias}.data, {path})"


def _by_type(t: str, branches: list[tuple[str, str]]) -> str:
    """One CASE on the JSON type, so each row parses the document for the type once and for the
    value at most once (SQLite re-parses the JSON at every json_* call site)."""
    if not branches:
        return "0"
    whens = " ".join(f"WHEN '{kind}' THEN {expr}" for kind, expr in branches)
    return f"(CASE COALESCE({t}, 'null') {whens} ELSE 0 END)"


def _eq_sql(sql: _Sql, x: str, t: str, values: list) -> str:
    """Equal to any of `values`, each standing for its typed variants (value_variants)."""
    texts, nums, bools, null = [], [], set(), False
    for value in values:
        for kind, v in value_variants(value):
            if kind == "text":
                texts.append(v)
            elif kind == "num":
                nums.append(v)
            elif kind == "bool":
                bools.add(v)
            else:
                null = True
    branches = []
    if texts:
        branches.append(("text", f"{x} IN ({', '.join(sql.p(v) for v in texts)})"))
    if nums:
        branches.append(("integer", f"{x} IN ({', '.join(sql.p(v) for v in nums)})"))
        branches.append(("real", f"{x} IN ({', '.join(sql.p(v) for v in nums)})"))
    branches += [("true" if b else "false", "1") for b in sorted(bools)]
    if null:
        branches.append(("null", "1"))
    return _by_type(t, branches)


def _cmp_sql(sql: _Sql, x: str, t: str, value, symbol: str) -> str:
    branches = []
    for kind, v in value_variants(value):
        if kind == "text":
            branches.append(("text", f"{x} {symbol} {sql.p(v)}"))
        elif kind == "num":
            branches.append(("integer", f"{x} {symbol} {sql.p(v)}"))
            branches.append(("real", f"{x} {symbol} {sql.p(v)}"))
    return _by_type(t, branches)


def _text_sql(sql: _Sql, x: str, t: str, value, op: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise DatabaseError(f"_{op} expects a string, got {value!r}")
    needle = str(value).lower()
    if needle == "":
        return f"({t} = 'text')"
    if op == "contains":
        return f"({t} = 'text' AND instr(fs_lower({x}), {sql.p(needle)}) > 0)"
    if op == "startswith":
        return f"({t} = 'text' AND substr(fs_lower({x}), 1, {len(needle)}) = {sql.p(needle)})"
    return f"({t} = 'text' AND substr(fs_lower({x}), -{len(needle)}) = {sql.p(needle)})"


def _leaf_sql(sql: _Sql, x: str, t: str, op: str, value) -> str:
    """A positive predicate (negations are applied by the caller) that is never NULL."""
    if op in ("eq", "ne"):
        body = _eq_sql(sql, x, t, [value])
    elif op in ("gt", "gte", "lt", "lte"):
        body = _cmp_sql(sql, x, t, value, {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op])
    elif op in ("contains", "startswith", "endswith"):
        body = _text_sql(sql, x, t, value, op)
    elif op in ("in", "notin"):
        items = split_list(value)
        body = _eq_sql(sql, x, t, items) if items else "0"
    elif op == "isnull":
        body = f"({t} IS NULL OR {t} = 'null')"
    else:  # pragma: no cover - parse_filter_key only yields known operators
        raise DatabaseError(f"unknown filter operator {op!r}")
    return f"COALESCE({body}, 0)"


def _field_sql(sql: _Sql, target: Target, segments: list[str], op: str, value, depth: int = 0) -> str:
    if len(segments) == 1:
        x, t = target.field(segments[0])
        return _leaf_sql(sql, x, t, op, value)
    if depth >= MAX_DEPTH:
        raise DatabaseError(f"relation path {'.'.join(segments)!r} is nested too deeply (max {MAX_DEPTH})")
    head, rest = segments[0], segments[1:]
    ref, _ = target.field(head + "_id")
    alias_d, alias_u = f"r{depth}d", f"r{depth}u"
    nested_x, nested_t = target.nested(segments) if target.table == "documents" else (None, None)
    parts = []
    if nested_x is not None:
        parts.append(_leaf_sql(sql, nested_x, nested_t, op, value))
    doc_pred = _field_sql(sql, Target("documents", alias_d), rest, op, value, depth + 1)
    parts.append(f"EXISTS (SELECT 1 FROM documents {alias_d} WHERE {alias_d}.id = {ref} AND {doc_pred})")
    user_pred = _field_sql(sql, Target("app_users", alias_u), rest, op, value, depth + 1)
    parts.append(f"EXISTS (SELECT 1 FROM app_users {alias_u} WHERE {alias_u}.id = {ref} AND {user_pred})")
    return "(" + " OR ".join(parts) + ")"


def _condition(sql: _Sql, target: Target, field: str, op: str, value) -> str:
    positive = _field_sql(sql, target, field.split("."), op, value)
    if op in ("ne", "notin"):
        return f"(NOT {positive})"
    if op == "isnull" and not truthy(value):
        return f"(NOT {positive})"
    return positive


def build_where(target: Target, filters: dict) -> tuple[str, list]:
    """The WHERE text and its parameters; each condition keeps its own parameters so that
    OR groups (emitted after the plain conditions) stay aligned with their placeholders."""
    ands: list[tuple[str, list]] = []
    groups: dict[str, list[tuple[str, list]]] = {}
    for key, value in filters.items():
        if not isinstance(key, str):
            raise DatabaseError(f"filter key {key!r} is not a string")
        group, field, op = parse_filter_key(key)
        sql = _Sql()
        cond = (_condition(sql, target, field, op, value), sql.params)
        if group is None:
            ands.append(cond)
        else:
            groups.setdefault(group, []).append(cond)
    for conds in groups.values():
        ands.append(("(" + " OR ".join(text for text, _ in conds) + ")", [p for _, ps in conds for p in ps]))
    if not ands:
        return "1", []
    return " AND ".join(text for text, _ in ands), [p for _, ps in ands for p in ps]


def _order_sql(target: Target, sort, order) -> str:
    direction = "DESC" if str(order or "asc").lower() == "desc" else "ASC"
    if str(order or "asc").lower() not in ("asc", "desc"):
        raise DatabaseError(f"order must be 'asc' or 'desc', got {order!r}")
    if sort in (None, ""):
        return f"{target.alias}.rowid {direction}"
    validate_field(sort, "sort field")
    if "." in sort:
        raise DatabaseError(f"cannot sort on a relation field ({sort!r})")
    x, _ = target.field(sort)
    return f"{x} {direction}, {target.alias}.rowid {direction}"


def _page(limit, offset) -> tuple[int, int]:
    try:
        limit = 10 if limit is None else int(limit)
        offset = 0 if offset is None else int(offset)
    except (TypeError, ValueError):
        raise DatabaseError(f"limit/offset must be integers, got {limit!r}/{offset!r}") from None
    if limit < 0 or offset < 0:
        raise DatabaseError("limit and offset must not be negative")
    return min(limit, 1000), offset


def _names(value, what: str) -> list[str]:
    if value in (None, "", []):
        return []
    items = split_list(value)
    return [validate_field(item, what) for item in items]


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
            conn.create_function("fs_lower", 1, _lower, deterministic=True)
            conn.create_function("fs_regexp", 2, _regexp, deterministic=True)
            conn.create_function("fs_like", 3, _like, deterministic=True)
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
    def _user(row) -> dict:
        user_id, email, data, roles, created, updated = row
        return {"id": user_id, "email": email, "data": json.loads(data), "roles": json.loads(roles),
                "created_at": created, "updated_at": updated}

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
        sql = f"SELECT d.id, d.data, d.created_at, d.updated_at{window} {base} ORDER BY {_order_sql(target, sort, order)}"
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
        limit, offset = _page(limit, offset)
        fields, pops = _names(select, "select field"), _names(populate, "populate field")
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
        self._populate(doc, _names(populate, "populate field"))
        fields = _names(select, "select field")
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
        fields = _names(search_fields, "search field")
        sql = _Sql()
        if fields:
            target = Target("documents", "d")
            conds = [_leaf_sql(sql, *target.field(f), "contains", needle) for f in fields]
            where = "(" + " OR ".join(conds) + ")"
        else:
            where = f"EXISTS (SELECT 1 FROM json_each(d.data) j WHERE j.type = 'text' AND instr(fs_lower(j.value), {sql.p(needle)}) > 0)"
        query = f"SELECT d.id, d.data, d.created_at, d.updated_at FROM documents d WHERE d.collection = ? AND {where} ORDER BY d.rowid"
        args = [collection, *sql.params]
        if limit is not None:
            query += " LIMIT ?"
            args.append(_page(limit, 0)[0])
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
        setter, args = _json_set(clean)
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
            sql = f"SELECT u.id, u.email, u.data, u.roles, u.created_at, u.updated_at {base} ORDER BY {_order_sql(target, sort, order)}"
            args = list(params)
            if limit is not None:
                sql += " LIMIT ? OFFSET ?"
                args += [limit, offset]
            rows = self.conn.execute(sql, args).fetchall()
        return [self._user(r) for r in rows], total

    def query_users(self, populate=None, sort=None, order="asc", limit=10, offset=0, **filters):
        limit, offset = _page(limit, offset)
        users, total = self._select_users(filters, sort, order, limit, offset)
        pops = _names(populate, "populate field")
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
        self._populate(users[0]["data"], _names(populate, "populate field"))
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
                setter, args = _json_set(self._clean_data(data))
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
        limit, offset = _page(limit, offset)
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
        collection = self._collection(collection)
        lim, off = _page(0 if limit is None else limit, offset)
        rows, _ = self._select_docs(
            collection, dict(filters or {}), limit=None if limit is None else lim, offset=off, count=False
        )
        return [self._nested(r) for r in rows]

    def query_documents(self, collection, conditions=None, limit=None, offset=None, sort_by=None, sort_order="asc"):
        collection = self._collection(collection)
        target = Target("documents", "d")
        where, params = build_mongo_where(target, conditions or {})
        sql = f"SELECT d.id, d.data, d.created_at, d.updated_at FROM documents d WHERE d.collection = ? AND {where}"
        sql += f" ORDER BY {_order_sql(target, sort_by, sort_order)}"
        args = [collection, *params]
        if limit is not None or offset:
            lim, off = _page(1000 if limit is None else limit, offset or 0)
            sql += " LIMIT ? OFFSET ?"
            args += [lim, off]
        with self._lock:
            return [self._nested(r) for r in self.conn.execute(sql, args).fetchall()]

    def aggregate_documents(self, collection, group_by=None, aggregations=None, conditions=None):
        collection = self._collection(collection)
        target = Target("documents", "d")
        where, params = build_mongo_where(target, conditions or {})
        selects, names = [], []
        groups = _names(group_by, "group_by field")
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


def _json_set(fields: dict) -> tuple[str, list]:
    """`json_set(data, path, json(value), ...)` replacing each top-level field (paths are bound too)."""
    if not fields:
        return "data", []
    args: list = []
    for key, value in fields.items():
        if '"' in key or "\\" in key:
            raise DatabaseError(f"field name {key!r} may not contain quotes or backslashes")
        args += ['$."' + key + '"', json.dumps(value, ensure_ascii=False)]
    return "json_set(data" + ", ?, json(?)" * len(fields) + ")", args


# ---------------------------------------------------------------- Generation B conditions

MONGO_OPS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$like", "$ilike", "$exists", "$contains", "$regex")


def build_mongo_where(target: Target, conditions: dict) -> tuple[str, list]:
    if not isinstance(conditions, dict):
        raise DatabaseError(f"conditions must be a dict, got {type(conditions).__name__}")
    sql = _Sql()
    ands = []
    for field, spec in conditions.items():
        validate_field(field, "condition field")
        if "." in field:
            raise DatabaseError(f"query_documents does not follow relations ({field!r})")
        x, t = target.field(field)
        if not isinstance(spec, dict):
            ands.append(_leaf_sql(sql, x, t, "eq", spec))
            continue
        for op, value in spec.items():
            if op not in MONGO_OPS:
                raise DatabaseError(f"unknown condition operator {op!r} on {field!r}; known: {', '.join(MONGO_OPS)}")
            name = op[1:]
            if name in ("eq", "gt", "gte", "lt", "lte"):
                ands.append(_leaf_sql(sql, x, t, name, value))
            elif name == "ne":
                ands.append(f"(NOT {_leaf_sql(sql, x, t, 'eq', value)})")
            elif name in ("in", "nin"):
                if not isinstance(value, (list, tuple)):
                    raise DatabaseError(f"{op} on {field!r} expects a list")
                positive = _leaf_sql(sql, x, t, "in", list(value))
                ands.append(positive if name == "in" else f"(NOT {positive})")
            elif name in ("like", "ilike"):
                ands.append(f"COALESCE(fs_like({sql.p(str(value))}, {x}, {1 if name == 'like' else 0}), 0)")
            elif name == "regex":
                try:
                    re.compile(str(value))
                except re.error as exc:
                    raise DatabaseError(f"$regex on {field!r}: {exc}") from None
                ands.append(f"COALESCE(fs_regexp({sql.p(str(value))}, {x}), 0)")
            elif name == "exists":
                present = f"({t} IS NOT NULL AND {t} != 'null')"
                ands.append(present if value else f"(NOT {present})")
            elif name == "contains":
                item = value if not isinstance(value, (dict, list)) else json.dumps(value)
                in_array = f"EXISTS (SELECT 1 FROM json_each({x}) e WHERE e.value = {sql.p(item)})"
                in_text = f"instr({x}, {sql.p(str(item))}) > 0"
                ands.append(f"COALESCE(CASE WHEN {t} = 'array' THEN {in_array} WHEN {t} = 'text' THEN {in_text} ELSE 0 END, 0)")
    return (" AND ".join(ands) if ands else "1"), sql.params

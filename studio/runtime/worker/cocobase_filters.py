"""CocoBase filters compiled to SQL for the local `db` (RUNTIME_SPEC.md §4.4). Standard library only.

Both filter languages become parameterized SQL over `json_extract`/`json_type`, so a query never
loads a collection into Python: Generation A's suffix filters (`age_gte=18`, `[or]status`,
`author.role`) through `build_where`, Generation B's Mongo-style conditions (`{"age": {"$gte": 18}}`)
through `build_mongo_where`. Field names are validated against an identifier/dotted-path grammar
before they reach the SQL text; values only ever travel as bound parameters.

Filter semantics (the same rules the property tests' plain-Python reference implements):
  * a filter value that is a string also matches a number it parses to (`"5"` matches 5) and a
    boolean it spells (`"true"`); Python numbers match numbers, bools match bools, None matches
    a missing or null field.
  * a list-valued field (an app user's `roles`, a document's tags) matches when one of its
    elements does, for equality, `_in` and the text operators (`roles_contains="admin"`).
  * `_gt` `_gte` `_lt` `_lte` compare numbers with numbers and text with text.
  * `_contains` `_startswith` `_endswith` are case-insensitive and apply to text values.
  * `_ne` and `_notin` are the negation of `_eq` / `_in` (a missing field is "not equal").
  * `_in` / `_notin` take a comma-separated string or a list; `_isnull` takes "true"/"false".
  * keys `[or]f` / `[or:grp]f` form OR groups (a `_2`, `_3`... suffix repeats a field in a
    group); groups and plain keys are AND-ed.
  * a dotted key `author.role` follows `author_id` to a document or app user (or, failing that,
    reads the nested object `author` of the document itself).
"""

from __future__ import annotations

import json
import re

RESERVED_DOC_FIELDS = ("id", "created_at", "updated_at")
USER_COLUMNS = ("id", "email", "created_at", "updated_at")
MAX_DEPTH = 3


OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith", "in", "notin", "isnull")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
SEGMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OR_RE = re.compile(r"^\[or(?::([A-Za-z0-9_-]+))?\](.+)$")
OP_RE = re.compile(r"^(.+?)_(" + "|".join(OPERATORS) + r")$")
REPEAT_RE = re.compile(r"^(.+)_(\d+)$")


class DatabaseError(Exception):
    """A bad query (unknown operator, bad field name, bad value); the message says which key."""


def sql_lower(value):
    return value.lower() if isinstance(value, str) else value


def sql_regexp(pattern, value):
    if not isinstance(value, str) or not isinstance(pattern, str):
        return 0
    try:
        return 1 if re.search(pattern, value) else 0
    except re.error:
        return 0


def sql_like(pattern, value, case_sensitive):
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


class SqlParams:
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


def _eq_sql(sql: SqlParams, x: str, t: str, values: list) -> str:
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
    if x != "e.value":  # a list-valued field matches when one of its elements does
        element = _eq_sql(sql, "e.value", "e.type", values)
        branches.append(("array", f"EXISTS (SELECT 1 FROM json_each({x}) e WHERE {element})"))
    return _by_type(t, branches)


def _cmp_sql(sql: SqlParams, x: str, t: str, value, symbol: str) -> str:
    branches = []
    for kind, v in value_variants(value):
        if kind == "text":
            branches.append(("text", f"{x} {symbol} {sql.p(v)}"))
        elif kind == "num":
            branches.append(("integer", f"{x} {symbol} {sql.p(v)}"))
            branches.append(("real", f"{x} {symbol} {sql.p(v)}"))
    return _by_type(t, branches)


def _text_sql(sql: SqlParams, x: str, t: str, value, op: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise DatabaseError(f"_{op} expects a string, got {value!r}")
    # A list-valued field (`roles_contains="admin"`) matches when one of its elements does. Built
    # first: its parameters come first in the text below.
    element = _text_sql(sql, "e.value", "e.type", value, op) if x != "e.value" else None
    needle = str(value).lower()
    if needle == "":
        text = f"({t} = 'text')"
    elif op == "contains":
        text = f"({t} = 'text' AND instr(fs_lower({x}), {sql.p(needle)}) > 0)"
    elif op == "startswith":
        text = f"({t} = 'text' AND substr(fs_lower({x}), 1, {len(needle)}) = {sql.p(needle)})"
    else:
        text = f"({t} = 'text' AND substr(fs_lower({x}), -{len(needle)}) = {sql.p(needle)})"
    if element is None:
        return text
    # CASE, not OR: json_each must only ever see an array (SQLite does not short-circuit OR)
    return f"(CASE WHEN {t} = 'array' THEN EXISTS (SELECT 1 FROM json_each({x}) e WHERE {element}) ELSE {text} END)"


def leaf_sql(sql: SqlParams, x: str, t: str, op: str, value) -> str:
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


def _field_sql(sql: SqlParams, target: Target, segments: list[str], op: str, value, depth: int = 0) -> str:
    if len(segments) == 1:
        x, t = target.field(segments[0])
        return leaf_sql(sql, x, t, op, value)
    if depth >= MAX_DEPTH:
        raise DatabaseError(f"relation path {'.'.join(segments)!r} is nested too deeply (max {MAX_DEPTH})")
    head, rest = segments[0], segments[1:]
    ref, _ = target.field(head + "_id")
    alias_d, alias_u = f"r{depth}d", f"r{depth}u"
    nested_x, nested_t = target.nested(segments) if target.table == "documents" else (None, None)
    parts = []
    if nested_x is not None:
        parts.append(leaf_sql(sql, nested_x, nested_t, op, value))
    doc_pred = _field_sql(sql, Target("documents", alias_d), rest, op, value, depth + 1)
    parts.append(f"EXISTS (SELECT 1 FROM documents {alias_d} WHERE {alias_d}.id = {ref} AND {doc_pred})")
    user_pred = _field_sql(sql, Target("app_users", alias_u), rest, op, value, depth + 1)
    parts.append(f"EXISTS (SELECT 1 FROM app_users {alias_u} WHERE {alias_u}.id = {ref} AND {user_pred})")
    return "(" + " OR ".join(parts) + ")"


def _condition(sql: SqlParams, target: Target, field: str, op: str, value) -> str:
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
        sql = SqlParams()
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


def order_sql(target: Target, sort, order) -> str:
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


def page(limit, offset) -> tuple[int, int]:
    try:
        limit = 10 if limit is None else int(limit)
        offset = 0 if offset is None else int(offset)
    except (TypeError, ValueError):
        raise DatabaseError(f"limit/offset must be integers, got {limit!r}/{offset!r}") from None
    if limit < 0 or offset < 0:
        raise DatabaseError("limit and offset must not be negative")
    return min(limit, 1000), offset


def field_names(value, what: str) -> list[str]:
    if value in (None, "", []):
        return []
    items = split_list(value)
    return [validate_field(item, what) for item in items]



def json_set_sql(fields: dict) -> tuple[str, list]:
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
    sql = SqlParams()
    ands = []
    for field, spec in conditions.items():
        validate_field(field, "condition field")
        if "." in field:
            raise DatabaseError(f"query_documents does not follow relations ({field!r})")
        x, t = target.field(field)
        if not isinstance(spec, dict):
            ands.append(leaf_sql(sql, x, t, "eq", spec))
            continue
        for op, value in spec.items():
            if op not in MONGO_OPS:
                raise DatabaseError(f"unknown condition operator {op!r} on {field!r}; known: {', '.join(MONGO_OPS)}")
            name = op[1:]
            if name in ("eq", "gt", "gte", "lt", "lte"):
                ands.append(leaf_sql(sql, x, t, name, value))
            elif name == "ne":
                ands.append(f"(NOT {leaf_sql(sql, x, t, 'eq', value)})")
            elif name in ("in", "nin"):
                if not isinstance(value, (list, tuple)):
                    raise DatabaseError(f"{op} on {field!r} expects a list")
                positive = leaf_sql(sql, x, t, "in", list(value))
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

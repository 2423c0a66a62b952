"""One filter -> SQL builder for both filtered tables, driven by a table of conditions.

    sel = selection("logs", Filter(function_id="api/users", status="5xx"), levels=["ERROR"])
    sql = f"SELECT {LOG_COLUMNS} FROM {sel.source} WHERE {sel.where()} ORDER BY {sel.key} DESC LIMIT ?"
    rows = conn.execute(sql, [*sel.params, 50])

Each `Filter` field becomes one condition whose SQL depends only on the table it filters: the table
below says, per table, which column or subquery answers it. Log queries join the invocation they
belong to (aliased `i`) for the status and error conditions; text on logs is an FTS5 match that
changes the row source and the keyset column (`f.rowid`), on invocations a condition like the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from studio.store.rows import Filter, fts_query, levels_from, parse_status

_TEXT_IN_INVOCATION = (
    "(i.id IN (SELECT l.invocation_id FROM logs_fts f JOIN logs l ON l.id = f.rowid WHERE logs_fts MATCH ?) "
    "OR instr(lower(i.path), lower(?)) OR instr(lower(i.error_message), lower(?)) "
    "OR instr(lower(i.error_type), lower(?)))"
)

CONDITIONS: dict[str, dict[str, str]] = {
    # condition name -> {table: SQL with `?` per value; `{marks}` for a list}
    "function_id": {"invocations": "i.function_id = ?", "logs": "l.function_id = ?"},
    "levels": {
        "invocations": "EXISTS (SELECT 1 FROM logs l WHERE l.invocation_id = i.id AND l.level IN ({marks}))",
        "logs": "l.level IN ({marks})",  # one level is `= ?` to SQLite: one ordered index range
    },
    "since": {"invocations": "i.started_at >= ?", "logs": "l.time >= ?"},
    "until": {"invocations": "i.started_at < ?", "logs": "l.time < ?"},
    "request_id": {
        "invocations": "i.request_id = ?",
        "logs": "l.invocation_id = (SELECT id FROM invocations WHERE request_id = ?)",
    },
    "method": {"invocations": "i.method = ?", "logs": "i.method = ?"},
    "stream": {
        "invocations": "EXISTS (SELECT 1 FROM logs l WHERE l.invocation_id = i.id AND l.stream = ?)",
        "logs": "l.stream = ?",
    },
    "status": {"invocations": "i.status = ?", "logs": "i.status = ?"},
    "status_class": {"invocations": "i.status_class = ?", "logs": "i.status_class = ?"},
    "has_error": {"invocations": "i.has_error = ?", "logs": "i.has_error = ?"},
    "text": {"invocations": _TEXT_IN_INVOCATION},  # logs: an FTS source instead (below)
}
_NEEDS_INVOCATION = frozenset({"status", "status_class", "has_error", "method"})
"""The conditions on logs that read the invocation row."""


@dataclass(frozen=True)
class Selection:
    """A FROM source, its keyset column and the WHERE conditions with their parameters."""

    source: str
    key: str
    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def where(self) -> str:
        return " AND ".join(self.conditions) or "1"

    def keyset(self, *, before: int | None = None, after: int | None = None) -> Selection:
        """The same selection limited to keys below `before` and/or above `after`."""
        conditions, params = list(self.conditions), list(self.params)
        for bound, op in ((before, "<"), (after, ">")):
            if bound is not None:
                conditions.append(f"{self.key} {op} ?")
                params.append(bound)
        return Selection(self.source, self.key, conditions, params)


def filter_values(filter: Filter, levels: Sequence[str] | None) -> dict[str, list[object]]:
    """Each condition's parameter list, for the conditions `filter` sets (ValueError on bad values)."""
    values: dict[str, list[object]] = {}
    for name in ("function_id", "since", "until", "request_id", "stream"):
        value = getattr(filter, name)
        if value is not None:
            values[name] = [value]
    if levels:
        values["levels"] = list(levels)
    if filter.status is not None:
        column, code = parse_status(filter.status)
        values[column] = [code]
    if filter.has_error is not None:
        values["has_error"] = [int(filter.has_error)]
    if filter.method:
        values["method"] = [filter.method.upper()]
    if filter.text:
        values["text"] = [fts_query(filter.text), filter.text, filter.text, filter.text]
    return values


def selection(
    table: str, filter: Filter, *, levels: Sequence[str] | None = None, join_invocations: bool = True
) -> Selection:
    """The rows of `table` ("invocations" or "logs") that `filter` keeps.

    For invocations the filter's level applies (its lines at that level or above). For logs the
    caller passes `levels` (one for an ordered index range, several for a count) and may leave the
    invocation join out when it reads only log columns (`join_invocations=False`; it is added back
    when a status or error condition needs it).
    """
    if table == "invocations":
        levels = levels_from(filter.level)
    values = filter_values(filter, levels)
    conditions: list[str] = []
    params: list[object] = []
    if table == "logs" and "text" in values:
        source, key = "logs_fts f JOIN logs l ON l.id = f.rowid", "f.rowid"
        conditions.append("logs_fts MATCH ?")
        params.append(values.pop("text")[0])
    elif table == "logs":
        source, key = "logs l", "l.id"
    else:
        source, key = "invocations i", "i.id"
    if table == "logs" and (join_invocations or _NEEDS_INVOCATION & values.keys()):
        source += " JOIN invocations i ON i.id = l.invocation_id"
    for name, templates in CONDITIONS.items():
        if name in values:
            conditions.append(templates[table].format(marks=",".join("?" * len(values[name]))))
            params += values[name]
    return Selection(source, key, conditions, params)

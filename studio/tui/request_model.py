"""The invoke panel's request as plain data: path templates, query and header text, body checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

PARAM_RE = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)(\*)?")


def path_params(template: str) -> list[tuple[str, bool]]:
    """(name, catch_all) for each `:name` / `:name*` segment of a display path."""
    return [(m.group(1), bool(m.group(2))) for m in PARAM_RE.finditer(template)]


def fill_path(template: str, values: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name, catch_all = match.group(1), bool(match.group(2))
        value = values.get(name, "")
        return quote(value, safe="/" if catch_all else "")

    return PARAM_RE.sub(replace, template)


def parse_pairs(text: str, separator: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Lines of `name<sep>value` (blank lines and `#` comments skipped) and one error per bad line."""
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition(separator)
        if not sep or not name.strip():
            errors.append(f"line {number}: expected `name{separator}value`, got {stripped!r}")
            continue
        pairs.append((name.strip(), value.strip()))
    return pairs, errors


def json_error(text: str) -> str | None:
    """None when `text` is empty or valid JSON, else the error with its line and column."""
    if not text.strip():
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return None


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


@dataclass
class RequestSpec:
    """Everything needed to send (and to save, copy as curl, or replay) one request."""

    mode: str = "http"
    """http | scf | cocobase"""
    method: str = "GET"
    path: str = "/"
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    function_id: str | None = None
    invocation_type: str = "RequestResponse"

    @property
    def target(self) -> str:
        if not self.query:
            return self.path
        return f"{self.path}?{urlencode(self.query)}"

    def to_saved(self) -> dict:
        return {
            "mode": self.mode, "method": self.method, "path": self.path, "query": self.query,
            "headers": self.headers, "body": self.body, "function_id": self.function_id,
            "invocation_type": self.invocation_type,
        }

    @classmethod
    def from_saved(cls, data: dict) -> RequestSpec:
        return cls(
            mode=data.get("mode", "http"), method=data.get("method", "GET"), path=data.get("path", "/"),
            query=[tuple(p) for p in data.get("query", [])], headers=[tuple(p) for p in data.get("headers", [])],
            body=data.get("body", ""), function_id=data.get("function_id"),
            invocation_type=data.get("invocation_type", "RequestResponse"),
        )

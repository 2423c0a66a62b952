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


URL_HEAD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def request_path(text: str) -> str:
    """The path field as a request-line path: a pasted URL loses its scheme and host, a missing
    leading slash is added and spaces are encoded (either one made the request malformed HTTP)."""
    path = URL_HEAD_RE.sub("", text.strip(), count=1).replace(" ", "%20")
    return path if path.startswith("/") else "/" + path


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


@dataclass
class RequestDraft:
    """Everything the invoke panel holds for one function, as typed (texts, not parsed yet).

    Each function keeps its own draft, so switching functions never carries one's query, headers or
    body to the next. `build()` turns it into the `RequestSpec` that is sent; saved requests (files,
    store) and curl import go through `RequestDraft.from_spec`.
    """

    function_id: str | None = None
    mode: str = "http"
    """http | scf | cocobase"""
    method: str = "GET"
    path: str = "/"
    """The path template as shown, `:name` segments filled from `params`."""
    params: dict[str, str] = field(default_factory=dict)
    query: str = ""
    """`name=value` lines."""
    headers: str = ""
    """`Name: value` lines."""
    body: str = ""
    """Body, SCF event or CocoBase payload."""
    scf_template: str = ""
    """The SCF event template the body was seeded from ("" until seeded)."""
    invocation_type: str = "RequestResponse"
    user_token: str = ""

    @classmethod
    def from_spec(cls, spec: RequestSpec, function_id: str | None = None) -> RequestDraft:
        """A draft from a sent, saved or imported request (the path is taken as a literal path)."""
        return cls(
            function_id=function_id if function_id is not None else spec.function_id, mode=spec.mode,
            method=spec.method, path=spec.path, query="\n".join(f"{k}={v}" for k, v in spec.query),
            headers="\n".join(f"{k}: {v}" for k, v in spec.headers if k.lower() != "content-length"),
            body=spec.body, invocation_type=spec.invocation_type,
        )

    def filled_path(self) -> str:
        """The path with its params filled (URL-quoted); a param still empty keeps its `:name`, an
        empty catch-all is sent as nothing."""
        def replace(match: re.Match) -> str:
            value = self.params.get(match.group(1)) or ""
            if value:
                return quote(value, safe="/" if match.group(2) else "")
            return "" if match.group(2) else match.group(0)

        return request_path(PARAM_RE.sub(replace, self.path))

    def target(self) -> str:
        """What goes on the request line: the filled path and the query as it will be sent."""
        query, _errors = parse_pairs(self.query, "=")
        path = self.filled_path()
        return f"{path}?{urlencode(query)}" if query else path

    def build(self) -> tuple[RequestSpec | None, str | None]:
        """The request to send, or None and the first error (naming the field and line)."""
        body = self.body
        if self.mode in ("scf", "cocobase") or looks_like_json(body):
            error = json_error(body)
            if error:
                label = {"scf": "event", "cocobase": "payload"}.get(self.mode, "body")
                return None, f"{label}: {error}"
        if self.mode == "scf":
            return RequestSpec(
                mode="scf", method="POST", path=f"/__funcstudio/functions/{self.function_id or ''}/invoke",
                body=body or "{}", function_id=self.function_id, invocation_type=self.invocation_type,
                headers=[("Content-Type", "application/json")],
            ), None
        query, errors = parse_pairs(self.query, "=")
        if errors:
            return None, f"query {errors[0]}"
        headers, errors = parse_pairs(self.headers, ":")
        if errors:
            return None, f"headers {errors[0]}"
        for name, catch_all in path_params(self.path):
            # a catch-all matches zero segments too (`/api` reaches `api/[[default]].py`)
            if not catch_all and not self.params.get(name):
                return None, f"path parameter :{name} is empty"
        path = request_path(fill_path(self.path, self.params))
        if body.strip() and not any(h.lower() == "content-type" for h, _ in headers):
            headers.append(("Content-Type", "application/json" if looks_like_json(body) else "text/plain"))
        if self.mode == "cocobase" and self.user_token.strip():
            headers.append(("Authorization", f"Bearer {self.user_token.strip()}"))
        return RequestSpec(mode=self.mode, method=self.method, path=path, query=query, headers=headers, body=body,
                           function_id=self.function_id), None

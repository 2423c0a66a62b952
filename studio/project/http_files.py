"""Saved requests as `.http` files (the JetBrains HTTP Client / VS Code REST Client format).

    ### get user                      <- a request starts at `###`; the rest of the line is its name
    # a comment (or // a comment)
    @id = 42                          <- a variable, seen by this request and every later one
    GET /api/users/{{id}}?full=1      <- request line: [METHOD] URL [HTTP/1.1]
    Accept: application/json          <- headers up to the first blank line
                                      <- blank line, then the body up to the next `###`
    {"name": "Ada"}

Environments live beside the files in `http-client.env.json` (shared in git) and
`http-client.private.env.json` (secrets, kept out of git): `{"dev": {"host": "...", "id": "7"}}`,
plus an optional `$shared` block every environment starts from. A value is looked up in the
private environment, then the public one, then the file's own `@variables`, so `--env prod` can
override what the file says.

Everything here is pure: text in, values out (plus `read_environments`, which only reads two
files). Parsing never raises for bad input: a block it cannot read becomes a `problem` with its
line, and the other requests stay usable.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from studio.project.model import Problem

SEPARATOR = "###"
PUBLIC_ENV_FILE = "http-client.env.json"
PRIVATE_ENV_FILE = "http-client.private.env.json"
SHARED_ENV = "$shared"
DEFAULT_DIR = "http-requests"

_METHOD_LINE = re.compile(r"^([A-Z][A-Z-]*)\s+(\S.*?)(?:\s+HTTP/\d(?:\.\d)?)?\s*$")
_BARE_URL = re.compile(r"^(/|https?://|\{\{)\S*$")
_HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z{}-]+)\s*:\s?(.*)$")
_VARIABLE_LINE = re.compile(r"^@([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")
_NAME_COMMENT = re.compile(r"^(?:#|//)\s*@name\s+(.+?)\s*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_$][\w.$-]*)\s*\}\}")
_HANDLER_LINE = re.compile(r"^(> \{%|> \S+\.js\s*$|>>!? \S)")
_BODY_FILE = re.compile(r"^<\s+(\S.*?)\s*$")


class HttpFileError(ValueError):
    """A request or environment that cannot be written or resolved; the message says what and where."""


class MissingVariable(HttpFileError):
    def __init__(self, name: str, where: str, defined: Iterable[str]) -> None:
        self.name = name
        self.defined = tuple(sorted(defined))
        known = ", ".join(self.defined) if self.defined else "none"
        super().__init__(f"{{{{{name}}}}} is not defined ({where}); defined here: {known}")


@dataclass(frozen=True)
class HttpRequest:
    """One request of a `.http` file, as written (variables not substituted)."""

    name: str
    method: str
    url: str
    """As written: `/api/users/{{id}}?full=1`, or an absolute URL whose host funcstudio ignores."""
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    """`@name = value` lines written in this request's block."""
    comments: tuple[str, ...] = ()
    """The block's comment lines, their `#`/`//` marker included."""
    handler: str = ""
    """A JetBrains response handler (`> {% ... %}`, `> file.js`) or redirect (`>> file`) after the
    body: kept as written, never run."""
    line: int = field(default=0, compare=False)
    """1-based line of the request line in its file."""
    span: tuple[int, int] = field(default=(0, 0), compare=False)
    """0-based [start, end) lines of the whole block, so a save can replace it and nothing else."""

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True)
class HttpFile:
    requests: tuple[HttpRequest, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    """`@name = value` lines before the first request (every request sees them)."""
    problems: tuple[str, ...] = field(default=(), compare=False)
    """`line N: ...` for each block that could not be read (it is left out of `requests`)."""

    def variables_for(self, request: HttpRequest) -> dict[str, str]:
        """The file variables `request` sees: the preamble's, then each block's up to its own."""
        seen = dict(self.variables)
        for item in self.requests:
            seen.update(item.variables)
            if item is request:
                break
        return seen

    def labels(self) -> list[str]:
        """How each request is selected: its slug, or `#N` (1-based) when it has no name."""
        return [r.slug or str(i) for i, r in enumerate(self.requests, 1)]

    def find(self, selector: str) -> HttpRequest | None:
        """By slugified name (`get-user` finds `### Get user`), else by 1-based position."""
        wanted = slugify(selector)
        for request in self.requests:
            if wanted and request.slug == wanted:
                return request
        if selector.isdigit() and 1 <= int(selector) <= len(self.requests):
            return self.requests[int(selector) - 1]
        return None


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def file_for_function(function_id: str) -> str:
    """Where a function's requests are saved by default: `cloud-functions/api/users/[id]` ->
    `api-users-id.http` (the platform folder adds nothing)."""
    head, _, rest = function_id.partition("/")
    short = rest if head in ("cloud-functions", "cocobase") and rest else function_id
    return (slugify(short) or "requests") + ".http"


# -- reading --------------------------------------------------------------------------------------


def parse_http(text: str) -> HttpFile:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(SEPARATOR)]
    preamble_end = starts[0] if starts else len(lines)
    ends = [*starts[1:], len(lines)]
    blocks = [(start, ends[n]) for n, start in enumerate(starts)]
    requests: list[HttpRequest] = []
    problems: list[str] = []
    preamble_vars: list[tuple[str, str]] = []
    # Text before the first `###` is a request when it has a request line, else variables and comments.
    head = _read_block(lines, 0, preamble_end, name="")
    if isinstance(head, HttpRequest):
        requests.append(head)
    elif isinstance(head, str):
        problems.append(head)
    else:
        preamble_vars = list(head)
    for start, end in blocks:
        name = lines[start][len(SEPARATOR):].strip()
        block = _read_block(lines, start + 1, end, name=name, block_start=start)
        if isinstance(block, HttpRequest):
            requests.append(block)
        elif isinstance(block, str):
            problems.append(block)
        elif block:
            problems.append(f"line {start + 1}: `{SEPARATOR} {name}` has variables but no request line")
    return HttpFile(tuple(requests), tuple(preamble_vars), tuple(problems))


def _is_comment(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") or stripped.startswith("//")


def _read_block(lines: list[str], start: int, end: int, *, name: str,
                block_start: int | None = None) -> HttpRequest | str | tuple[tuple[str, str], ...]:
    """A request, a problem (`line N: ...`), or (for a block without a request line) its variables."""
    comments: list[str] = []
    variables: list[tuple[str, str]] = []
    i = start
    while i < end:
        line = lines[i]
        stripped = line.strip()
        named = _NAME_COMMENT.match(stripped)
        if named and not name:
            name = named.group(1)
        elif not stripped:
            pass
        elif _is_comment(line):
            comments.append(stripped)
        elif (var := _VARIABLE_LINE.match(stripped)) is not None:
            variables.append((var.group(1), var.group(2)))
        else:
            break
        i += 1
    if i >= end:
        return tuple(variables)
    request_line = lines[i].strip()
    line_number = i + 1
    match = _METHOD_LINE.match(request_line)
    if match is not None:
        method, url = match.group(1), match.group(2)
    elif _BARE_URL.match(request_line):
        method, url = "GET", request_line
    else:
        return f"line {line_number}: expected a request line (`GET /path`), got {request_line[:60]!r}"
    i += 1
    # Indented `?a=1` / `&b=2` lines continue the URL (JetBrains' long-query form).
    while i < end and lines[i][:1] in (" ", "\t") and lines[i].strip()[:1] in ("?", "&"):
        url += lines[i].strip()
        i += 1
    headers: list[tuple[str, str]] = []
    while i < end and lines[i].strip():
        line = lines[i]
        if _is_comment(line):
            comments.append(line.strip())
        else:
            header = _HEADER.match(line.strip())
            if header is None:
                return (f"line {i + 1}: expected a header `Name: value` or a blank line before the body, "
                        f"got {line.strip()[:60]!r}")
            headers.append((header.group(1), header.group(2)))
        i += 1
    body_lines = lines[i + 1:end] if i < end else []
    handler_at = next((n for n, line in enumerate(body_lines) if _HANDLER_LINE.match(line)), None)
    handler_lines = body_lines[handler_at:] if handler_at is not None else []
    body_lines = body_lines[:handler_at] if handler_at is not None else body_lines
    while handler_lines and not handler_lines[-1].strip():
        handler_lines.pop()
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    while body_lines and not body_lines[0].strip():
        body_lines.pop(0)
    span_start = block_start if block_start is not None else start
    return HttpRequest(
        name=name, method=method, url=url, headers=tuple(headers), body="\n".join(body_lines),
        handler="\n".join(handler_lines),
        variables=tuple(variables), comments=tuple(comments), line=line_number, span=(span_start, end),
    )


# -- writing --------------------------------------------------------------------------------------


def format_request(request: HttpRequest) -> str:
    """The block for one request, ending in a newline. Raises HttpFileError for what the format
    cannot hold (a line break in the URL or a header, a body line starting with `###`)."""
    _check_writable(request)
    out = [f"{SEPARATOR} {request.name}".rstrip()]
    out += list(request.comments)
    out += [f"@{name} = {value}" for name, value in request.variables]
    out.append(f"{request.method} {request.url}")
    out += [f"{name}: {value}" for name, value in request.headers]
    if request.body or request.handler:
        out.append("")
    if request.body:
        out.append(request.body)
    if request.handler:
        if request.body:
            out.append("")
        out.append(request.handler)
    return "\n".join(out) + "\n"


def format_http(file: HttpFile) -> str:
    """The whole file; `parse_http` of it gives `file` back (the property tests hold them to it)."""
    _check_writable(HttpRequest("", "GET", "/", variables=file.variables))
    parts = [f"@{name} = {value}\n" for name, value in file.variables]
    if parts:
        parts.append("\n")
    parts.append("\n".join(format_request(r) for r in file.requests))
    return "".join(parts)


def upsert_request(text: str, request: HttpRequest) -> str:
    """`text` with `request` in place of the block of the same (slugified) name, or appended.
    Every other block keeps its exact text."""
    block = format_request(request)
    parsed = parse_http(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for existing in parsed.requests:
        if request.slug and existing.slug == request.slug:
            start, end = existing.span
            before, after = lines[:start], lines[end:]  # `after` starts at the next `###`, if any
            return ("\n".join(before) + "\n" if before else "") + block + ("\n" + "\n".join(after) if after else "")
    stripped = text.rstrip("\n")
    return (stripped + "\n\n" if stripped else "") + block


def _check_writable(request: HttpRequest) -> None:
    if not re.fullmatch(r"[A-Z][A-Z-]*", request.method):
        raise HttpFileError(f"method {request.method!r} is not an upper-case word")
    if not request.url.strip() or any(c in request.url for c in " \t\r\n"):
        raise HttpFileError(f"the URL {request.url!r} must be one word (no spaces or line breaks)")
    if "\n" in request.name or "\r" in request.name or request.name != request.name.strip():
        raise HttpFileError(f"a request name is one line without surrounding spaces, not {request.name!r}")
    for name, value in request.headers:
        if not _HEADER.match(f"{name}: {value}") or any(c in name + value for c in "\r\n"):
            raise HttpFileError(f"header {name!r} cannot be written on one line as `Name: value`")
    for name, value in request.variables:
        if not _VARIABLE_LINE.match(f"@{name} = {value}") or value != value.strip() or "\n" in value:
            raise HttpFileError(f"variable {name!r} cannot be written as `@{name} = value` on one line")
    for line in request.body.split("\n"):
        if line.startswith(SEPARATOR):
            raise HttpFileError(f"a body line cannot start with {SEPARATOR} (it would start a new request)")
        if _HANDLER_LINE.match(line):
            raise HttpFileError(f"a body line cannot start with {line[:3]!r} (it would start a response handler)")
    if request.handler and not _HANDLER_LINE.match(request.handler):
        raise HttpFileError("a response handler starts with `> ` or `>> `")


# -- environments and substitution ---------------------------------------------------------------


@dataclass(frozen=True)
class Environments:
    public: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    private: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    """The files they came from, for messages."""

    @property
    def names(self) -> list[str]:
        return sorted((set(self.public) | set(self.private)) - {SHARED_ENV})

    def variables(self, name: str | None) -> dict[str, str]:
        """`$shared` then the named block, public then private (each later one wins)."""
        if name is not None and name not in self.names:
            known = ", ".join(self.names) or "none"
            where = " and ".join(self.sources) or f"no {PUBLIC_ENV_FILE} found"
            raise HttpFileError(f"no environment {name!r} ({where}); environments: {known}")
        merged: dict[str, str] = {}
        for source in (self.public, self.private):
            merged.update(source.get(SHARED_ENV, {}))
        if name is not None:
            for source in (self.public, self.private):
                merged.update(source.get(name, {}))
        return merged


def parse_environments(text: str, source: str) -> dict[str, dict[str, str]]:
    """`{"env": {"var": value}}`; values that are not strings are written as JSON."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise HttpFileError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise HttpFileError(f'{source} must hold an object of environments: {{"dev": {{"host": "..."}}}}')
    return {str(env): {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in block.items()}
            for env, block in data.items()}


def read_environments(folder: Path, stop: Path | None = None) -> Environments:
    """The nearest env files at or above `folder` (not above `stop`, the project root)."""
    found: dict[str, Path] = {}
    here = Path(folder)
    while True:
        for filename in (PUBLIC_ENV_FILE, PRIVATE_ENV_FILE):
            if filename not in found and (here / filename).is_file():
                found[filename] = here / filename
        if stop is None or here == Path(stop) or here.parent == here:
            break
        here = here.parent
    blocks = {}
    for filename, path in found.items():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HttpFileError(f"cannot read {path}: {exc}") from None
        blocks[filename] = parse_environments(text, str(path))
    return Environments(blocks.get(PUBLIC_ENV_FILE, {}), blocks.get(PRIVATE_ENV_FILE, {}),
                        tuple(str(p) for p in found.values()))


def dynamic_variable(name: str) -> str | None:
    """The built-in `{{$...}}` values both clients know; None for any other name."""
    if name in ("$uuid", "$random.uuid"):
        return str(uuid.uuid4())
    if name == "$timestamp":
        return str(int(time.time()))
    if name == "$isoTimestamp":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if name in ("$randomInt", "$random.integer"):
        return str(uuid.uuid4().int % 1000)
    return None


def substitute(text: str, variables: Mapping[str, str], where: str = "",
               dynamic: Callable[[str], str | None] = dynamic_variable) -> str:
    """`text` with every `{{name}}` replaced; variables may use other variables (cycles are errors)."""

    def value_of(name: str, chain: tuple[str, ...]) -> str:
        if name in chain:
            raise HttpFileError(f"variable {name!r} refers to itself ({' -> '.join((*chain, name))})")
        if name in variables:
            return _PLACEHOLDER.sub(lambda m: value_of(m.group(1), (*chain, name)), variables[name])
        if name.startswith("$"):
            produced = dynamic(name)
            if produced is not None:
                return produced
        raise MissingVariable(name, where or "in the request", variables)

    return _PLACEHOLDER.sub(lambda m: value_of(m.group(1), ()), text)


def placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _PLACEHOLDER.finditer(text)))


@dataclass(frozen=True)
class ResolvedRequest:
    """A request ready to send: variables filled in, the URL reduced to path and query."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: str


def resolve(file: HttpFile, request: HttpRequest, environment: Mapping[str, str] | None = None,
            where: str = "", dynamic: Callable[[str], str | None] = dynamic_variable,
            read_body_file: Callable[[str], str] | None = None) -> ResolvedRequest:
    """Fill `{{variables}}` (environment over file variables) and drop scheme and host:
    funcstudio sends every request to its own local runtime. A body that is one `< path` line is
    that file's text, read by `read_body_file(path)` (the caller knows where the `.http` file is)."""
    variables = {**file.variables_for(request), **(environment or {})}
    at = f"{where}, line {request.line}" if where else f"line {request.line}"
    url = substitute(request.url, variables, at, dynamic)
    parts = urlsplit(url)
    target = url
    if parts.scheme or url.startswith("//"):
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    elif not target.startswith("/"):
        target = "/" + target
    headers = tuple((substitute(n, variables, at, dynamic), substitute(v, variables, at, dynamic))
                    for n, v in request.headers)
    body = request.body
    included = _BODY_FILE.match(body) if "\n" not in body else None
    if included is not None and read_body_file is not None:
        body = read_body_file(substitute(included.group(1), variables, at, dynamic))
    return ResolvedRequest(request.method, target, headers, substitute(body, variables, at, dynamic))


def with_name(request: HttpRequest, name: str) -> HttpRequest:
    return replace(request, name=name)


def http_file_problems(root: Path, folder: str = DEFAULT_DIR) -> list[Problem]:
    """What `funcstudio check` says about the saved requests: blocks of `.http` files that cannot be
    read (with their line) and environment files that are not `{"env": {...}}` JSON."""
    base = Path(root) / folder
    if not base.is_dir():
        return []
    problems: list[Problem] = []
    hint = "The block is skipped until it reads as `### name`, a request line, headers, a blank line, a body."
    for path in sorted(base.rglob("*.http")):
        rel = path.relative_to(root).as_posix()
        try:
            parsed = parse_http(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("warning", "http-file", f"cannot read saved requests: {exc}", file=rel))
            continue
        for text in parsed.problems:
            number, _, message = text.partition(": ")
            line = int(number.removeprefix("line ")) if number.startswith("line ") else None
            problems.append(Problem("warning", "http-file", message, file=rel, line=line, hint=hint))
    for path in sorted({*base.rglob(PUBLIC_ENV_FILE), *base.rglob(PRIVATE_ENV_FILE),
                        *(Path(root) / name for name in (PUBLIC_ENV_FILE, PRIVATE_ENV_FILE))}):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        try:
            parse_environments(path.read_text(encoding="utf-8"), rel)
        except (HttpFileError, OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("warning", "http-file", str(exc), file=rel))
    return problems

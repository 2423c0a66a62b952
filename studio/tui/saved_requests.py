"""The invoke panel's drafts as `.http` requests and back (the studio's side of project/http_files.py).

Saving keeps the path template: `/api/users/:id` with id = 42 is written as
`GET /api/users/{{id}}` under `@id = 42`. Loading fills the panel with what would be sent
(variables from the chosen environment, then the file's), but remembers the request as written:
saving it again under the same name writes back the `{{token}}` of every header, query and body
that was not edited, so a secret from `http-client.private.env.json` never lands in a shared file.
An SCF event is a call to the control API (`POST /__funcstudio/functions/<id>/invoke`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from studio.project.http_files import (
    Environments,
    HttpFile,
    HttpFileError,
    HttpRequest,
    dynamic_variable,
    file_for_function,
    parse_http,
    placeholders,
    read_environments,
    slugify,
    upsert_request,
)
from studio.tui.request_model import PARAM_RE, RequestDraft, parse_pairs

CONTROL_RE = re.compile(r"^/__funcstudio/functions/(.+)/invoke$")
INVOCATION_TYPE_HEADER = "X-Funcstudio-Invocation-Type"
FUNCTION_COMMENT = re.compile(r"^#\s*function:\s*(\S+)\s*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_$][\w.$-]*)\s*\}\}")


@dataclass(frozen=True)
class SavedEntry:
    """One request of one file, as the list shows it."""

    file: str
    """Project-relative path of its `.http` file."""
    label: str
    """Its slug, or its 1-based position when it has no name."""
    request: HttpRequest
    parsed: HttpFile
    function_id: str | None = None
    """From a `# function: ...` comment (the studio writes one), else None."""

    @property
    def key(self) -> str:
        return f"{self.file}#{self.label}"


@dataclass
class Catalog:
    entries: list[SavedEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadedRequest:
    """A request loaded into the panel: as written, and as its texts were filled in."""

    file: str
    request: HttpRequest
    filled_headers: tuple[tuple[str, str], ...] = ()
    filled_query: str = ""
    filled_body: str = ""
    query_template: str = ""
    url_prefix: str = ""
    """A leading `{{host}}` the panel does not show; written back in front of the path."""
    params: tuple[tuple[str, str], ...] = ()
    """Path parameters as they were filled in, to tell an edited value from one a variable gave."""


def scan(root: Path, folder: str) -> Catalog:
    """Every request in every `.http` file under `root/folder`, plus problems and environments."""
    catalog = Catalog()
    base = root / folder
    if not base.is_dir():
        return catalog
    for path in sorted(base.rglob("*.http")):
        rel = path.relative_to(root).as_posix()
        try:
            parsed = parse_http(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            catalog.problems.append(f"{rel}: {exc}")
            continue
        catalog.problems += [f"{rel}: {problem}" for problem in parsed.problems]
        for label, request in zip(parsed.labels(), parsed.requests, strict=True):
            function_id = next((m.group(1) for c in request.comments if (m := FUNCTION_COMMENT.match(c))), None)
            if function_id is None:
                control = CONTROL_RE.match(urlsplit(request.url).path)
                function_id = control.group(1) if control else None
            catalog.entries.append(SavedEntry(rel, label, request, parsed, function_id))
    try:
        catalog.environments = environments(root, folder).names
    except HttpFileError as exc:
        catalog.problems.append(str(exc))
    return catalog


def environments(root: Path, folder: str) -> Environments:
    return read_environments(root / folder, stop=root)


# -- saving ---------------------------------------------------------------------------------------


def draft_to_http(draft: RequestDraft, name: str, loaded: LoadedRequest | None = None) -> HttpRequest:
    """The `.http` form of what the panel holds; raises HttpFileError for what the format cannot hold."""
    name = " ".join(name.split())
    if not slugify(name):
        raise HttpFileError("give the request a name with a letter or digit in it")
    comments = (f"# function: {draft.function_id}",) if draft.function_id else ()
    previous = loaded.request if loaded is not None and loaded.request.slug == slugify(name) else None
    if draft.mode == "scf":
        headers = [("Content-Type", "application/json")]
        if draft.invocation_type == "Event":
            headers.append((INVOCATION_TYPE_HEADER, "Event"))
        body = _body(draft.body or "{}", loaded if previous else None)
        return HttpRequest(name, "POST", f"/__funcstudio/functions/{draft.function_id or ''}/invoke",
                           tuple(headers), body, comments=comments)
    query_pairs, errors = parse_pairs(draft.query, "=")
    header_pairs, errors2 = parse_pairs(draft.headers, ":")
    if errors or errors2:
        raise HttpFileError(f"{'query' if errors else 'headers'} {(errors or errors2)[0]}")
    path = PARAM_RE.sub(lambda m: "{{" + m.group(1) + "}}", draft.path or "/")
    query = "&".join(f"{quote(k, safe='{}$')}={quote(v, safe='{}$/:,')}" for k, v in query_pairs)
    if previous is not None and loaded.filled_query == draft.query.strip():
        query = loaded.query_template
    url = (loaded.url_prefix if previous is not None else "") + path + (f"?{query}" if query else "")
    if draft.mode == "cocobase" and draft.user_token.strip():
        header_pairs.append(("Authorization", f"Bearer {draft.user_token.strip()}"))
    if previous is not None:  # unedited headers keep their {{variables}}
        written = dict(zip(loaded.filled_headers, previous.headers, strict=False))
        header_pairs = [written.get((n, v), (n, v)) for n, v in header_pairs]
    variables = []
    for param, _catch_all in _params(draft.path):
        value = draft.params.get(param, "")
        given = previous is not None and (param, value) in loaded.params
        if value and not (given and param not in dict(previous.variables)):  # else a variable still gives it
            variables.append((param, value))
    return HttpRequest(name, draft.method, url, tuple(header_pairs), _body(draft.body, loaded if previous else None),
                       variables=tuple(variables), comments=comments)


def _params(template: str) -> list[tuple[str, bool]]:
    return [(m.group(1), bool(m.group(2))) for m in PARAM_RE.finditer(template)]


def _body(text: str, loaded: LoadedRequest | None) -> str:
    if loaded is not None and text.strip() == loaded.filled_body.strip():
        return loaded.request.body
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def save_name(folder: str, loaded: LoadedRequest | None) -> str:
    """What the save prompt offers: `file.http#name` of the request loaded last, else nothing."""
    if loaded is None:
        return ""
    prefix = folder.rstrip("/") + "/"
    file = loaded.file[len(prefix):] if loaded.file.startswith(prefix) else loaded.file
    return f"{file}#{loaded.request.name}" if loaded.request.name else file + "#"


def save_draft(root: Path, folder: str, draft: RequestDraft, name_text: str,
               loaded: LoadedRequest | None = None) -> tuple[str, HttpRequest]:
    """Write the draft into `FILE.http#name` (FILE relative to the requests folder), or into the
    function's own file when only a name is given;
    returns the file's project-relative path and the request as written."""
    file_part, sep, name = name_text.partition("#")
    if not sep:
        file_part, name = "", name_text
    if file_part:
        target = root / folder / file_part
        if target.suffix != ".http":
            target = target.with_name(target.name + ".http")
    else:
        target = root / folder / file_for_function(draft.function_id or "requests")
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        raise HttpFileError(f"{file_part} is outside the project") from None
    request = draft_to_http(draft, name, loaded)
    text = target.read_text(encoding="utf-8") if target.is_file() else ""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(upsert_request(text, request), encoding="utf-8")
    return target.relative_to(root).as_posix(), request


# -- loading --------------------------------------------------------------------------------------


def fill_known(text: str, variables: dict[str, str]) -> str:
    """`{{name}}` replaced where known (and `{{$uuid}}` & co.); unknown ones stay as written."""
    def value_of(match: re.Match, depth: int = 0) -> str:
        name = match.group(1)
        if name in variables and depth < 10:
            return _PLACEHOLDER.sub(lambda m: value_of(m, depth + 1), variables[name])
        if name.startswith("$"):
            produced = dynamic_variable(name)
            if produced is not None:
                return produced
        return match.group(0)

    return _PLACEHOLDER.sub(value_of, text)


def entry_to_draft(entry: SavedEntry, env: dict[str, str], function_id: str | None, mode: str,
                   catch_all: set[str] = frozenset(), root: Path | None = None,
                   ) -> tuple[RequestDraft, LoadedRequest, list[str]]:
    """The panel's draft for a saved request, what it was loaded from, and the variables nobody defines.
    A `< payload.json` body is read from beside the `.http` file (under `root`)."""
    request = entry.request
    variables = {**entry.parsed.variables_for(request), **env}
    url = request.url
    lead = re.match(r"^\{\{\s*([\w.$-]+)\s*\}\}", url)
    prefix = ""
    if lead:
        value = fill_known(lead.group(0), variables)
        if value == lead.group(0) or "://" in value:
            # `{{host}}/api/...`: the host goes (funcstudio serves the path), and comes back on save
            prefix = lead.group(0)
            url = (value if "://" in value else "") + url[lead.end():]
    parts = urlsplit(url)
    path = parts.path if (parts.scheme or url.startswith("//")) else url.split("?", 1)[0]
    query_template = parts.query if (parts.scheme or url.startswith("//")) else (url.split("?", 1) + [""])[1]
    if not path.startswith("/"):
        path = "/" + path
    missing = [name for text in (url, *(n + v for n, v in request.headers), request.body)
               for name in placeholders(text) if name not in variables and not name.startswith("$")]
    headers = tuple((fill_known(n, variables), fill_known(v, variables)) for n, v in request.headers)
    body = request.body
    included = re.match(r"^<\s+(\S.*?)\s*$", body) if root is not None and "\n" not in body else None
    if included is not None:
        try:
            body = (root / entry.file).parent.joinpath(fill_known(included.group(1), variables)).read_text(
                encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass  # shown as written; sending it shows the function what it got
    body = fill_known(body, variables)
    control = CONTROL_RE.match(path)
    if control is not None:
        kind = next((v for n, v in headers if n.lower() == INVOCATION_TYPE_HEADER.lower()), "RequestResponse")
        draft = RequestDraft(function_id=control.group(1), mode="scf", method="POST", path=path, body=body,
                             invocation_type=kind if kind in ("RequestResponse", "Event") else "RequestResponse")
        return draft, LoadedRequest(entry.file, request, headers, "", body, ""), sorted(set(missing))
    params: dict[str, str] = {}

    def to_param(match: re.Match) -> str:
        name = match.group(1)
        params[name] = fill_known(match.group(0), variables) if name in variables else ""
        return f":{name}" + ("*" if name in catch_all else "")

    template = re.sub(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}", to_param, path)
    template = fill_known(template, variables)
    query = "\n".join(f"{unquote(k)}={unquote(v)}" for k, _, v in
                      (pair.partition("=") for pair in fill_known(query_template, variables).split("&") if pair))
    user_token = ""
    header_lines = []
    for name, value in headers:
        if mode == "cocobase" and name.lower() == "authorization" and value.startswith("Bearer "):
            user_token = value[len("Bearer "):]
            continue
        header_lines.append(f"{name}: {value}")
    draft = RequestDraft(function_id=function_id, mode=mode, method=request.method, path=template, params=params,
                         query=query, headers="\n".join(header_lines), body=body, user_token=user_token)
    loaded = LoadedRequest(entry.file, request, headers, query.strip(), body, query_template, prefix,
                           tuple(params.items()))
    return draft, loaded, sorted(set(missing))

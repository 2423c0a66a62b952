"""`funcstudio invoke PROJECT --request FILE.http#name [--env NAME]`: one saved request, resolved.

The reference is a `.http` path (relative to the project, else to the current folder) and, after
`#`, the slugified `###` name of one of its requests (or its 1-based position). Every way this can
go wrong is a usage error that lists what does exist: the files, the requests, the variables and
the environments.
"""

from __future__ import annotations

from pathlib import Path

import click

from studio.cli.invoke_cmd import Usage
from studio.project.http_files import (
    HttpFileError,
    MissingVariable,
    ResolvedRequest,
    parse_http,
    read_environments,
    resolve,
)


def looks_like_method(value: str) -> bool:
    """`--request POST` (curl's spelling of -X) still sets the method."""
    return value.isalpha() and "#" not in value


def _http_files(root: Path, folder: str) -> list[str]:
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.http") if p.is_file())


def find_file(root: Path, path_text: str, requests_dir: str) -> Path:
    candidates = [Path(path_text)] if Path(path_text).is_absolute() else [root / path_text, Path(path_text)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    existing = _http_files(root, requests_dir)
    listing = ", ".join(existing) if existing else f"none yet (the studio saves them in {requests_dir}/)"
    raise Usage(f"no file {path_text!r} in {root}; .http files: {listing}")


def load_request(root: Path, ref: str, env: str | None, requests_dir: str) -> tuple[ResolvedRequest, str]:
    """The request `ref` names, variables filled in; and a label (`users.http#get-user`) for messages."""
    path_text, _, selector = ref.partition("#")
    path = find_file(root, path_text, requests_dir)
    try:
        parsed = parse_http(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise Usage(f"cannot read {path_text}: {exc}") from None
    listing = ", ".join(f"#{label} (line {r.line})" for label, r in zip(parsed.labels(), parsed.requests, strict=True))
    if not parsed.requests:
        problems = "; ".join(parsed.problems)
        raise Usage(f"{path_text} holds no request" + (f": {problems}" if problems else ""))
    if not selector:
        if len(parsed.requests) > 1:
            raise Usage(f"{path_text} holds {len(parsed.requests)} requests; pick one with FILE#name: {listing}")
        request = parsed.requests[0]
    else:
        request = parsed.find(selector)
        if request is None:
            problems = f" ({'; '.join(parsed.problems)})" if parsed.problems else ""
            raise Usage(f"no request #{selector} in {path_text}; it holds {listing}{problems}")
    for problem in parsed.problems:
        click.echo(f"warning: {path_text}: {problem}", err=True)
    try:
        environments = read_environments(path.parent, stop=root if _inside(path, root) else path.parent)
        variables = environments.variables(env)
        resolved = resolve(parsed, request, variables, where=path_text,
                           read_body_file=lambda name: _body_file(path.parent, name))
    except MissingVariable as exc:
        names = environments.names
        hint = (f"; environments: {', '.join(names)} (--env NAME)" if names and env is None
                else "" if names else "; define it with `@name = value` in the file or in http-client.env.json")
        raise Usage(f"{exc}{hint}") from None
    except HttpFileError as exc:
        raise Usage(str(exc)) from None
    label = f"{path_text}#{request.slug or parsed.requests.index(request) + 1}"
    return resolved, label


def _body_file(folder: Path, name: str) -> str:
    """`< ./payload.json` in a request: the file's text, relative to the `.http` file."""
    target = folder / name
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HttpFileError(f"cannot read the body file {name} ({target}): {exc}") from None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False

"""What the `funcstudio` fixture yields: the project's runtime on a free loopback port, and `invoke`.

`invoke` goes through the same code as `funcstudio invoke` (studio/cli/invoke_cmd.py): a URL path
is sent as real HTTP through the gateway, a function id is run with an event; the answer is the
same JSON object `invoke --json` prints (`InvocationRecord.to_json()`), as a dict with a few
conveniences (`status`, `text`, `json()`, `content_type`, `header()`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

Pairs = Mapping[str, str] | Sequence[tuple[str, str]]

_PARAM = re.compile(r"\[\[(\w+)\]\]|\[(\w+)\]|\{\{\s*(\w+)\s*\}\}|\{(\w+)\}|:(\w+)(\*)?")


class FuncstudioError(Exception):
    """The runtime could not start, or a call could not be made (not: the function failed)."""


class Invocation(dict):
    """One invocation as `funcstudio invoke --json` prints it."""

    @property
    def status(self) -> int | None:
        return self.get("status")

    @property
    def content(self) -> bytes:
        body = self.get("body") or ""
        return base64.b64decode(body) if self.get("body_encoding") == "base64" else body.encode("utf-8")

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> object:
        return json.loads(self.content)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.get("headers") or () if key.lower() == wanted), None)

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


def fill_params(target: str, params: Mapping[str, str]) -> str:
    """`/api/users/:id`, `/api/users/[id]` or `/api/users/{{id}}` with `params` filled in."""
    used: set[str] = set()

    def replace(match: re.Match) -> str:
        name = next(g for g in match.groups()[:5] if g)
        if name not in params:
            return match.group(0)
        used.add(name)
        catch_all = bool(match.group(1) or match.group(6))
        return quote(str(params[name]), safe="/" if catch_all else "")

    filled = _PARAM.sub(replace, target)
    unused = sorted(set(params) - used)
    if unused:
        raise FuncstudioError(f"params {unused} name no placeholder in {target!r} (write /path/:name)")
    return filled


def _pairs(values: Pairs | None) -> list[tuple[str, str]]:
    if values is None:
        return []
    items = values.items() if isinstance(values, Mapping) else values
    return [(str(name), str(value)) for name, value in items]


class FuncStudio:
    """The project's runtime (no reload, nothing recorded), started once and shared by a session."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.runtime = None
        self._collector = None

    @property
    def url(self) -> str:
        if self.runtime is None:
            raise FuncstudioError("the runtime is not running")
        return self.runtime.url

    def start(self) -> FuncStudio:
        from studio.cli.invoke_cmd import Collector
        from studio.project.loader import load_project_with_settings
        from studio.runtime.server import PortInUse, Runtime

        if not self.root.is_dir():
            raise FuncstudioError(f"project folder {self.root} does not exist")
        project, settings = load_project_with_settings(self.root)
        if not project.functions:
            problems = "; ".join(p.message for p in project.errors[:3])
            raise FuncstudioError(f"no functions in {self.root}" + (f": {problems}" if problems else "")
                                  + " (`funcstudio check` explains why)")
        self.runtime = Runtime(self.root, settings, host="127.0.0.1", port=0, reload=False, project=project,
                               preload=[])  # each instance imports what it uses; no up-front wait
        self._collector = Collector()
        self.runtime.bus.subscribe(self._collector)
        try:
            self.runtime.start()
        except PortInUse as exc:  # port 0 cannot be in use; kept for a clear message all the same
            raise FuncstudioError(str(exc)) from None
        return self

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None

    def invoke(self, target: str, *, method: str | None = None, params: Mapping[str, str] | None = None,
               query: Pairs | None = None, headers: Pairs | None = None, body: object = None,
               event: object = None, timeout: float | None = None) -> Invocation:
        """Call a URL path (`/api/users/:id` with `params`) or a function id (with `event`).

        `body` may be bytes, text, or a dict/list sent as JSON (with `Content-Type:
        application/json` unless a header says otherwise)."""
        import click

        from studio.cli.invoke_cmd import invoke_once
        from studio.runtime.records import record_to_json

        if self.runtime is None:
            raise FuncstudioError("the runtime is not running")
        if params:
            target = fill_params(target, params)
        if query:
            target += ("&" if "?" in target else "?") + urlencode(_pairs(query))
        header_list = _pairs(headers)
        data: bytes | None
        if body is None:
            data = None
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
            if not any(name.lower() == "content-type" for name, _ in header_list):
                header_list.append(("Content-Type", "application/json"))
        if event is not None and target.startswith("/"):
            raise FuncstudioError("event= goes with a function id (funcstudio routes lists them), not a URL path")
        try:
            record = invoke_once(self.runtime, self._collector, target, method=method, headers=header_list,
                                 body=data, event=event, timeout=timeout)
        except click.ClickException as exc:
            raise FuncstudioError(exc.format_message()) from None
        logs = self._collector.logs.pop(record.request_id, [])
        self._collector.records.pop(record.request_id, None)
        return Invocation(record_to_json(record, logs))

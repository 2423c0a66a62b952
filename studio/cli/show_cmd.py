"""`funcstudio show [PROJECT] REQUEST_ID`: one recorded invocation, whole.

REQUEST_ID may be any unique prefix of a request id (as `logs` prints them). Exit status: 0 when
found, 1 when not found, ambiguous or the store can't be read, 2 for bad arguments. The traceback
is highlighted by pygments when stdout is a terminal (not with NO_COLOR, `--color never`, --json).
"""

from __future__ import annotations

import json
import sys

import click

from studio.cli._project_arg import clip, unrouted_label
from studio.cli._store_common import (
    EXIT_FAILED,
    clock,
    format_log,
    open_reader,
    refuse_lone_project,
    split_project,
    style,
    use_color,
)
from studio.project.model import doc_link
from studio.runtime.timing import text_bar

BINARY_PREVIEW_BYTES = 256


@click.command(
    "show",
    epilog="REQUEST_ID may be any unique prefix. Exit status: 0 found; 1 not found, ambiguous or "
    "unreadable store; 2 bad arguments.",
)
@click.argument("args", nargs=-1, required=True, metavar="[PROJECT] REQUEST_ID")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def show(args: tuple[str, ...], as_json: bool, color: str) -> None:
    """Print one recorded invocation of PROJECT (default: the current folder) in full: request,
    response, return value, error and frames, parity warnings, outbox and every log line."""
    from studio.store.db import StoreError
    from studio.store.queries import AmbiguousRequestId

    refuse_lone_project(args)
    project, (request_id,) = split_project(args, 1, "expected [PROJECT] REQUEST_ID")
    reader = open_reader(project)
    if reader is None:
        sys.exit(EXIT_FAILED)
    with reader:
        try:
            detail = reader.invocation(request_id)
        except (AmbiguousRequestId, StoreError) as exc:
            raise click.ClickException(str(exc)) from None
    if detail is None:
        raise click.ClickException(f"no invocation with request id {request_id!r} in {reader.db_path}")
    if as_json:  # the shared view's JSON, as the control API answers it
        click.echo(json.dumps(detail.to_record().to_json(), ensure_ascii=False, indent=2, default=repr))
        return
    colored = use_color(color)
    click.echo(render(detail, colored), color=colored)


def render(detail, color: bool = False) -> str:
    """The whole invocation as plain (optionally coloured) text."""
    out: list[str] = []

    def section(title: str) -> None:
        out.append("")
        out.append(style(title, color, bold=True, underline=True))

    status = str(detail.status) if detail.status is not None else detail.state
    fg = "red" if detail.has_error else ("yellow" if (detail.status or 0) >= 400 else "green")
    query = f"?{detail.query_string}" if detail.query_string else ""
    out.append(
        f"{style(detail.request_id, color, bold=True)}  {clip(detail.method, 20)} {clip(detail.path + query)}  "
        f"{style(status, color, fg=fg, bold=True)}"
    )
    facts = [
        ("function", detail.function_id or unrouted_label(detail.status)),
        ("platform", " ".join(x for x in (detail.platform, detail.kind) if x) or "-"),
        ("trigger", detail.trigger),
        ("started", clock(detail.started_at, date=True)),
        ("duration", f"{detail.duration_ms:.1f} ms" if detail.duration_ms is not None else "-"),
    ]
    if detail.init_ms is not None:
        facts.append(("cold start", f"{detail.init_ms:.1f} ms"))
    if detail.peak_memory_mb is not None:
        facts.append(("peak memory", f"{detail.peak_memory_mb:.1f} MB"))
    if detail.instance_id:
        facts.append(("instance", detail.instance_id))
    if detail.code_version:
        facts.append(("code version", detail.code_version))
    if detail.fault:
        facts.append(("fault", detail.fault))
    if detail.params:
        facts.append(("params", json.dumps(detail.params, ensure_ascii=False)))
    if getattr(detail, "app_path", None) is not None:
        facts.append(("app received", detail.app_path))
    if getattr(detail, "paused_ms", None):
        facts.append(("paused", f"{detail.paused_ms / 1000:.1f} s in the debugger (deadline stood still)"))
    bar = text_bar(detail.to_record())
    if bar is not None:
        facts.append(("timing", bar))
    width = max(len(name) for name, _ in facts)
    out += [f"  {name:<{width}}  {value}" for name, value in facts]

    section("Request")
    out += _headers(detail.request_headers)
    out += _body(detail.request_body)
    section("Response")
    out += _headers(detail.response_headers)
    out += _body(detail.response_body)
    if detail.return_value is not None:
        section("Return value")
        out.append(_indent(_pretty(detail.return_value)))
    if detail.error_type or detail.error_traceback:
        section(style("Error", color, fg="red", bold=True))
        out.append(f"  {detail.error_type or ''}: {detail.error_message or ''}")
        if detail.error_traceback:
            out.append(_indent(highlight_traceback(detail.error_traceback, color)))
        user_frames = [frame for frame in detail.frames if frame.is_user_code] or list(detail.frames)
        if user_frames:
            out.append("")
            out.append("  Frames (innermost last):")
            for frame in user_frames:
                out.append(f"    {frame.file}:{frame.line} in {frame.function}")
                if frame.source:
                    out.append(f"      {frame.source.strip()}")
                for name, value in frame.locals.items():
                    out.append(f"        {name} = {value}")
    if detail.warnings:
        section("Parity warnings")
        for warning in detail.warnings:
            out.append(f"  [{warning.get('id', '?')}] {warning.get('message', '')}")
            if warning.get("fix"):
                out.append(f"      fix: {warning['fix']}")
            link = doc_link(str(warning.get("id") or ""))
            if link:
                out.append(f"      see: {link}")
    if detail.outbox:
        section("Outbox (not sent)")
        for item in detail.outbox:
            out.append(_indent(json.dumps(item, ensure_ascii=False, indent=2, default=repr)))
    section(f"Logs ({len(detail.logs)}{', truncated by the runtime' if detail.logs_truncated else ''})")
    if not detail.logs:
        out.append("  (none)")
    out += ["  " + format_log(line, color) for line in detail.logs]
    return "\n".join(out)


def highlight_traceback(text: str, color: bool) -> str:
    if not color:
        return text.rstrip("\n")
    from pygments import highlight
    from pygments.formatters import TerminalFormatter
    from pygments.lexers import PythonTracebackLexer

    return highlight(text, PythonTracebackLexer(), TerminalFormatter()).rstrip("\n")


def _headers(headers) -> list[str]:
    if not headers:
        return ["  (no headers)"]
    return [f"  {name}: {value}" for name, value in headers]


def _body(body) -> list[str]:
    if body.size == 0:
        return ["  (empty body)"]
    note = f"{body.size} bytes" + (f", stored first {len(body.data)} (truncated)" if body.truncated else "")
    text = body.text()
    if text is None:
        preview = body.data[:BINARY_PREVIEW_BYTES].hex(" ")
        more = " ..." if len(body.data) > BINARY_PREVIEW_BYTES else ""
        return [f"  body: binary, {note}", _indent(preview + more, 4)]
    return [f"  body: {note}", _indent(_pretty(text), 4)]


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except (TypeError, ValueError):
        return text.rstrip("\n")


def _indent(text: str, spaces: int = 2) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in text.splitlines())

"""What `logs` and `show` share: finding the store, parsing times, formatting rows as plain text.

Nothing here imports rich or textual; pygments is imported only when colour is wanted.
"""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from studio.cli._project_arg import clip, unrouted_label

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def refuse_lone_project(args: tuple[str, ...]) -> None:
    """`show PROJECT` / `export PROJECT`: a folder where a request id should be; say the id is missing."""
    if len(args) == 1 and Path(args[0]).is_dir():
        raise click.UsageError(f"missing REQUEST_ID after the project {args[0]}: "
                               f"`funcstudio logs {args[0]} --invocations` lists them")


def split_project(args: tuple[str, ...], wanted: int, usage: str) -> tuple[Path, list[str]]:
    """`[PROJECT] ARG...`: the project folder (default `.`) and the `wanted` arguments after it."""
    if len(args) == wanted:
        return Path("."), list(args)
    if len(args) == wanted + 1:
        return Path(args[0]), list(args[1:])
    raise click.UsageError(usage)


def store_file(project: Path) -> Path:
    from studio.store.db import db_path

    if not project.is_dir():
        raise click.UsageError(f"project folder {str(project)!r} does not exist")
    return db_path(project)


def open_reader(project: Path, *, wait: bool = False):
    """A Reader on the project's store, or None when nothing was recorded yet (message on stderr).

    With `wait` (for `--follow`), a missing store is waited for, as `tail -F` waits for a file;
    Ctrl-C ends the wait.
    """
    from studio.store.db import StoreError
    from studio.store.queries import Reader

    path = store_file(project)
    if not path.exists():
        click.echo(
            f"No recordings yet for {project}: run `funcstudio serve` or `funcstudio invoke` there "
            f"{'(waiting for them)' if wait else 'first'}; they record into {path}.",
            err=True,
        )
        if not wait:
            return None
        try:
            while not path.exists():
                time.sleep(0.3)
        except KeyboardInterrupt:
            return None
        # The schema may still be in the making: the Reader's own migration waits for it, or does it.
    try:
        return Reader(path)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """`10m`, `2h`, `1d`, `30` (seconds) or an ISO date/time (local time unless it says otherwise)."""
    if value is None:
        return None
    now = time.time() if now is None else now
    match = _DURATION.match(value)
    if match:
        unit = (match.group(2) or "s").lower()
        return now - float(match.group(1)) * _UNIT_SECONDS[unit]
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (10m, 2h, 1d) nor an ISO date/time (2026-11-22T09:30)",
            param_hint="--since",
        ) from None
    return moment.timestamp()


def clock(at: float | None, *, date: bool = False) -> str:
    if not at:
        return "-"
    stamp = time.localtime(at)
    millis = int((at % 1) * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S", stamp) + f".{millis:03d}"


def short_id(request_id: str) -> str:
    return request_id[:8]


def use_color(mode: str) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def style(text: str, color: bool, **kwargs: object) -> str:
    return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]


LEVEL_COLORS = {"DEBUG": "bright_black", "INFO": None, "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}


def format_log(row, color: bool = False) -> str:
    """One log line: time, function, request id, level or stream, text (continuations indented)."""
    label = row.level or row.stream
    head = f"{clock(row.time)}  {row.function_id or '-'}  {short_id(row.request_id)}  {label:<8}"
    text = row.text.rstrip("\n").replace("\n", "\n" + " " * 4)
    fg = LEVEL_COLORS.get(row.level or "") or ("yellow" if row.stream == "stderr" else None)
    return f"{style(head, color, dim=True)}  {style(text, color, fg=fg) if fg else text}"


def status_text(status: int | None, state: str) -> str:
    if status is None:
        return state if state != "finished" else "-"
    return str(status)


def format_invocation(summary, color: bool = False) -> str:
    """One invocation: time, method and path, status, duration, function, request id, error."""
    status = status_text(summary.status, summary.state)
    fg = "red" if summary.has_error else ("yellow" if (summary.status or 0) >= 400 else "green")
    duration = f"{summary.duration_ms:.1f}ms" if summary.duration_ms is not None else "-"
    error = ""
    if summary.error_type or summary.fault:
        what = summary.error_type or ""
        if summary.error_message:
            what += f": {summary.error_message}"
        if summary.fault:
            what = f"[{summary.fault}] {what}".strip()
        error = "  " + style(what.splitlines()[0] if what else "", color, fg="red")
    return (
        f"{style(clock(summary.started_at), color, dim=True)}  {clip(summary.method, 20):<7} {clip(summary.path)}  "
        f"{style(status, color, fg=fg, bold=True)}  {duration}  {summary.function_id or unrouted_label(summary.status)}  "
        f"{summary.request_id}{error}"
    )

"""`funcstudio logs`: recorded log lines (or, with --invocations, invocations) from the store.

Exit status: 0 when the query ran (also when nothing matched, and when the project has no
recordings yet: a note on stderr says so, stdout stays empty, so `--json | jq` pipelines never
break on a fresh project); 1 when the store can't be read (newer version, corrupt, locked) or
`--clear` was declined; 2 for bad options.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from studio.cli._store_common import (
    format_invocation,
    format_log,
    open_reader,
    parse_since,
    use_color,
)

FOLLOW_POLL_S = 0.3


@click.command(
    "logs",
    epilog="Exit status: 0 when the query ran, also with no match and on a project with nothing "
    "recorded yet (a note goes to stderr); 1 when the store can't be read or --clear was declined; "
    "2 for bad options.",
)
@click.argument("project", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--function", "-f", "function_id", default=None, help="Only this function id.")
@click.option(
    "--status", default=None, help="Only invocations answering 2xx, 4xx, 5xx or an exact code (404)."
)
@click.option("--level", default=None, help="Minimum level: debug, info, warning, error, critical.")
@click.option("--grep", "-g", "text", default=None, help="Words to search for (full-text, word prefixes).")
@click.option("--since", default=None, help="Only after: 10m, 2h, 1d, or an ISO date/time.")
@click.option("--errors", "has_error", is_flag=True, default=None, help="Only invocations that failed.")
@click.option("--request", "request_id", default=None, help="Only the lines of this request id (or prefix).")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="How many of the newest rows to print.",
)
@click.option("--follow", is_flag=True, help="Keep printing new rows until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per row.")
@click.option("--invocations", "-i", "per_invocation", is_flag=True, help="One row per invocation.")
@click.option("--clear", is_flag=True, help="Delete every recorded invocation and log line (asks first).")
@click.option("--yes", "-y", is_flag=True, help="With --clear: do not ask.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
def logs(
    project: Path,
    function_id: str | None,
    status: str | None,
    level: str | None,
    text: str | None,
    since: str | None,
    has_error: bool | None,
    request_id: str | None,
    limit: int,
    follow: bool,
    as_json: bool,
    per_invocation: bool,
    clear: bool,
    yes: bool,
    color: str,
) -> None:
    """Print the newest recorded log lines of PROJECT (default: the current folder), oldest first.

    Filters combine: `funcstudio logs --function api/hello --level warning --since 1h`. With
    --invocations each row is an invocation (status, duration, error) instead of a line. --grep
    matches whole words or their beginnings (`conn` finds `connection`), every word required.
    """
    from studio.store.db import StoreError
    from studio.store.queries import AmbiguousRequestId, Filter, parse_level, parse_status

    if level is not None:
        try:
            parse_level(level)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--level") from None
    if status is not None:
        try:
            parse_status(status)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--status") from None
    since_at = parse_since(since)
    reader = open_reader(project, wait=follow and not clear)
    if reader is None:
        return
    with reader:
        try:
            if clear:
                _clear(reader, yes)
                return
            if function_id is not None:
                function_id = _resolve_function(reader, function_id)
            if request_id is not None:
                resolved = reader.resolve_request_id(request_id)
                if resolved is None:
                    raise click.ClickException(f"no invocation with request id {request_id!r}")
                request_id = resolved
            filter = Filter(
                function_id=function_id,
                status=status,
                level=level,
                since=since_at,
                has_error=True if has_error else None,
                text=text,
                request_id=request_id,
            )
            colored = use_color(color) and not as_json
            if per_invocation:
                _print_invocations(reader, filter, limit, follow, as_json, colored)
            else:
                _print_logs(reader, filter, limit, follow, as_json, colored)
        except AmbiguousRequestId as exc:
            raise click.ClickException(str(exc)) from None
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            sys.stdout.flush()


def _resolve_function(reader, name: str) -> str:
    try:
        resolved = reader.resolve_function_id(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--function") from None
    if resolved is None:
        known = reader.function_ids()
        click.echo(
            f"note: nothing recorded for function {name!r}"
            + (
                f"; recorded functions: {', '.join(known[:10])}" + (", ..." if len(known) > 10 else "")
                if known
                else ""
            ),
            err=True,
        )
        return name
    return resolved


def _emit(line: str, color: bool = False) -> None:
    click.echo(line, color=color or None)


def _print_logs(reader, filter, limit: int, follow: bool, as_json: bool, color: bool) -> None:
    rows = reader.logs(filter, limit=limit)
    rows.reverse()
    if not rows:
        _note_no_match("log lines", filter, follow)
    for row in rows:
        _emit(json.dumps(row.to_json(), ensure_ascii=False) if as_json else format_log(row, color), color)
    if not follow:
        return
    last = rows[-1].id if rows else reader.last_ids()["logs"]
    while True:
        sys.stdout.flush()
        time.sleep(FOLLOW_POLL_S)
        if not _store_there(reader):
            continue
        if reader.last_ids()["logs"] < last:
            last = 0  # the store was cleared: ids start again
        for row in reader.logs_after(last, filter):
            _emit(json.dumps(row.to_json(), ensure_ascii=False) if as_json else format_log(row, color), color)
            last = row.id


def _print_invocations(reader, filter, limit: int, follow: bool, as_json: bool, color: bool) -> None:
    rows = reader.invocations(filter, limit=limit)
    rows.reverse()
    if not rows:
        _note_no_match("invocations", filter, follow)
    pending: set[int] = set()  # ids seen running: printed once they finish
    for row in rows:
        if row.state == "running" and follow:
            pending.add(row.id)
            continue
        _emit(
            json.dumps(row.to_json(), ensure_ascii=False) if as_json else format_invocation(row, color), color
        )
    if not follow:
        return
    last = max([r.id for r in rows], default=reader.last_ids()["invocations"])
    while True:
        sys.stdout.flush()
        time.sleep(FOLLOW_POLL_S)
        if not _store_there(reader):
            continue
        if reader.last_ids()["invocations"] < last:
            last, pending = 0, set()
        fresh = reader.invocations_after(last, filter)
        if fresh:
            last = fresh[-1].id
        ready = [r for r in reader.invocations_by_id(sorted(pending)) if r.state != "running"]
        ready += [r for r in fresh if r.state != "running"]
        pending = (pending | {r.id for r in fresh if r.state == "running"}) - {r.id for r in ready}
        for row in ready:
            _emit(
                json.dumps(row.to_json(), ensure_ascii=False) if as_json else format_invocation(row, color),
                color,
            )


def _store_there(reader) -> bool:
    """False while the store file is gone (deleted under a running `serve`, which starts a fresh one
    with its next invocation): a follower waits for it as `tail -F` does; the new file's ids start
    again, which the callers' "ids went down" check handles."""
    return reader.db_path.exists()


def _note_no_match(what: str, filter, follow: bool) -> None:
    """Say so on stderr (stdout stays clean for pipes) instead of printing nothing at all."""
    note = f"note: no recorded {what} match these filters" if not filter.is_empty() else f"note: no {what} recorded yet"
    if filter.level is not None and what == "log lines":
        note += "; to list failed invocations instead: `--errors -i`, then `funcstudio show <request id>`"
    click.echo(note + ("; waiting for new ones (Ctrl-C stops)" if follow else "."), err=True)


def _clear(reader, yes: bool) -> None:
    totals = reader.totals()
    question = (
        f"Delete {totals.get('invocations', 0)} invocations and {totals.get('logs', 0)} log lines "
        f"from {reader.db_path}? Saved requests are kept."
    )
    if not yes and not click.confirm(question, default=False, err=True):
        click.echo("Nothing deleted.", err=True)
        sys.exit(1)
    from studio.store.db import StoreError
    from studio.store.maintenance import clear_history, offline

    try:  # the write lock, as the store's writer takes it: a running `serve` is waited for, not raced
        removed = offline(reader.db_path, clear_history)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Deleted {removed.get('invocations', 0)} invocations and {removed.get('logs', 0)} log lines.",
        err=True,
    )

"""`funcstudio export [PROJECT] REQUEST_ID... --pytest [-o FILE]`: recorded invocations as a pytest test.

Each REQUEST_ID may be a unique prefix (as `logs` prints them). The test module goes to stdout, or
to FILE (never over an existing file without --force). It runs through funcstudio's pytest
plugin: the `funcstudio` fixture. Exit status: 0 written, 1 not found or not replayable, 2 usage.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from studio.cli._store_common import EXIT_FAILED, open_reader, refuse_lone_project


@click.command("export")
@click.argument("args", nargs=-1, required=True, metavar="[PROJECT] REQUEST_ID...")
@click.option("--pytest", "as_pytest", is_flag=True, help="Write a pytest test replaying the invocations.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of stdout.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export(args: tuple[str, ...], as_pytest: bool, output: Path | None, force: bool) -> None:
    """Turn recorded invocations of PROJECT (default: the current folder) into a test that replays
    each through the `funcstudio` pytest fixture and checks its status, content type and body
    (JSON compared structurally; dates, generated ids and times left out and listed)."""
    from studio.store.db import StoreError
    from studio.store.queries import AmbiguousRequestId
    from studio.testing.export import ExportError, pytest_module

    if not as_pytest:
        raise click.UsageError("say what to export as: --pytest (a test module)")
    refuse_lone_project(args)
    if len(args) > 1 and Path(args[0]).is_dir():
        project, ids = Path(args[0]), list(args[1:])
    else:
        project, ids = Path("."), list(args)
    if output is not None and output.exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to replace it")
    reader = open_reader(project)
    if reader is None:
        sys.exit(EXIT_FAILED)
    records = []
    with reader:
        for request_id in ids:
            try:
                record = reader.invocation_record(request_id)
            except (AmbiguousRequestId, StoreError) as exc:
                raise click.ClickException(str(exc)) from None
            if record is None:
                raise click.ClickException(f"no invocation with request id {request_id!r} in {reader.db_path}")
            records.append(record)
    for record in records:  # said here too, not only in the test's comments
        missing = [name for name, value in record.request_headers if value == "[redacted]"]
        if missing:
            click.echo(f"note: {record.request_id}: {', '.join(missing)} "
                       f"{'was' if len(missing) == 1 else 'were'} redacted when recorded and "
                       f"{'is' if len(missing) == 1 else 'are'} not replayed; add "
                       f"{'it' if len(missing) == 1 else 'them'} to the test if the function needs "
                       f"{'it' if len(missing) == 1 else 'them'}", err=True)
    command = "funcstudio export " + " ".join(shlex.quote(a) for a in (*args, "--pytest"))
    try:
        source = pytest_module(records, command)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        click.echo(source, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(source, encoding="utf-8")
    click.echo(f"wrote {output} ({len(records)} test{'s' * (len(records) != 1)}); run it with "
               f"python -m pytest {output}", err=True)

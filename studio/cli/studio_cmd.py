"""`funcstudio [PROJECT]`: open the studio. Textual is imported only inside this command."""

from __future__ import annotations

import time
from pathlib import Path

import click

_STARTED = time.perf_counter()

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@click.command("studio")
@click.argument("project", default=".", type=click.Path())
@click.option("--host", default=None, help="Interface for the gateway (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Gateway port (default from settings: 8088; a free port is used when it is taken).")
def studio(project: str, host: str | None, port: int | None) -> None:
    """Open the studio on PROJECT (default: the current directory)."""
    if not Path(project).is_dir():
        raise click.UsageError(_not_a_project(project))
    project = Path(project)
    if host is not None and host not in LOOPBACK:
        click.echo(f"warning: binding {host}: the gateway runs your code for anyone who can reach it", err=True)
    from studio.tui.app import StudioApp, StudioOptions

    app = StudioApp(project, host=host, port=port, options=StudioOptions(startup_timer=_STARTED))
    try:
        app.run()
    finally:
        app.stop_services()
    if app.return_code:
        raise SystemExit(app.return_code)


def _not_a_project(name: str) -> str:
    if Path(name).exists():
        return f"{name} is not a folder: pass the project's folder"
    if "/" not in name and "\\" not in name and "." not in name:  # a mistyped command, most likely
        from studio.cli import COMMANDS

        return (f"no command and no project folder named {name!r}; commands: "
                f"{', '.join(c for c in COMMANDS if c != 'studio')} (funcstudio --help)")
    return f"project folder {name!r} does not exist"

"""The `funcstudio` command.

Subcommands live in their own modules and are imported only when run, so `funcstudio routes`
never pays for werkzeug, sqlite-utils or Textual. `funcstudio [PROJECT]` (no subcommand) opens
the studio.
"""

from __future__ import annotations

import importlib
import sys

import click

from studio import __version__

# name -> "module:attribute". Add a line here when you add a command module.
COMMANDS: dict[str, str] = {
    "studio": "studio.cli.studio_cmd:studio",
    "routes": "studio.cli.routes_cmd:routes",
    "check": "studio.cli.check_cmd:check",
    "deps": "studio.cli.deps_cmd:deps",
    "serve": "studio.cli.serve_cmd:serve",
    "invoke": "studio.cli.invoke_cmd:invoke",
    "logs": "studio.cli.logs_cmd:logs",
    "show": "studio.cli.show_cmd:show",
    "events": "studio.cli.events_cmd:events",
    "db": "studio.cli.db_cmd:db",
    "export": "studio.cli.export_cmd:export",
}

# One-line help shown by `funcstudio --help` without importing every command module.
SHORT_HELP: dict[str, str] = {
    "studio": "Open the studio (the default: `funcstudio ./project`).",
    "routes": "List every route in the platform's match order.",
    "check": "Report problems a deploy would hit (exit 1 on errors).",
    "deps": "Show (or --write) the requirements the platform will install.",
    "serve": "Run the local runtime server, headless.",
    "invoke": "Invoke one function or URL path and print the result.",
    "logs": "Read recorded log lines or invocations.",
    "show": "Print one recorded invocation in full.",
    "events": "List and print SCF trigger event templates.",
    "db": "Seed and inspect the local CocoBase database.",
    "export": "Write a pytest test replaying recorded invocations (--pytest).",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _unavailable(cmd_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str) -> click.Command:
    @click.command(name, help=SHORT_HELP.get(name, ""))
    def command() -> None:
        raise click.ClickException(f"`funcstudio {name}` is not available in this build yet.")

    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="funcstudio")
def cli() -> None:
    """funcstudio: a terminal studio for serverless Python functions.

    Run `funcstudio ./project` to open the studio on a project folder, or use the
    headless commands below. PROJECT defaults to the current directory everywhere.
    """


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    # `funcstudio` and `funcstudio ./project` open the studio: no subcommand named.
    if not args or (args[0] not in COMMANDS and not args[0].startswith("-")):
        args.insert(0, "studio")
    cli.main(args=args, prog_name="funcstudio")

"""`funcstudio events list|show`: the SCF trigger event templates (the `generate-event` habit)."""

from __future__ import annotations

import json

import click


@click.group("events", help="List and print SCF trigger event templates.")
def events() -> None:
    pass


@events.command("list", help="List the event templates.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> None:
    from studio.runtime.templates import list_templates

    infos = list_templates()
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    width = max(len(info.name) for info in infos)
    for info in infos:
        kind = "sync " if info.invocation_type == "RequestResponse" else "async"
        click.echo(f"{info.name.ljust(width)}  {kind}  {info.description}")


@events.command("show", help="Print one template as JSON, with --set key=value overrides (dotted paths).")
@click.argument("name")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a field, e.g. --set Records.0.cos.cosBucket.name=photos (value parsed as JSON if it is).")
def show_cmd(name: str, overrides: tuple[str, ...]) -> None:
    from studio.runtime.templates import TemplateError, load_template

    try:
        event = load_template(name, overrides)
    except TemplateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(event, indent=2, ensure_ascii=False))

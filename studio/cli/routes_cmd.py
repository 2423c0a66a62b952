"""`funcstudio routes [PROJECT] [--json]`: every HTTP route in the order the gateway matches them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from studio.cli._project_arg import project_argument, table
from studio.project.display import escaped
from studio.project.model import Project, Route

PLATFORM_TITLES = {
    "scf": "Tencent SCF (API Gateway triggers)",
    "cocobase": "CocoBase",
    "edgeone": "EdgeOne Pages (cloud-functions/)",
}


def route_record(route: Route) -> dict[str, object]:
    """The JSON object of one route (the `routes --json` contract)."""
    return {
        "route": route.path,
        "file": route.file,
        "function": route.function_id,
        "platform": route.platform,
        "kind": route.kind,
        "framework": route.framework,
        "methods": list(route.methods),
        "params": list(route.params),
        "catch_all": route.catch_all,
        "src": route.src,
        "is_framework": route.is_framework,
        "strip_prefix": route.strip_prefix,
        "excluded_dir": route.excluded_dir,
    }


@click.command("routes")
@project_argument
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per route in match order.")
@click.option("--inner", is_flag=True,
              help="Also load each framework app (in a worker process) and list its own routes.")
def routes(project: Path, as_json: bool, inner: bool) -> None:
    """List every route of PROJECT in the platform's match order.

    PROJECT is the project folder (default: the current directory). SCF API Gateway and CocoBase
    endpoints come first (they are exact), then EdgeOne routes in the platform's order: static
    before dynamic, non-catch-all before catch-all, longer paths first. `methods` empty means
    every method. Problems found on the way are printed to stderr; run `funcstudio check`.

    --inner also loads every Flask/FastAPI/Django/Sanic/Cocopot app in its own worker process
    (running its code) and lists the routes the app declares below its prefix.
    """
    from studio.project.loader import load_project

    loaded = load_project(project)
    fatal = [p for p in loaded.problems if p.code in ("missing-project", "empty-project")]
    if fatal and not as_json:
        raise click.ClickException(fatal[0].message)
    records = [route_record(r) for r in loaded.routes]
    # --inner runs user code (in worker processes), so its module is imported only when asked for;
    # it adds `inner_routes` / `inner_error` to framework records and leaves the other fields alone.
    found_inner: dict[str, dict] = {}
    if inner and not fatal:
        from studio.cli import inner_routes

        found_inner = inner_routes.collect(loaded)
        inner_routes.attach(records, found_inner)
    if as_json:
        click.echo(json.dumps(records, indent=2))
        if fatal:
            click.echo(f"Error: {fatal[0].message}", err=True)
            raise SystemExit(1)
        return
    _print_table(loaded)
    if inner:
        from studio.cli import inner_routes

        inner_routes.echo(loaded, found_inner)


def _print_table(project: Project) -> None:
    if not project.routes:
        click.echo(f"{project.name}: no HTTP routes.")
    for platform in ("scf", "cocobase", "edgeone"):
        rows = [
            [
                r.path,
                ",".join(r.methods) or "ANY",
                _kind(r),
                _function_label(project, r.function_id),
                ",".join(r.params),
            ]
            for r in project.routes
            if r.platform == platform
        ]
        if not rows:
            continue
        click.echo(f"{PLATFORM_TITLES[platform]}  ({len(rows)} route{'s' if len(rows) != 1 else ''})")
        for line in table(rows, ["ROUTE", "METHODS", "KIND", "FUNCTION", "PARAMS"]):
            click.echo("  " + line)
        click.echo("")
    others = [f for f in project.functions if not f.routes and f.platform == "scf"]
    if others:
        click.echo("SCF functions without an HTTP route (invoke by id or fire a trigger):")
        for fn in others:
            triggers = ", ".join(f"{t.type}" + (f" {t.cron}" if t.cron else "") for t in fn.triggers) or "none"
            click.echo(escaped(f"  {fn.id}  ({fn.name})  triggers: {triggers}"))
        click.echo("")
    if project.not_run:
        click.echo("Declared functions funcstudio does not run (listed only, no route):")
        for item in project.not_run:
            click.echo(escaped(f"  {item.name}  {item.runtime}  {item.file}"))
        click.echo("")
    errors = len(project.errors)
    if project.problems:
        click.echo(
            f"{len(project.problems)} problem(s), {errors} error(s): run `funcstudio check {project.root}`.",
            err=True,
        )


def _function_label(project: Project, function_id: str) -> str:
    """The id, plus the declared name when it differs (SCF functions answer to both)."""
    fn = project.function(function_id)
    if fn is not None and fn.platform == "scf" and fn.name and fn.name != function_id:
        return f"{function_id} ({fn.name})"
    return function_id


def _kind(route: Route) -> str:
    kind = route.kind
    if route.framework:
        kind += f" ({route.framework})"
    if route.catch_all:
        kind += " catch-all"
    if route.excluded_dir:
        kind += " [excluded dir]"
    return kind

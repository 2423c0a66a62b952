"""`funcstudio routes --inner`: the framework apps' own routes, as their worker reports them.

Loading a framework app means running user code, so each one is loaded in a worker instance
(never in this process); the supervisor is used without the gateway.
"""

from __future__ import annotations

import sys

import click


def collect(project) -> dict[str, dict]:
    """function id -> {"routes": [{methods, path, name}]} or {"error": "Type: message"}."""
    from studio.project.settings import load_settings
    from studio.runtime.events import EventBus
    from studio.runtime.supervisor import Supervisor

    frameworks = [fn for fn in project.functions if fn.kind in ("wsgi", "asgi")]
    if not frameworks:
        return {}
    if sys.stderr.isatty():  # a few seconds of silence otherwise; pipes and tests stay clean
        click.echo(f"loading {len(frameworks)} framework app(s), each in its own worker process...", err=True)
    settings, _problems = load_settings(project.root)
    supervisor = Supervisor(project, settings, EventBus())
    found: dict[str, dict] = {}
    try:
        for fn in frameworks:
            try:
                routes, error = supervisor.probe(fn)
            except Exception as exc:  # noqa: BLE001 - one app that will not start costs only itself
                found[fn.id] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            if error is not None:
                found[fn.id] = {"error": f"{error.type}: {error.message}"}
            else:
                found[fn.id] = {"routes": routes or []}
    finally:
        supervisor.shutdown()
    return found


def attach(records: list[dict], inner: dict[str, dict]) -> None:
    """Add `inner_routes` (or `inner_error`) to the `routes --json` records of framework apps."""
    for record in records:
        got = inner.get(record.get("function"))
        if got is None:
            continue
        if "error" in got:
            record["inner_error"] = got["error"]
        else:
            record["inner_routes"] = got["routes"]


def echo(project, inner: dict[str, dict]) -> None:
    if not inner:
        click.echo("No framework apps: nothing has inner routes.")
        return
    click.echo("Framework routes (as each app declares them, below its prefix):")
    for route in project.routes:
        got = inner.get(route.function_id)
        if got is None:
            continue
        prefix = route.strip_prefix or ""
        click.echo(f"  {route.path}  ({route.framework or route.kind}, {route.function_id})")
        if "error" in got:
            click.echo(f"    load error: {got['error']}")
            continue
        if not got["routes"]:
            click.echo("    (no routes reported)")
        for inner_route in got["routes"]:
            methods = ",".join(inner_route.get("methods") or []) or "ANY"
            path = inner_route.get("path") or ""
            name = inner_route.get("name") or ""
            click.echo(f"    {methods:<18} {prefix}{path}" + (f"  [{name}]" if name else ""))

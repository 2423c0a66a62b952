"""`funcstudio invoke PROJECT ID --event FILE|-|TEMPLATE [--set k=v] [--async]` (SCF-style events).

Kept apart from invoke_cmd so the event options stay one small module: the event comes from a
file, stdin or a template (studio.runtime.templates); `--async` invokes as InvocationType=Event
(202 with the request id at once), then waits for the recorded result so it can be printed.
"""

from __future__ import annotations

import json

import click

from studio.cli.invoke_cmd import NotJsonEvent, Usage


def prepare_event(ident: str, event_spec: str | None, overrides: tuple[str, ...], body: bytes | None) -> object:
    """The event from --event (file, -, template) or -d; a Usage error names what is wrong."""
    from studio.runtime.templates import EventNotJson, TemplateError, resolve_event

    if event_spec is not None and body is not None:
        raise Usage("give the event either with --event or with -d, not both")
    if event_spec is None:
        if overrides:
            raise Usage("--set needs --event")
        try:
            return json.loads(body.decode("utf-8")) if body and body.strip() else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotJsonEvent(f"the event for {ident} must be JSON: {exc}") from None
    try:
        event = resolve_event(event_spec, overrides=overrides)
    except EventNotJson as exc:
        raise NotJsonEvent(str(exc)) from None
    except TemplateError as exc:
        raise Usage(str(exc)) from None
    return event


def use_declared_timer(event: object, function, overrides: tuple[str, ...]) -> object:
    """`--event timer`: fired now, with the function's declared timer name and message (the studio's
    builder too: studio.runtime.templates.event_for_function). A file named `timer` stays as read."""
    from pathlib import Path

    from studio.runtime.templates import event_for_function

    if Path("timer").is_file():
        return event
    return event_for_function("timer", function, overrides)


def invoke_with_event(runtime, collector, ident: str, event: object, event_spec: str | None, async_: bool,
                      timeout: float | None):
    from studio.runtime.server import UnknownFunction
    from studio.runtime.templates import TEMPLATES

    # A generated trigger event is recorded as that trigger (cos, cmq, ckafka, timer), as production logs it.
    trigger = event_spec if event_spec in TEMPLATES and event_spec != "direct" else None
    function = runtime.project.function(ident)
    if function is None:
        known = ", ".join(f.id for f in runtime.project.functions) or "(none)"
        raise Usage(f"no function {ident!r} in {runtime.root}; known: {known}")
    try:
        if not async_:
            record, _logs = runtime.invoke_function(ident, event, trigger=trigger)
            return record
        request_id = runtime.invoke_function(ident, event, async_=True, trigger=trigger or "async")
    except UnknownFunction:
        raise Usage(f"no function {ident!r}") from None
    click.echo(f"HTTP 202 Accepted (InvocationType=Event), request {request_id}", err=True)
    wait = timeout if timeout is not None else function.limits.timeout_s + 10.0
    record = collector.wait(request_id, wait)
    if record is None:
        raise click.ClickException(f"no record arrived for async request {request_id} within {wait:g} s")
    return record

"""SCF trigger event templates (RUNTIME_SPEC.md §3.4), kept as data files next to this module.

`funcstudio events show NAME --set key=value` and `funcstudio invoke --event NAME` read them here.
Overrides use dotted paths (`Records.0.cos.cosBucket.name`); a value is parsed as JSON when it
parses (`--set statusCode=200`, `--set body='{"a":1}'`) and is kept as a string otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

TEMPLATE_DIR = Path(__file__).with_name("event_templates")


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    description: str
    invocation_type: str
    """How the platform delivers this trigger: RequestResponse (sync) or Event (async)."""


TEMPLATES: dict[str, TemplateInfo] = {
    info.name: info
    for info in (
        TemplateInfo("apigw", "API Gateway request (proxy integration)", "RequestResponse"),
        TemplateInfo("timer", "Timer trigger firing", "Event"),
        TemplateInfo("cos", "COS object created notification", "Event"),
        TemplateInfo("cmq", "CMQ topic message", "Event"),
        TemplateInfo("ckafka", "CKafka consumer batch of two messages", "RequestResponse"),
        TemplateInfo("direct", "Free-form direct Invoke event", "RequestResponse"),
    )
}


class TemplateError(ValueError):
    """A template name, override or event source that cannot be used; the message says why."""


class EventNotJson(TemplateError):
    """The event's text (a file or stdin) is not JSON: for an SCF function the platform's 400."""


def list_templates() -> list[TemplateInfo]:
    return list(TEMPLATES.values())


def load_template(name: str, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """The named template as a fresh dict, with `key=value` overrides applied in order."""
    if name not in TEMPLATES:
        known = ", ".join(TEMPLATES)
        raise TemplateError(f"unknown event template {name!r} (known: {known})")
    event = json.loads((TEMPLATE_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for item in overrides:
        apply_override(event, item)
    return event


def parse_override(item: str) -> tuple[list[str], object]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise TemplateError(f"--set expects key=value, got {item!r}")
    parts = key.strip().split(".")
    if any(not p for p in parts):
        raise TemplateError(f"--set key {key!r} has an empty path segment")
    try:
        value: object = json.loads(raw)
    except ValueError:
        value = raw
    return parts, value


def apply_override(event: dict, item: str) -> None:
    """Set one dotted path in `event`; missing dict levels are created, list indices must exist."""
    parts, value = parse_override(item)
    node: object = event
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not re.fullmatch(r"-?\d+", part):
                raise TemplateError(f"--set {where}: {part!r} is not an index into a list")
            index = int(part)
            if not -len(node) <= index < len(node):
                raise TemplateError(f"--set {where}: index {index} out of range (list has {len(node)} items)")
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if part not in node or node[part] is None:
                    node[part] = {}
                node = node[part]
        else:
            raise TemplateError(f"--set {where}: cannot descend into a {type(node).__name__}")


def timer_event(trigger_name: str, fired_at: datetime, message: str = "") -> dict:
    """The Timer event SCF delivers for one firing (`Time` in UTC, second precision)."""
    when = fired_at.astimezone(timezone.utc) if fired_at.tzinfo else fired_at
    return {
        "Type": "Timer",
        "TriggerName": trigger_name,
        "Time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Message": message,
    }


def event_for_function(name: str, function=None, overrides: tuple[str, ...] = (),
                       now: datetime | None = None) -> dict:
    """The template `name` as it reaches `function`: the one builder of `invoke --event` and the studio.

    A timer event fires now and carries the function's declared timer trigger (its name and
    message), as the platform sends it; `overrides` (`key=value`) win over both.
    """
    event = load_template(name, overrides)
    if name != "timer":
        return event
    given = {item.partition("=")[0].strip() for item in overrides}
    if "Time" not in given:
        event["Time"] = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    timer = next((t for t in getattr(function, "triggers", ()) if t.type == "timer"), None)
    if timer is not None:
        if "TriggerName" not in given:
            event["TriggerName"] = timer.name
        if "Message" not in given:
            event["Message"] = timer.message or ""
    return event


def resolve_event(spec: str, read_stdin=None, overrides: tuple[str, ...] = ()) -> object:
    """`--event FILE|-|TEMPLATE`: a JSON file, `-` for stdin, or a template name.

    Raises TemplateError naming the source when the text is not JSON.
    """
    if spec == "-":
        if read_stdin is None:
            import sys

            read_stdin = sys.stdin.read
        text, source = read_stdin(), "stdin"
    elif Path(spec).is_file():
        try:
            text, source = Path(spec).read_text(encoding="utf-8"), spec
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"cannot read event file {spec}: {exc}") from None
    elif spec in TEMPLATES:
        return load_template(spec, overrides)
    else:
        known = ", ".join(TEMPLATES)
        raise TemplateError(f"--event {spec!r} is neither a file, '-', nor a template ({known})")
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise EventNotJson(f"event from {source} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if overrides:
        if not isinstance(event, dict):
            raise TemplateError("--set needs a JSON object event")
        for item in overrides:
            apply_override(event, item)
    return event

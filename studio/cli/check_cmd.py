"""`funcstudio check [PROJECT]`: problems a deploy or a request would hit; exit 1 on any error."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from studio.cli._project_arg import location, project_argument
from studio.project.display import escaped
from studio.project.model import doc_link


@click.command("check")
@project_argument
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of problems instead.")
def check(project: Path, as_json: bool) -> None:
    """Report the problems of PROJECT without running its code.

    PROJECT is the project folder (default: the current directory). Each line reads
    `file:line: severity CODE message (hint)`; codes are the parity ids of RUNTIME_SPEC.md §6
    or funcstudio's own (syntax-error, invalid-config, ...). Exits 1 when any problem is an
    error, 0 otherwise.
    """
    from studio.project.check import check_project, summary
    from studio.project.loader import load_project_with_settings

    loaded, settings = load_project_with_settings(project)
    problems = tuple(check_project(loaded, settings=settings)) + tuple(keymap_problems(project, settings))
    counts = summary(problems)
    if as_json:
        click.echo(json.dumps([asdict(p) for p in problems], indent=2))
    else:
        for p in problems:
            hint = f" ({p.hint})" if p.hint else ""
            link = doc_link(p.code)
            hint += f" [{link}]" if link else ""
            click.echo(f"{location(p.file, p.line)}: {p.severity} {p.code} {escaped(p.message + hint)}")
        functions = len(loaded.functions)
        click.echo(
            f"{functions} function{'s' if functions != 1 else ''}, {len(loaded.routes)} route(s): "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info."
        )
    if counts["error"]:
        raise SystemExit(1)


def keymap_problems(project: Path, settings) -> list:
    """The studio's keymap, checked as the studio checks it (the action registry imports no UI)."""
    from studio.project.model import Problem
    from studio.tui.actions import checked_keymap

    keymap = dict(getattr(settings, "keymap", None) or {})
    if not keymap:
        return []
    _usable, messages = checked_keymap(keymap)
    where, lines = None, []
    for name in ("funcstudio.toml", "pyproject.toml"):
        try:
            lines = (project / name).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        if any(line.strip().startswith(("[keymap]", "[tool.funcstudio.keymap]")) for line in lines):
            where = name
            break
    out = []
    for message in messages:
        binding_id = message.split("'")[1] if "'" in message else ""
        line = next((n for n, text in enumerate(lines, 1) if binding_id and binding_id in text), None)
        out.append(Problem("warning", "keymap", message.removeprefix("keymap: "), file=where, line=line,
                           hint="Press ? in the studio for every binding id and its keys."))
    return out

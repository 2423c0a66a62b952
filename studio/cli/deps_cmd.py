"""`funcstudio deps [PROJECT] [--write]`: the requirements the EdgeOne build installs, and what it misses."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from studio.cli._project_arg import location, project_argument


@click.command("deps")
@project_argument
@click.option("--write", is_flag=True,
              help="Write the computed requirements where the platform reads them, keeping every user line.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def deps(project: Path, write: bool, as_json: bool) -> None:
    """Show the requirements the EdgeOne build of PROJECT would install, and what it would miss.

    PROJECT is the project folder (default: the current directory). The build always adds
    werkzeug, flask and uvicorn, adds packages for the imports its table knows (fastapi, django,
    sanic, requests, ...), and reads cloud-functions/requirements.txt, or else the root
    requirements.txt (never both). Third-party imports that none of these cover are listed as
    missing: they fail with ModuleNotFoundError in production. SCF functions are checked against a
    requirements.txt in their code folder.

    --write appends the computed lines and the missing packages to the file the platform reads
    (cloud-functions/requirements.txt when there is none), and each SCF function's missing
    packages to its code folder's requirements.txt; existing lines are kept as they are.
    """
    from studio.project.deps import compute_requirements, render_requirements
    from studio.project.loader import load_project

    loaded = load_project(project)
    fatal = [p for p in loaded.problems if p.code in ("missing-project", "empty-project")]
    if fatal:
        raise click.ClickException(fatal[0].message)
    reqs = compute_requirements(loaded)

    if as_json:
        click.echo(json.dumps({
            "edgeone": reqs.edgeone,
            "user_file": reqs.user_file,
            "shadowed_file": reqs.shadowed_file,
            "requirements": [asdict(r) for r in reqs.requirements],
            "missing": [asdict(p) for p in reqs.missing],
            "problems": [asdict(p) for p in reqs.problems],
        }, indent=2))
    else:
        _print(reqs)
        _print_scf(loaded)

    if write:
        wrote_scf = _write_scf(loaded.root, reqs.missing, quiet=as_json)
        if not reqs.edgeone:
            if not wrote_scf:
                click.echo("No cloud-functions/ folder and no SCF function misses a package: nothing to write.",
                           err=as_json)
            return
        target = loaded.root / reqs.target
        try:
            existing = target.read_text(encoding="utf-8") if target.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read {reqs.target}: {exc}; nothing written") from None
        text = render_requirements(reqs, existing)
        if text == existing:
            click.echo(f"{reqs.target} already lists everything; nothing written.", err=as_json)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {reqs.target}: {exc.strerror or exc}") from None
        added = len(text.splitlines()) - len(existing.splitlines())
        click.echo(f"wrote {reqs.target} ({added} line(s) added, existing lines kept).", err=as_json)


def _write_scf(root: Path, missing, quiet: bool) -> bool:
    """Each SCF code folder's requirements.txt gets the packages its imports need (user lines kept)."""
    import re

    from studio.project.deps import package_name

    wanted: dict[str, list[str]] = {}
    for problem in missing:
        found = re.search(r"Add `([^`]+)` to (\S+?requirements\.txt)", problem.hint or "")
        if problem.code == "SCF-UNDECLARED-DEP" and found:
            wanted.setdefault(found.group(2), []).append(found.group(1))
    for name, packages in wanted.items():
        target = root / name
        try:
            existing = target.read_text(encoding="utf-8") if target.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read {name}: {exc}; nothing written") from None
        listed = {package_name(line) for line in existing.splitlines() if line.strip() and not line.startswith("#")}
        added = [p for p in dict.fromkeys(packages) if package_name(p) not in listed]
        if not added:
            continue
        text = existing + ("\n" if existing and not existing.endswith("\n") else "")
        text += "# Added by `funcstudio deps --write`: imports the SCF deploy would not install.\n"
        try:
            target.write_text(text + "\n".join(added) + "\n", encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {name}: {exc.strerror or exc}") from None
        click.echo(f"wrote {name} ({len(added)} line(s) added, existing lines kept).", err=quiet)
    return bool(wanted)


def _print_scf(project) -> None:
    """SCF deploys install only what a function's own code folder lists."""
    scf = [fn for fn in project.functions if fn.platform == "scf"]
    if not scf:
        return
    click.echo("\nSCF functions (each installs its code folder's requirements.txt):")
    for fn in scf:
        folder = fn.code_root or "."
        req = project.root / fn.code_root / "requirements.txt"
        listed = "requirements.txt" if req.is_file() else "no requirements.txt"
        click.echo(f"  {fn.id} ({fn.name}): {folder}/ {listed}")


def _print(reqs) -> None:
    if reqs.edgeone:
        where = reqs.user_file or "no requirements file (only computed lines)"
        click.echo(f"EdgeOne build requirements (user file: {where}):")
        width = max((len(r.line) for r in reqs.requirements), default=0)
        for r in reqs.requirements:
            origin = {"always": "always added", "import": f"import at {r.origin}", "user": r.origin}[r.source]
            click.echo(f"  {r.line.ljust(width)}  # {origin}")
        if reqs.shadowed_file:
            click.echo(f"  ({reqs.shadowed_file} is ignored: {reqs.user_file} hides it)")
    else:
        click.echo("No cloud-functions/ folder: no EdgeOne build requirements.")
    if reqs.missing:
        click.echo(f"\nMissing in production ({len(reqs.missing)}):")
        for p in reqs.missing:
            hint = f" ({p.hint})" if p.hint else ""
            click.echo(f"  {location(p.file, p.line)}: {p.code} {p.message}{hint}")
    else:
        click.echo("\nNothing missing: every third-party import is covered.")

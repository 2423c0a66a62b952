"""`load_project(root)`: the one entry point that turns a folder into a `Project`.

It loads the settings, runs EdgeOne, SCF and CocoBase discovery, applies the per-function
settings, and orders every route the way the gateway matches them (platform endpoints first, then
EdgeOne's order). It never raises for bad user input: a missing or empty folder is a `Project`
with an error problem.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from studio.project import files
from studio.project.cocobase import discover_cocobase
from studio.project.model import Function, Problem, Project, Route
from studio.project.routing import RouteTable, sort_routes
from studio.project.scf import discover_scf
from studio.project.settings import Settings, load_settings

EDGEONE_DIR = "cloud-functions"


def load_project(root: Path | str) -> Project:
    """Everything funcstudio knows about the project in `root`, found without running its code."""
    return load_project_with_settings(root)[0]


def load_project_with_settings(root: Path | str) -> tuple[Project, Settings]:
    """The project and the settings it was loaded with (the runtime needs both); defaults when the
    folder is missing or empty."""
    root = Path(root).expanduser()
    try:
        root = root.resolve()
    except (OSError, RuntimeError):
        pass
    name = root.name or str(root)
    if not root.exists():
        broken = root.is_symlink()  # a link to nowhere, or to itself
        return _alone(root, name, Problem(
            "error", "missing-project",
            f"project folder {root} is a broken symbolic link (or a link loop)" if broken
            else f"project folder {root} does not exist",
            hint="Pass the path of a project folder (PROJECT defaults to the current directory).",
        ))
    if not root.is_dir():
        return _alone(root, name, Problem(
            "error", "missing-project", f"{root} is not a folder", hint="Pass the project's folder, not a file.",
        ))
    try:
        empty = not any(root.iterdir())
    except OSError as exc:
        return _alone(root, name, Problem(
            "error", "missing-project", f"cannot read project folder {root}: {exc.strerror or exc}",
        ))
    if empty:
        return _alone(root, name, Problem(
            "error", "empty-project", f"project folder {root} is empty",
            hint="Add cloud-functions/ (EdgeOne Pages), a serverless.yml or index.py with main_handler (SCF), "
                 "or cocobase/*.py (CocoBase).",
        ))

    settings, problems_t = load_settings(root)
    files.set_source_cap(settings.max_source_bytes)
    problems: list[Problem] = list(problems_t)
    edge_functions, edge_routes, helpers, edge_problems = _discover_edgeone(root, settings)
    problems.extend(edge_problems)
    scf = discover_scf(root, settings)
    problems.extend(scf.problems)
    coco = discover_cocobase(root, settings)
    problems.extend(coco.problems)

    # EdgeOne discovery applies [limits], [env] and [functions."<id>"] itself.
    functions = list(edge_functions)
    functions += list(scf.functions) + list(coco.functions)
    problems.extend(_unmatched_function_settings(functions, settings))
    if not functions and not scf.not_run:
        problems.append(Problem(
            "warning", "no-functions", "no functions found in this project",
            hint="EdgeOne: .py files under cloud-functions/ with handler/app; SCF: serverless.yml, template.yaml "
                 "or index.py with main_handler; CocoBase: cocobase/*.py.",
        ))

    routes = order_routes([*scf.routes, *coco.routes, *edge_routes])
    project = Project(
        root=root,
        name=name,
        functions=tuple(functions),
        routes=tuple(routes),
        helpers=tuple(helpers),
        problems=tuple(dedupe_problems(problems)),
        not_run=scf.not_run,
    )
    return project, settings


def _alone(root: Path, name: str, problem: Problem) -> tuple[Project, Settings]:
    # FUNCSTUDIO_* overrides still apply: `serve` on a missing folder reports on the chosen port.
    return Project(root=root, name=name, problems=(problem,)), load_settings(root)[0]


def route_table(project: Project) -> RouteTable:
    """The project's routes, ready for `match(method, path)`."""
    return RouteTable(project.routes)


def order_routes(routes: list[Route]) -> list[Route]:
    """Match order: SCF endpoints (static before templated, then by path), CocoBase endpoints,
    then EdgeOne routes in the platform's order."""
    scf = sorted((r for r in routes if r.platform == "scf"), key=lambda r: (bool(r.params), r.path, r.function_id))
    coco = [r for r in routes if r.platform == "cocobase"]
    edge = [r for r in routes if r.platform == "edgeone"]
    return sort_routes([*scf, *coco, *edge])


def _discover_edgeone(root: Path, settings: Settings):
    """EdgeOne discovery from engineer A's module: `discover_edgeone(root, settings) -> EdgeOneScan`."""
    if not (root / EDGEONE_DIR).is_dir():
        return (), (), (), ()
    for module_name in ("studio.project.edgeone", "studio.project.discover"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        discover = getattr(module, "discover_edgeone", None)
        if discover is None:
            continue
        scan = discover(root, settings)
        return (tuple(scan.functions), tuple(scan.routes), tuple(getattr(scan, "helpers", ())),
                tuple(scan.problems))
    return (), (), (), (Problem("info", "edgeone-unavailable",
                                "EdgeOne discovery is not available in this build; cloud-functions/ was not scanned"),)


def _unmatched_function_settings(functions: list[Function], settings: Settings) -> list[Problem]:
    known = {fn.id for fn in functions} | {alias for fn in functions for alias in fn.aliases}
    known |= {fn.name for fn in functions if fn.name}
    return [
        Problem("warning", "invalid-config",
                f'[functions."{key}"] matches no function (ids: {", ".join(sorted(fn.id for fn in functions)[:6]) or "none"})',
                file=settings.source, hint="Use a function id from `funcstudio routes`, or a declared SCF name.")
        for key in settings.functions
        if key not in known
    ]


def dedupe_problems(problems: list[Problem]) -> list[Problem]:
    """Drop repeats (same code, file, line and message), keeping the first of each."""
    seen: set[tuple] = set()
    kept = []
    for p in problems:
        key = (p.code, p.file, p.line, p.message)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept

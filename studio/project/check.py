"""`funcstudio check`: every problem a deploy or a request would hit, found without running code.

It gathers the problems discovery already found (settings, EdgeOne, SCF, CocoBase) and adds the
project-wide ones: dependencies (EO-UNDECLARED-DEP, EO-REQS-SHADOWED), Cocopot on Python 3.10
(CP-SHIM, not auto-detected on EdgeOne), CP-AFTER-ORDER, EO-PYTHON-VERSION and clashing platform
endpoints. The result is sorted by severity, then file and line.
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

from studio.project import files
from studio.project.deps import Requirements, compute_requirements
from studio.project.http_files import DEFAULT_DIR, http_file_problems
from studio.project.loader import dedupe_problems
from studio.project.model import Problem, Project, Route
from studio.project.settings import Settings

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
PLATFORM_PYTHON = (3, 10)

_IMPORTS_COCOPOT = re.compile(r"^\s*(?:from\s+cocopot\b|import\s+cocopot\b)", re.M)
_AFTER_REQUEST = re.compile(r"\.after_request\b")


def check_project(project: Project, requirements: Requirements | None = None,
                  settings: Settings | None = None) -> tuple[Problem, ...]:
    """All problems of `project`, most severe first. `settings` (when given) tells which
    interpreter the workers use, for EO-PYTHON-VERSION."""
    problems = list(project.problems)
    if not project.root.is_dir() or any(p.code in ("missing-project", "empty-project") for p in problems):
        return sort_problems(problems)
    reqs = requirements if requirements is not None else compute_requirements(project)
    problems.extend(reqs.problems)
    problems.extend(_cocopot_aware(reqs.missing))
    problems.extend(_cocopot_problems(project))
    problems.extend(_endpoint_clashes(project))
    problems.extend(_static_shadows(project))
    problems.extend(_asgi_dispatch_wsgi(project))
    problems.extend(_python_version(project, settings))
    problems.extend(_pins(project, reqs, settings))
    problems.extend(http_file_problems(project.root, settings.requests.dir if settings is not None else DEFAULT_DIR))
    return sort_problems(dedupe_problems(problems))


def _pins(project: Project, reqs: Requirements, settings: Settings | None) -> list[Problem]:
    """DEP-VERSION-MISMATCH and EO-ADAPTER-MINIMUM (pins.py, deps.py): what the requirement lines
    ask for against what the workers run and what the EdgeOne adapter needs."""
    from studio.project.deps import ALWAYS, adapter_minimum_problems
    from studio.project.pins import pin_mismatches

    lines: dict[str, list[tuple[str, str]]] = {}
    if reqs.edgeone:
        lines["edgeone"] = [(r.line, r.origin) for r in reqs.requirements if r.source == "user"]
    for fn in project.functions:
        if fn.platform == "scf":
            rel_file = f"{fn.code_root}/requirements.txt".lstrip("/")
            text = files.read_source(project.root / rel_file).text or ""
            lines[rel_file] = [(line, rel_file) for line in text.splitlines()
                               if line.strip() and not line.strip().startswith("#")]
    interpreter = _worker_interpreter(project, settings)
    if interpreter is not None and not interpreter.is_file():
        interpreter = None
    problems = pin_mismatches(project, lines, interpreter, ALWAYS if reqs.edgeone else ())
    return problems + adapter_minimum_problems(reqs)


def _worker_interpreter(project: Project, settings: Settings | None) -> Path | None:
    configured = settings.python if settings is not None else None
    if configured:
        return Path(configured) if Path(configured).is_absolute() else project.root / configured
    venv = project.root / ".venv" / "bin" / "python"
    return venv if venv.exists() else None


def sort_problems(problems: list[Problem] | tuple[Problem, ...]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: (SEVERITY_ORDER.get(p.severity, 3), p.file or "", p.line or 0,
                                                 p.code, p.message)))


def summary(problems: tuple[Problem, ...]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for p in problems:
        counts[p.severity] = counts.get(p.severity, 0) + 1
    return counts


def _cocopot_aware(missing: tuple[Problem, ...]) -> list[Problem]:
    """An undeclared `cocopot` gets the specific reason: the EdgeOne build never detects it."""
    result = []
    for p in missing:
        if p.code == "EO-UNDECLARED-DEP" and "`import cocopot`" in p.message:
            p = replace(p, message="`import cocopot`: the EdgeOne build does not detect Cocopot, so it is not "
                                   "installed unless the requirements file lists it",
                        hint=(p.hint or "").replace("`cocopot`", "`cocopot==0.2`"))
        result.append(p)
    return result


def _cocopot_files(project: Project) -> list[tuple[str, str]]:
    """(project-relative file, text) of every function entry that uses Cocopot."""
    found = []
    seen: set[str] = set()
    for fn in project.functions:
        if fn.entry in seen:
            continue
        seen.add(fn.entry)
        if fn.framework != "cocopot":
            text = files.read_source(project.root / fn.entry).text or ""
            if not _IMPORTS_COCOPOT.search(text):
                continue
        else:
            text = files.read_source(project.root / fn.entry).text or ""
        found.append((fn.entry, text))
    return found


def _cocopot_problems(project: Project) -> list[Problem]:
    problems = []
    for entry, text in _cocopot_files(project):
        match = _IMPORTS_COCOPOT.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else None
        # Without the shim every request fails in production (ImportError at load): an error, unless
        # the project vendors one (it assigns the ABC alias back into `collections`).
        shimmed = _vendors_cocopot_shim(project, entry)
        problems.append(Problem(
            "warning" if shimmed else "error", "CP-SHIM",
            "Cocopot 0.2 does not import on Python 3.10 (collections.MutableMapping is gone), the Python "
            "production runs; funcstudio shims it locally"
            + ("" if shimmed else ", so in production every request of this function fails with ImportError"),
            file=entry, line=line,
            hint="Vendor the compatibility shim (docs/platforms.md, Cocopot) and import it before cocopot.",
        ))
        hooks = [m for m in _AFTER_REQUEST.finditer(text)]
        if len(hooks) > 1:
            problems.append(Problem(
                "warning", "CP-AFTER-ORDER",
                f"{len(hooks)} after_request hooks: Cocopot 0.2 runs them in reverse order of registration "
                "(its docs say forward)",
                file=entry, line=text.count("\n", 0, hooks[1].start()) + 1,
                hint="Do not rely on their order, or register them in reverse.",
            ))
    return problems


_SHIM = re.compile(r"collections\.MutableMapping\s*=|setattr\(\s*collections\s*,\s*[\"']MutableMapping")


def _vendors_cocopot_shim(project: Project, entry: str) -> bool:
    """True when a `.py` file beside the entry or at its code root assigns `collections.MutableMapping`."""
    fn = next((f for f in project.functions if f.entry == entry), None)
    folders = {Path(entry).parent.as_posix(), fn.code_root if fn is not None else ""}
    for folder in folders:
        base = project.root / folder
        try:
            candidates = sorted(base.glob("*.py"))
        except OSError:
            continue
        for path in candidates:
            if _SHIM.search(files.read_source(path).text or ""):
                return True
    return False


def _endpoint_clashes(project: Project) -> list[Problem]:
    """Two SCF / CocoBase endpoints with the same path and overlapping methods: only the first answers."""
    problems = []
    seen: dict[str, list[tuple[frozenset[str] | None, str]]] = {}
    for route in project.routes:
        if route.platform == "edgeone":
            continue
        methods = frozenset(route.methods) if route.methods else None  # None: every method
        path = route.path.rstrip("/") or "/"
        for other_methods, other_id in seen.get(path, []):
            if other_id == route.function_id:
                continue
            if methods is None or other_methods is None or methods & other_methods:
                problems.append(Problem(
                    "warning", "route-conflict",
                    f"{route.path} ({','.join(sorted(methods)) if methods else 'ANY'}) is also served by "
                    f"{other_id}, which comes first in route order and answers instead",
                    file=route.file, hint="Give the API Gateway trigger a different path or method.",
                ))
                break
        seen.setdefault(path, []).append((methods, route.function_id))
    return problems


def _static_shadows(project: Project) -> list[Problem]:
    """EO-STATIC-SHADOWS: a static route is a prefix match tried before every dynamic route, so a
    dynamic or catch-all route below it is reached only for methods the static one does not take."""
    edge = [r for r in project.routes if r.platform == "edgeone"]
    static: dict[str, Route] = {}
    for r in edge:
        if not r.params and r.path != "/":
            static.setdefault(r.path, r)  # the first in route order answers
    problems = []
    for route in edge:
        if not route.params:
            continue
        parts = route.path.split("/")
        # Ancestors of the route's path, longest first: the longest static one is the one that answers.
        for depth in range(len(parts) - 1, 1, -1):
            shadow = static.get("/".join(parts[:depth]))
            if shadow is None:
                continue
            if shadow.methods and route.methods and not set(shadow.methods) & set(route.methods):
                continue  # round 1 skips it for these methods; a shorter static route may still answer
            which = f"{','.join(shadow.methods)} requests" if shadow.methods else "requests"
            problems.append(Problem(
                "warning", "EO-STATIC-SHADOWS",
                f"{route.path} is never reached for {which} under {shadow.path}/: the static route "
                f"{shadow.path} ({shadow.file}) is a prefix match and is tried first",
                file=route.file,
                hint=f"Move {shadow.file} (e.g. to a sibling name) or handle the deeper paths in it.",
            ))
            break
    return problems


def _asgi_dispatch_wsgi(project: Project) -> list[Problem]:
    """EO-ASGI-DISPATCH-WSGI: one ASGI entry puts every route under the ASGI dispatcher, where a
    Django WSGI app fails in production."""
    edge = [fn for fn in project.functions if fn.platform == "edgeone"]
    asgi = [fn for fn in edge if fn.kind == "asgi"]
    if not asgi:
        return []
    return [
        Problem(
            "error", "EO-ASGI-DISPATCH-WSGI",
            f"{asgi[0].entry} is an ASGI entry, so production serves every route with the ASGI dispatcher; "
            "this Django WSGI app then fails with `Expected ASGI message 'http.response.body'`",
            file=fn.entry,
            hint="Serve Django through get_asgi_application(), or keep ASGI apps out of this project.",
        )
        for fn in edge
        if fn.kind == "wsgi" and fn.framework == "django"
    ]


def _python_version(project: Project, settings: Settings | None) -> list[Problem]:
    """EO-PYTHON-VERSION: the workers' interpreter is not the platforms' 3.10.

    The interpreter is `python` from the settings, else the project's `.venv`, else funcstudio's
    own (DESIGN.md §7). Its version is read from the venv's `pyvenv.cfg`, never by running it.
    """
    if not project.functions:
        return []
    configured = settings.python if settings is not None else None
    interpreter: Path | None = None
    if configured:
        interpreter = Path(configured) if Path(configured).is_absolute() else project.root / configured
    elif (project.root / ".venv" / "bin" / "python").exists():
        interpreter = project.root / ".venv" / "bin" / "python"
    if configured and interpreter is not None and not interpreter.is_file():
        where = settings.source if settings is not None else None
        line = _setting_line(project.root / where, "python") if where else None
        return [Problem("error", "invalid-config",
                        f"`python`: {interpreter} does not exist, so no worker can start",
                        file=where, line=line,
                        hint="Point python at an existing interpreter (e.g. .venv/bin/python), or remove it.")]
    if interpreter is None:
        version, who = sys.version_info[:2], "funcstudio's own interpreter"
    else:
        version, who = _venv_version(interpreter), f"the worker interpreter {interpreter}"
        if version is None:
            return [Problem("info", "EO-PYTHON-VERSION",
                            f"cannot tell the Python version of {interpreter} (no pyvenv.cfg beside it)",
                            hint="Production runs Python 3.10; make sure the workers' interpreter is 3.10.")]
    if version == PLATFORM_PYTHON:
        return []
    return [Problem(
        "info", "EO-PYTHON-VERSION",
        f"{who} is Python {version[0]}.{version[1]}; EdgeOne Pages, SCF Python3.10 and CocoBase run 3.10",
        hint='Point python = "<a 3.10 interpreter>" in funcstudio.toml (or a 3.10 .venv) for exact parity.',
    )]


def _setting_line(path: Path, key: str) -> int | None:
    """The line of a top-level `key =` in a settings file, to point at it."""
    text = files.read_source(path).text or ""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _venv_version(interpreter: Path) -> tuple[int, int] | None:
    for cfg in (interpreter.parent.parent / "pyvenv.cfg", interpreter.parent / "pyvenv.cfg"):
        text = files.read_source(cfg).text
        if not text:
            continue
        match = re.search(r"^\s*(?:version|version_info)\s*=\s*(\d+)\.(\d+)", text, re.M)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None

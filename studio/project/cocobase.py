"""CocoBase cloud functions: every `.py` file in the CocoBase folder is one function (RUNTIME_SPEC.md §4).

The files are parsed (never run) to report what the platform would reject: syntax errors, an
`await` inside a plain `def main()` (CB-AWAIT), and imports outside the approved set (CB-IMPORT).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from studio.project._common import read_source, rel
from studio.project.model import Function, Limits, Problem, Route
from studio.project.settings import Settings

APPROVED_IMPORTS: frozenset[str] = frozenset(
    {"json", "datetime", "time", "math", "re", "secrets", "uuid", "hashlib", "base64", "string", "collections"}
)
"""The names CocoBase pre-injects and lets a function import (§4.2)."""


@dataclass
class CocoBaseScan:
    functions: tuple[Function, ...] = ()
    routes: tuple[Route, ...] = ()
    problems: tuple[Problem, ...] = ()


def discover_cocobase(root: Path, settings: Settings) -> CocoBaseScan:
    """Functions, routes and problems of `<root>/<settings.cocobase.dir>/*.py`."""
    root = Path(root)
    folder = root / settings.cocobase.dir
    if not folder.is_dir():
        stray = _functions_elsewhere(root)
        return CocoBaseScan(problems=(_elsewhere_problem(stray, settings),) if stray else ())
    problems: list[Problem] = []
    functions: list[Function] = []
    routes: list[Route] = []
    project_id = settings.cocobase.project_id
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue  # `__init__.py` and private helpers are not endpoints
        if not path.is_file():
            if path.is_symlink():
                problems.append(Problem("error", "not-a-file", "Broken symbolic link or symbolic link loop",
                                        file=rel(path, root),
                                        hint="Remove the broken link or replace it with a regular file."))
            continue
        name = path.stem
        entry = rel(path, root)
        fid = entry.removesuffix(".py")
        text, load_problem = read_source(path, root)
        if text is not None and load_problem is None:
            load_problem = _syntax_problem(text, path, root)
        if load_problem is None and text is not None:
            problems.extend(_lint(text, entry))
        if load_problem is not None:
            problems.append(load_problem)
        fn_routes = (
            Route(path=f"/functions/{name}/execute", src=f"^/functions/{_re(name)}/execute$", function_id=fid,
                  file=entry, platform="cocobase", kind="cocobase", methods=("GET", "POST")),
            Route(path=f"/functions/{project_id}/func/{name}",
                  src=f"^/functions/{_re(project_id)}/func/{_re(name)}$", function_id=fid, file=entry,
                  platform="cocobase", kind="cocobase", methods=("GET", "POST")),
        )
        fs = settings.functions.get(name) or settings.functions.get(fid)
        timeout = settings.cocobase.timeout
        if fs is not None and fs.timeout_s is not None:
            timeout = fs.timeout_s
        memory = fs.memory_mb if fs is not None and fs.memory_mb is not None else None
        functions.append(Function(
            id=fid,
            platform="cocobase",
            kind="cocobase",
            entry=entry,
            code_root=rel(folder, root),
            limits=Limits(timeout_s=timeout, memory_mb=memory),
            routes=fn_routes,
            methods=("GET", "POST"),
            env=dict(fs.env) if fs is not None else {},
            name=name,
            aliases=(name,),
            load_problem=load_problem,
        ))
        routes.extend(fn_routes)
    return CocoBaseScan(tuple(functions), tuple(routes), tuple(problems))


_MAIN = re.compile(r"^(?:async\s+)?def\s+main\s*\(\s*\)\s*:", re.M)
_GLOBALS = re.compile(r"\b(?:request|req|db|render)\.(?:get|json|query_params|headers|user|method|send_mail|query|"
                      r"find_one|find_user|create_document|query_users|render_html|render_template)\b")
_STRAY_SKIP = frozenset({"cloud-functions", "node_modules", "venv", ".venv", "__pycache__", "tests", "scripts"})


def _functions_elsewhere(root: Path) -> list[str]:
    """Project-relative `.py` files at the root or one folder down that look like CocoBase
    functions (a parameterless `main()` using the injected `request`/`db`/`render` globals)."""
    found = []
    try:
        candidates = sorted(root.glob("*.py")) + sorted(root.glob("*/*.py"))
    except OSError:
        return []
    for path in candidates:
        parts = path.relative_to(root).parts
        if len(parts) > 1 and (parts[0] in _STRAY_SKIP or parts[0].startswith(".")):
            continue
        text, problem = read_source(path, root)
        if text and problem is None and _MAIN.search(text) and _GLOBALS.search(text):
            found.append(rel(path, root))
    return found


def _elsewhere_problem(stray: list[str], settings: Settings) -> Problem:
    folders = sorted({str(Path(f).parent.as_posix()) for f in stray})
    where = folders[0] if len(folders) == 1 else None
    shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
    setting = f'[cocobase] dir = "{where}"' if where else '[cocobase] dir = "<their folder>"'
    return Problem(
        "warning", "CB-OUTSIDE-DIR",
        f"{shown} look like CocoBase functions (a `def main():` using request/db/render), but CocoBase functions "
        f"are expected in {settings.cocobase.dir}/, which does not exist",
        file=stray[0],
        hint=f"Move them into {settings.cocobase.dir}/, or set {setting} in funcstudio.toml.",
    )


def _re(text: str) -> str:
    return re.escape(text)


def _syntax_problem(text: str, path: Path, root: Path) -> Problem | None:
    try:
        compile(text, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        if "'await' outside async function" in str(exc.msg):
            return Problem("error", "CB-AWAIT", "`await` inside a non-async function: CocoBase raises "
                           "SyntaxError", file=rel(path, root), line=exc.lineno,
                           hint="Write `async def main():`.")
        return Problem("error", "syntax-error", f"syntax error: {exc.msg}", file=rel(path, root),
                       line=exc.lineno, hint="Fix the syntax; the function cannot run until then.")
    except (ValueError, RecursionError) as exc:
        return Problem("error", "syntax-error", f"cannot compile: {exc}", file=rel(path, root))
    return None


def _lint(text: str, entry: str) -> list[Problem]:
    """CB-IMPORT for imports outside the approved set; a hint when there is no `main` nor `result`."""
    tree = ast.parse(text)
    problems = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        for name in names:
            if name not in APPROVED_IMPORTS:
                problems.append(Problem(
                    "warning", "CB-IMPORT",
                    f"`import {name}` is outside CocoBase's approved imports; production refuses it",
                    file=entry, line=node.lineno,
                    hint="Use only " + ", ".join(sorted(APPROVED_IMPORTS)) + " (they are pre-injected).",
                ))
    has_main = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "main" for n in tree.body)
    has_result = any(
        isinstance(n, (ast.Assign, ast.AnnAssign))
        and any(isinstance(t, ast.Name) and t.id == "result" for t in (n.targets if isinstance(n, ast.Assign)
                                                                       else [n.target]))
        for n in tree.body
    )
    if not has_main and not has_result:
        problems.append(Problem("warning", "CB-NO-MAIN", "defines neither `def main():` nor a module-level "
                                "`result`; it returns nothing", file=entry,
                                hint="Add `def main():` returning the result."))
    return problems

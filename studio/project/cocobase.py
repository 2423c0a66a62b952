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
        return CocoBaseScan()
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

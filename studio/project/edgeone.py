"""EdgeOne Pages discovery: `cloud-functions/` -> functions, routes, helpers and problems.

Reproduces the EO CLI build scan (RUNTIME_SPEC.md §2.1-§2.4, §2.8): entry detection by the
CLI's own regexes, handler-class methods, route records and their order, the build-excluded
folders (still routed), the file-name conflict list and route conflicts. The app type (WSGI,
ASGI, handler class, function) is inferred statically from the syntax tree; the worker confirms
it when it loads the module. User code is parsed, never imported.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from studio.project.files import read_source, walk_tree
from studio.project.model import Function, Limits, Problem, Route
from studio.project.routing import ALL_METHODS, RouteShape, edgeone_route_shape, sort_routes
from studio.project.settings import Settings

CODE_ROOT = "cloud-functions"
DEFAULT_TIMEOUT_S = 30.0
"""EdgeOne's timeout is undocumented; RUNTIME_SPEC.md §7 item 1."""

BUILD_EXCLUDED_DIRS: frozenset[str] = frozenset(
    {"__pycache__", ".git", "node_modules", "venv", ".venv", "scripts", "tests", ".pytest_cache"}
)
"""Neither copied nor scanned for imports by the build, but still routed (§2.1)."""

CONFLICTING_NAMES: frozenset[str] = frozenset(
    """fastapi flask django starlette uvicorn pydantic requests httpx aiohttp urllib3 numpy pandas
    sqlalchemy redis celery boto3 pillow pytest json os sys io re typing collections datetime time
    random math string logging asyncio functools itertools pathlib shutil tempfile subprocess
    threading multiprocessing socket email http html xml csv base64 hashlib hmac secrets uuid copy
    pickle sqlite3 contextlib abc dataclasses enum types""".split()
)
"""A `.py` file or folder with one of these lower-cased names aborts the build (§2.1)."""

# The CLI's entry markers (§2.2); `^` is the start of any line.
_HANDLER = re.compile(r"^(?:def\s+handler\s*\(|def\s+Handler\s*\(|class\s+handler\s*\(|class\s+Handler\s*\()", re.M)
_FRAMEWORK = re.compile(
    r"^app\s*(?::\s*\S+\s*)?=\s*|^application\s*(?::\s*\S+\s*)?=\s*|^urlpatterns\s*=\s*"
    r"|get_wsgi_application\s*\(|get_asgi_application\s*\(",
    re.M,
)
_HANDLER_CLASS = re.compile(r"^class\s+(handler|Handler)\s*\([\s\S]*?BaseHTTPRequestHandler", re.M)
_DO_METHOD = {m: re.compile(rf"def\s+do_{m}\s*\(") for m in ALL_METHODS}

# Constructor (or factory) name -> (kind, framework).
_APP_FACTORIES: dict[str, tuple[str, str | None]] = {
    "Flask": ("wsgi", "flask"),
    "Bottle": ("wsgi", "bottle"),
    "default_app": ("wsgi", "bottle"),
    "Cocopot": ("wsgi", "cocopot"),
    "get_wsgi_application": ("wsgi", "django"),
    "WSGIHandler": ("wsgi", "django"),
    "WSGIApplication": ("wsgi", None),
    "get_asgi_application": ("asgi", "django"),
    "ASGIHandler": ("asgi", "django"),
    "FastAPI": ("asgi", "fastapi"),
    "Starlette": ("asgi", "starlette"),
    "Sanic": ("asgi", "sanic"),
    "Quart": ("asgi", "quart"),
}
# Imported top-level module -> (kind, framework), for apps built by a factory we cannot read.
_MODULE_HINTS: dict[str, tuple[str, str | None]] = {
    "flask": ("wsgi", "flask"),
    "bottle": ("wsgi", "bottle"),
    "cocopot": ("wsgi", "cocopot"),
    "django": ("wsgi", "django"),
    "werkzeug": ("wsgi", None),
    "pyramid": ("wsgi", None),
    "fastapi": ("asgi", "fastapi"),
    "starlette": ("asgi", "starlette"),
    "sanic": ("asgi", "sanic"),
    "quart": ("asgi", "quart"),
}
_FACTORY_IN_TEXT = re.compile(r"\b(" + "|".join(_APP_FACTORIES) + r")\s*\(")


@dataclass(frozen=True)
class EdgeOneScan:
    functions: tuple[Function, ...] = ()
    routes: tuple[Route, ...] = ()
    """In match order (routing.sort_routes); conflicting duplicates removed."""
    helpers: tuple[str, ...] = ()
    """Auxiliary modules: copied `.py` files without a route (project-relative POSIX)."""
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class _Facts:
    """What one file's text says about it, cached by (path, mtime_ns, size)."""

    is_entry: bool
    is_framework: bool = False
    methods: tuple[str, ...] = ()
    kind: str = "http-function"
    framework: str | None = None
    syntax_error: tuple[str, int | None] | None = None
    no_entry_object: bool = False
    """The file matches an entry marker but binds none of app/application/handler/Handler."""


_FACTS: dict[str, tuple[int, int, _Facts]] = {}
_SHAPES: dict[str, RouteShape] = {}
_EXCLUDED: dict[str, bool] = {}
# path -> ((facts, excluded, load problem, settings), Function, Route): reused while the inputs
# are the same (limits and env come from the settings).
_BUILT: dict[str, tuple[tuple, Function, Route]] = {}


def _same_inputs(old: tuple, new: tuple) -> bool:
    return old[0] is new[0] and old[1] == new[1] and old[2] == new[2] and (old[3] is new[3] or old[3] == new[3])


def discover_edgeone(root: Path, settings: Settings) -> EdgeOneScan:
    """Scan `root/cloud-functions` as the EO CLI build does. No `cloud-functions/`: empty scan."""
    root = Path(root)
    code_root = root / CODE_ROOT
    if not code_root.is_dir():
        return EdgeOneScan()
    tree = walk_tree(code_root, skip_dirs=frozenset(), inside=root)  # the route scan skips nothing (§2.1)
    problems: list[Problem] = [_under_code_root(p) for p in tree.problems]
    cf_str = os.fspath(code_root)
    functions: list[Function] = []
    routes: list[Route] = []
    helpers: list[str] = []

    for rel_cf in tree.rel_dirs:
        name = rel_cf.rsplit("/", 1)[-1]
        if name.lower() in CONFLICTING_NAMES and not _excluded(rel_cf + "/x"):
            problems.append(_name_conflict(f"{CODE_ROOT}/{rel_cf}", "folder"))

    for rel_cf in tree.rel_files:
        if not rel_cf.endswith(".py"):
            continue
        rel = f"{CODE_ROOT}/{rel_cf}"
        excluded = _excluded(rel_cf)
        if rel_cf.rsplit("/", 1)[-1][:-3].lower() in CONFLICTING_NAMES and not excluded:
            problems.append(_name_conflict(rel, "file"))
        abspath = f"{cf_str}/{rel_cf}"
        source = read_source(abspath)
        if source.text is None:
            problems.append(source.problem(rel, severity="warning" if excluded else "error"))  # type: ignore[arg-type]
            continue
        facts = _facts_for(abspath, source.mtime_ns, source.size, source.text)
        if not facts.is_entry:
            if not excluded:
                helpers.append(rel)
                read_problem = source.problem(rel, severity="warning")
                if read_problem is not None:
                    problems.append(read_problem)
            continue
        load_problem = source.problem(rel)
        if load_problem is None and facts.syntax_error is not None:
            msg, line = facts.syntax_error
            load_problem = Problem(
                "error", "syntax-error", f"Syntax error: {msg}", file=rel, line=line,
                hint="Fix the syntax; the function cannot load until then.",
            )
        if load_problem is not None:
            problems.append(load_problem)
        inputs = (facts, excluded, load_problem, settings)
        built = _BUILT.get(abspath)
        if built is not None and _same_inputs(built[0], inputs):
            fn, route = built[1], built[2]
        else:
            fn, route = _function(rel, rel_cf, facts, excluded, load_problem, settings)
            _BUILT[abspath] = (inputs, fn, route)
        functions.append(fn)
        routes.append(route)
        problems.extend(_entry_problems(rel, route, facts, excluded))

    ordered = sort_routes(routes)
    kept, conflict_problems = _drop_conflicts(ordered)
    problems.extend(conflict_problems)
    if len(kept) != len(ordered):
        losers = {r.function_id for r in ordered} - {r.function_id for r in kept}
        functions = [_replace_routes(f, ()) if f.id in losers else f for f in functions]

    if not functions:
        problems.append(
            Problem(
                "info", "no-functions", "No Python functions found", file=CODE_ROOT,
                hint="An entry file defines `handler`, or assigns `app`/`application` at the top level.",
            )
        )
    return EdgeOneScan(tuple(functions), tuple(kept), tuple(helpers), tuple(problems))


def clear_cache() -> None:
    """Forget every analysed file (tests, benchmarks)."""
    _FACTS.clear()
    _SHAPES.clear()
    _EXCLUDED.clear()
    _BUILT.clear()


# --- per file ---------------------------------------------------------------------------------


def _excluded(rel_cf: str) -> bool:
    """Does the file lie in a build-excluded folder (at any depth)?"""
    folder, _, _name = rel_cf.rpartition("/")
    if not folder:
        return False
    hit = _EXCLUDED.get(folder)
    if hit is None:
        hit = _EXCLUDED[folder] = any(part in BUILD_EXCLUDED_DIRS for part in folder.split("/"))
    return hit


def _facts_for(key: str, mtime_ns: int, size: int, text: str) -> _Facts:
    hit = _FACTS.get(key)
    if hit is not None and hit[0] == mtime_ns and hit[1] == size:
        return hit[2]
    facts = analyse_source(text, key)
    _FACTS[key] = (mtime_ns, size, facts)
    return facts


def analyse_source(text: str, filename: str = "<source>") -> _Facts:
    """Entry detection (§2.2) by the CLI's regexes, then the app type from the syntax tree."""
    # Substring checks first: most files are helpers, and `in` is far cheaper than the regexes.
    is_framework = ("app" in text or "urlpatterns" in text) and _FRAMEWORK.search(text) is not None
    is_handler = "andler" in text and _HANDLER.search(text) is not None
    if not (is_framework or is_handler):
        return _Facts(is_entry=False)
    methods: tuple[str, ...] = ()
    handler_class = _HANDLER_CLASS.search(text) is not None
    if handler_class and not is_framework:
        methods = tuple(m for m in ALL_METHODS if _DO_METHOD[m].search(text)) or ("GET",)
    try:
        module = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        kind, framework = _guess_from_text(text, is_framework, handler_class)
        return _Facts(True, is_framework, methods, kind, framework, (exc.msg, exc.lineno))
    except (ValueError, RecursionError) as exc:  # null bytes (3.10/3.11), absurd nesting
        kind, framework = _guess_from_text(text, is_framework, handler_class)
        return _Facts(True, is_framework, methods, kind, framework, (str(exc), None))
    kind, framework, found = _infer_app_type(module, handler_class)
    return _Facts(True, is_framework, methods, kind, framework, None, not found)


def _guess_from_text(text: str, is_framework: bool, handler_class: bool) -> tuple[str, str | None]:
    if is_framework:
        m = _FACTORY_IN_TEXT.search(text)
        return _APP_FACTORIES[m.group(1)] if m else ("wsgi", None)
    return ("handler-class" if handler_class else "http-function"), None


def _infer_app_type(module: ast.Module, handler_class: bool = False) -> tuple[str, str | None, bool]:
    """(kind, framework, found) following the adapter's order: `app`, `application`, `handler`,
    `Handler` (§2.4). `found` is False when none of the four names is bound at module level."""
    bindings = _module_bindings(module.body)
    unknown_app = False
    for name in ("app", "application"):
        node = bindings.get(name)
        if node is None:
            continue
        typed = _classify_app(node, bindings, set())
        if typed is not None:
            return typed[0], typed[1], True
        hints = _import_hints(module)
        if hints:
            return hints[0][0], hints[0][1], True
        unknown_app = True
    for name in ("handler", "Handler"):
        node = bindings.get(name)
        if node is None:
            continue
        if isinstance(node, ast.ClassDef) and (
            handler_class or any(_is_request_handler_base(b) for b in node.bases)
        ):
            return "handler-class", None, True
        return "http-function", None, True
    if unknown_app:
        return "wsgi", None, True  # any other callable the adapter accepts is WSGI or ASGI
    return "http-function", None, False


def _module_bindings(body: list[ast.stmt]) -> dict[str, ast.AST]:
    """Top-level name -> the node that last binds it (descending into if/try/with, not defs)."""
    out: dict[str, ast.AST] = {}
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            out[stmt.target.id] = stmt.value
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                out[(alias.asname or alias.name).split(".")[0]] = stmt
        elif isinstance(stmt, ast.If):
            out.update(_module_bindings(stmt.body))
            out.update(_module_bindings(stmt.orelse))
        elif isinstance(stmt, ast.Try):
            out.update(_module_bindings(stmt.body))
            for handler in stmt.handlers:
                out.update(_module_bindings(handler.body))
            out.update(_module_bindings(stmt.orelse))
            out.update(_module_bindings(stmt.finalbody))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            out.update(_module_bindings(stmt.body))
    return out


def _classify_app(node: ast.AST, bindings: dict[str, ast.AST], seen: set[int]) -> tuple[str, str | None] | None:
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, ast.Call):
        name = _callee_name(node.func)
        if name in _APP_FACTORIES:
            return _APP_FACTORIES[name]
        # `app = SomeMiddleware(Flask(__name__))` or `app = factory()`: look at the arguments.
        for arg in node.args:
            typed = _classify_app(arg, bindings, seen)
            if typed is not None:
                return typed
        return None
    if isinstance(node, ast.Name) and node.id in bindings:
        return _classify_app(bindings[node.id], bindings, seen)
    if isinstance(node, ast.AsyncFunctionDef):
        return ("asgi", None)
    if isinstance(node, ast.FunctionDef):
        args = node.args.posonlyargs + node.args.args
        if len(args) >= 2 and args[1].arg in ("start_response", "sr"):
            return ("wsgi", None)
        return None
    if isinstance(node, ast.ClassDef):
        for item in node.body:
            if isinstance(item, ast.AsyncFunctionDef) and item.name == "__call__":
                return ("asgi", None)
    return None


def _callee_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_request_handler_base(base: ast.AST) -> bool:
    name = _callee_name(base)
    return bool(name) and name.endswith("RequestHandler")  # Base/Simple/CGIHTTPRequestHandler


def _import_hints(module: ast.Module) -> list[tuple[str, str | None]]:
    hints: list[tuple[str, str | None]] = []
    for node in ast.walk(module):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            hint = _MODULE_HINTS.get(name.split(".")[0])
            if hint is not None and hint not in hints:
                hints.append(hint)
    return hints


# --- functions, routes, problems --------------------------------------------------------------


def _function(
    rel: str, rel_cf: str, facts: _Facts, excluded: bool, load_problem: Problem | None, settings: Settings
) -> tuple[Function, Route]:
    fid = rel[:-3]
    shape = _SHAPES.get(rel_cf)
    if shape is None:
        shape = _SHAPES[rel_cf] = edgeone_route_shape(rel_cf)
    is_framework = facts.kind in ("wsgi", "asgi")
    route = Route(
        path=shape.path,
        src=shape.src,
        function_id=fid,
        file=rel,
        platform="edgeone",
        kind=facts.kind,  # type: ignore[arg-type]
        framework=facts.framework,
        methods=facts.methods,
        params=shape.params,
        catch_all=shape.catch_all,
        is_framework=is_framework,
        excluded_dir=excluded,
    )
    overrides = settings.functions.get(fid)
    timeout = DEFAULT_TIMEOUT_S
    if settings.limits.timeout_s is not None:
        timeout = settings.limits.timeout_s
    memory = settings.limits.memory_mb
    env = dict(settings.env)
    if overrides is not None:
        if overrides.timeout_s is not None:
            timeout = overrides.timeout_s
        if overrides.memory_mb is not None:
            memory = overrides.memory_mb
        env.update(overrides.env)
    fn = Function(
        id=fid,
        platform="edgeone",
        kind=facts.kind,  # type: ignore[arg-type]
        entry=rel,
        code_root=CODE_ROOT,
        limits=Limits(timeout_s=float(timeout), memory_mb=memory),
        framework=facts.framework,
        routes=(route,),
        methods=facts.methods,
        params=shape.params,
        catch_all=shape.catch_all,
        env=env,
        load_problem=load_problem,
    )
    return fn, route


def _entry_problems(rel: str, route: Route, facts: _Facts, excluded: bool) -> list[Problem]:
    out: list[Problem] = []
    if route.is_framework and route.params and not route.catch_all:
        out.append(
            Problem(
                "warning", "EO-DYNAMIC-FRAMEWORK",
                f"Framework app in the dynamic route {route.path}: the platform strips no prefix, "
                "so the app sees the full path",
                file=rel,
                hint="Move the app to a catch-all file such as `[[default]].py`, or declare full paths in it.",
            )
        )
    if excluded:
        out.append(
            Problem(
                "error", "EO-EXCLUDED-DIR-ROUTE",
                f"{route.path} is routed, but the build does not copy this folder: production answers "
                "`Error loading module` and 404",
                file=rel,
                hint="Move the entry out of " + ", ".join(sorted(BUILD_EXCLUDED_DIRS & set(rel.split("/")))) + "/.",
            )
        )
    if facts.no_entry_object and facts.syntax_error is None:
        out.append(
            Problem(
                "warning", "no-entry-object",
                "Detected as an entry file, but it binds none of app, application, handler, Handler "
                "at the top level: requests get 404",
                file=rel,
                hint="Define `handler` or assign a WSGI/ASGI app to `app`.",
            )
        )
    return out


def _drop_conflicts(ordered: list[Route]) -> tuple[list[Route], list[Problem]]:
    """Keep the first route of each path (§2.3); flag later ones, and same-pattern routes."""
    kept: list[Route] = []
    problems: list[Problem] = []
    by_path: dict[str, Route] = {}
    by_src: dict[str, Route] = {}
    for route in ordered:
        first = by_path.get(route.path)
        if first is not None:
            problems.append(
                Problem(
                    "warning", "route-conflict",
                    f"Route conflict detected! {route.path} is defined by {first.file} and {route.file}. "
                    "Only the first file will be used.",
                    file=route.file,
                    hint=f"Rename or remove one of the two files; {first.file} wins.",
                )
            )
            continue
        earlier = by_src.get(route.src)
        if earlier is not None:
            problems.append(
                Problem(
                    "warning", "route-conflict",
                    f"{route.path} ({route.file}) has the same pattern as {earlier.path} ({earlier.file}) "
                    "and is never reached",
                    file=route.file,
                    hint=f"Merge the two files; {earlier.file} wins.",
                )
            )
        by_path[route.path] = route
        by_src.setdefault(route.src, route)
        kept.append(route)
    return kept, problems


def _replace_routes(fn: Function, routes: tuple[Route, ...]) -> Function:
    return replace(fn, routes=routes)


def _name_conflict(rel: str, what: str) -> Problem:
    name = rel.rsplit("/", 1)[-1]
    return Problem(
        "error", "EO-NAME-CONFLICT",
        f"File name conflict detected! The {what} `{name}` shadows a module the platform needs; "
        "the build aborts",
        file=rel,
        hint=f"Rename `{name}` (for example to `my_{name}`).",
    )


def _under_code_root(problem: Problem) -> Problem:
    if problem.file is None:
        return problem
    return replace(problem, file=CODE_ROOT if problem.file == "." else f"{CODE_ROOT}/{problem.file}")

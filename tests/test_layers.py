"""The layer order of DESIGN.md §2, enforced on every import statement in `studio/`.

    project -> runtime -> store -> tui -> cli = testing   (arrows point to what a layer may import;
                                                        testing, the pytest plugin, sits beside cli)

- a module imports only its own layer or lower ones (`cli` may open the `tui`, not the reverse);
- `studio/runtime/worker/` imports only the standard library and, from `studio`, only its own
  package: it runs inside worker processes, possibly under the project's own interpreter. Inside a
  function it may also import jinja2 (CocoBase `render`) and the web frameworks that user code
  brings along (Flask, Django, Starlette, ...), never at module level;
- `studio/project/` stays pure: no processes, no database, no server, no UI libraries;
- textual, rich and tree-sitter are imported only by the studio (`studio/tui/`, and the command
  that opens it), so headless commands never pay for them;
- `studio/__init__.py` imports nothing.

Every import counts: top level, inside functions, under `if TYPE_CHECKING:`, relative imports,
`from . import x`, and `importlib.import_module("literal")`. Failures are reported as file:line.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

LAYER_RANK = {"project": 0, "runtime": 1, "store": 2, "tui": 3, "cli": 4, "testing": 4}
ENTRY_RANK = 5  # studio/__main__.py and other top-level modules: may import any layer
WORKER = "studio.runtime.worker"
# Imported lazily (inside a function) by the worker: jinja2 for CocoBase, and the frameworks user
# code itself depends on, so they come from the project's own interpreter.
WORKER_LAZY_THIRD_PARTY = frozenset(
    {"jinja2", "flask", "werkzeug", "django", "starlette", "fastapi", "sanic", "cocopot", "quart", "bottle"}
)
UI_LIBRARIES = frozenset({"textual", "rich", "tree_sitter", "tree_sitter_python", "tree_sitter_json"})
UI_ALLOWED_OUTSIDE_TUI = frozenset({"studio.cli.studio_cmd"})
# project/ turns files into a Project value: nothing that starts processes, opens a database or
# serves HTTP belongs there.
PROJECT_FORBIDDEN = frozenset(
    {"subprocess", "multiprocessing", "sqlite3", "sqlite_utils", "werkzeug", "watchfiles", "socket"}
)
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Import:
    target: str
    """Absolute dotted name of what is imported (for `from a import b`, `a.b` when a is `studio`-
    internal, because b may be a submodule; the layer check only needs the prefix)."""
    line: int
    lazy: bool = False
    """Inside a function body (runs only when called), not at module level."""


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def module_name(path: Path, package_root: Path) -> str:
    """Dotted module name of a file under the folder that holds the `studio` package."""
    parts = list(path.relative_to(package_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    base = _package_of(module, is_package).split(".")
    if level - 1 > len(base) - 1:
        return None  # beyond the top-level package: Python raises ImportError too
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def collect_imports(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import in a module's source, resolved to absolute dotted names."""
    found: list[Import] = []
    _collect(ast.parse(source), module, is_package, False, found)
    return found


def _collect(node: ast.AST, module: str, is_package: bool, lazy: bool, found: list[Import]) -> None:
    if isinstance(node, ast.Import):
        found.extend(Import(alias.name, node.lineno, lazy) for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        found.extend(_from_import(node, module, is_package, lazy))
    elif isinstance(node, ast.Call) and _is_import_call(node.func):
        target = _import_call_target(node)
        if target is not None:
            found.append(Import(target, node.lineno, lazy))
    inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    for child in ast.iter_child_nodes(node):
        _collect(child, module, is_package, inner, found)


def _from_import(node: ast.ImportFrom, module: str, is_package: bool, lazy: bool) -> list[Import]:
    if node.level:
        base = _resolve_relative(module, is_package, node.level, node.module)
        if base is None:
            return [Import("." * node.level + (node.module or ""), node.lineno, lazy)]
    else:
        base = node.module or ""
    if base == "__future__":
        return []
    if base == "studio" or base.startswith("studio."):
        # `from studio import runtime` / `from . import x`: the names may be submodules.
        return [
            Import(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno, lazy)
            for alias in node.names
        ]
    return [Import(base, node.lineno, lazy)]


def _import_call_target(node: ast.Call) -> str | None:
    """`importlib.import_module("x")` / `__import__("x")` with a literal name."""
    if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return None
    target = node.args[0].value
    if not target.startswith("."):
        return target
    package = node.args[1] if len(node.args) > 1 else None
    if not (isinstance(package, ast.Constant) and isinstance(package.value, str)):
        return None  # relative to a computed package: nothing to resolve statically
    level = len(target) - len(target.lstrip("."))
    return _resolve_relative(package.value, True, level, target.lstrip(".") or None)


def _is_import_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYER_RANK:
        return parts[1]
    return None


def _rank_of(module: str, is_package: bool) -> int | None:
    layer = _layer_of(module)
    if layer is not None:
        return LAYER_RANK[layer]
    parts = module.split(".")
    if len(parts) == 2 and not is_package:  # studio/__main__.py, studio/<module>.py
        return ENTRY_RANK
    return None


def check_module(path: Path, package_root: Path, display_root: Path) -> list[Violation]:
    module = module_name(path, package_root)
    is_package = path.name == "__init__.py"
    where = path.relative_to(display_root).as_posix()
    try:
        source = path.read_text(encoding="utf-8")
        imports = collect_imports(source, module, is_package)
    except (SyntaxError, UnicodeDecodeError) as exc:
        return [Violation(where, getattr(exc, "lineno", None) or 1, f"cannot be parsed: {exc}")]

    if module == "studio":
        return [
            Violation(where, imp.line, f"studio/__init__.py must import nothing (imports {imp.target})")
            for imp in imports
        ]

    rank = _rank_of(module, is_package)
    if rank is None:
        return [
            Violation(
                where,
                1,
                f"{module} is in no layer of DESIGN.md §2 (put it under studio/{{{','.join(LAYER_RANK)}}}/)",
            )
        ]
    in_worker = module == WORKER or module.startswith(WORKER + ".")
    layer = _layer_of(module)
    violations: list[Violation] = []
    for imp in imports:
        top = imp.target.split(".")[0]
        if imp.target.startswith("."):
            violations.append(Violation(where, imp.line, f"relative import {imp.target} leaves the package"))
            continue
        if top == "studio":
            violations.extend(_check_internal(where, module, rank, in_worker, imp))
            continue
        if in_worker and top not in STDLIB:
            if not imp.lazy:
                violations.append(
                    Violation(
                        where,
                        imp.line,
                        f"runtime/worker imports {imp.target} at module "
                        "level: only the standard library is allowed there",
                    )
                )
            elif top not in WORKER_LAZY_THIRD_PARTY:
                violations.append(
                    Violation(
                        where,
                        imp.line,
                        f"runtime/worker imports {imp.target}: only the "
                        "standard library, jinja2 and the user's web "
                        "frameworks are allowed there",
                    )
                )
        if top in UI_LIBRARIES and layer != "tui" and module not in UI_ALLOWED_OUTSIDE_TUI:
            violations.append(
                Violation(
                    where,
                    imp.line,
                    f"imports {imp.target}: UI libraries belong in "
                    "studio/tui/ (headless commands must not load them)",
                )
            )
        if layer == "project" and top in PROJECT_FORBIDDEN:
            violations.append(
                Violation(
                    where,
                    imp.line,
                    f"studio/project must stay pure (no processes, "
                    f"database or server) but imports {imp.target}",
                )
            )
    return violations


def _check_internal(where: str, module: str, rank: int, in_worker: bool, imp: Import) -> list[Violation]:
    target = imp.target
    if in_worker:
        if target == WORKER or target.startswith(WORKER + "."):
            return []
        return [
            Violation(
                where,
                imp.line,
                f"runtime/worker imports {target}: the worker may import "
                f"nothing from studio outside {WORKER}",
            )
        ]
    if target == "studio":
        return [Violation(where, imp.line, "imports the studio package itself; import from a layer")]
    target_layer = _layer_of(target)
    if target_layer is None:
        if target == "studio.__version__":
            return []
        if target.count(".") == 1:  # studio/__main__.py and friends: only the entry level uses them
            if rank < ENTRY_RANK:
                return [
                    Violation(where, imp.line, f"imports {target}, a top-level module outside the layers")
                ]
            return []
        return [Violation(where, imp.line, f"imports {target}, which is in no layer")]
    if LAYER_RANK[target_layer] > rank:
        own = module.split(".")[1] if module.count(".") >= 1 else module
        allowed = [name for name, value in LAYER_RANK.items() if value <= rank]
        return [
            Violation(
                where,
                imp.line,
                f"{own} imports {target} ({target_layer}), against the layer "
                f"order; {own} may import only {', '.join(allowed)}",
            )
        ]
    return []


def check_tree(package_root: Path, display_root: Path | None = None) -> list[Violation]:
    display_root = display_root or package_root
    violations: list[Violation] = []
    for path in sorted((package_root / "studio").rglob("*.py")):
        violations.extend(check_module(path, package_root, display_root))
    return violations


# -- the real package ----------------------------------------------------------------------------


def test_studio_respects_the_layer_order():
    assert (REPO_ROOT / "studio" / "__init__.py").is_file()
    violations = check_tree(REPO_ROOT, REPO_ROOT)
    assert not violations, "imports against DESIGN.md §2:\n" + "\n".join(map(str, violations))


# -- the checker itself, on small trees that break each rule -------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for rel, text in {"studio/__init__.py": "", **files}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [str(v) for v in check_tree(tmp_path)]


def test_clean_tree_passes(tmp_path):
    assert (
        _tree(
            tmp_path,
            {
                "studio/__main__.py": "from studio.cli import main\n",
                "studio/project/__init__.py": "",
                "studio/project/model.py": "from __future__ import annotations\nimport dataclasses\n",
                "studio/project/routing.py": "from . import model\nfrom .model import X\nfrom studio.project import model\n",
                "studio/runtime/gateway.py": "from studio.project import routing\nimport werkzeug\n",
                "studio/runtime/worker/__init__.py": "",
                "studio/runtime/worker/main.py": "import json, os\nfrom . import capture\nfrom .capture import x\n"
                "def f():\n    import jinja2\n    import flask\n"
                "    from django.urls import get_resolver\n",
                "studio/store/db.py": "import sqlite_utils\nfrom ..runtime import events\n",
                "studio/tui/app.py": "import textual\nfrom studio.store import db\n",
                "studio/cli/studio_cmd.py": "from studio.tui import app\nfrom studio import __version__\n",
                "studio/cli/routes_cmd.py": "import importlib\nm = importlib.import_module('studio.project.routing')\n",
            },
        )
        == []
    )


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        (
            "studio/project/discover.py",
            "import os\nfrom studio.runtime import gateway\n",
            "studio/project/discover.py:2: project imports studio.runtime.gateway (runtime)",
        ),
        (
            "studio/runtime/gateway.py",
            "def f():\n    from ..store import writer\n",
            "studio/runtime/gateway.py:2: runtime imports studio.store.writer (store)",
        ),
        (
            "studio/project/discover.py",
            "from .. import runtime\n",
            "studio/project/discover.py:1: project imports studio.runtime (runtime)",
        ),
        (
            "studio/store/db.py",
            "from studio import tui\n",
            "studio/store/db.py:1: store imports studio.tui (tui)",
        ),
        (
            "studio/tui/app.py",
            "import studio.cli.routes_cmd\n",
            "studio/tui/app.py:1: tui imports studio.cli.routes_cmd (cli)",
        ),
        (
            "studio/runtime/supervisor.py",
            "import importlib\nimportlib.import_module('studio.store.db')\n",
            "studio/runtime/supervisor.py:2: runtime imports studio.store.db (store)",
        ),
        (
            "studio/runtime/worker/wsgi.py",
            "import werkzeug\n",
            "studio/runtime/worker/wsgi.py:1: runtime/worker imports werkzeug at module level",
        ),
        (
            "studio/runtime/worker/render.py",
            "import jinja2\n",
            "studio/runtime/worker/render.py:1: runtime/worker imports jinja2 at module level",
        ),
        (
            "studio/runtime/worker/wsgi.py",
            "class A:\n    def f(self):\n        import yaml\n",
            "studio/runtime/worker/wsgi.py:3: runtime/worker imports yaml: only the standard library",
        ),
        (
            "studio/runtime/worker/x.py",
            "f = lambda: __import__('click')\n",
            "studio/runtime/worker/x.py:1: runtime/worker imports click: only",
        ),
        (
            "studio/runtime/worker/wsgi.py",
            "def f():\n    from studio.runtime import events\n",
            "studio/runtime/worker/wsgi.py:2: runtime/worker imports studio.runtime.events",
        ),
        (
            "studio/runtime/worker/wsgi.py",
            "from .. import events\n",
            "studio/runtime/worker/wsgi.py:1: runtime/worker imports studio.runtime.events",
        ),
        (
            "studio/runtime/worker/wsgi.py",
            "from studio.project.model import Function\n",
            "studio/runtime/worker/wsgi.py:1: runtime/worker imports studio.project.model.Function",
        ),
        (
            "studio/cli/logs_cmd.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rich\n",
            "studio/cli/logs_cmd.py:3: imports rich: UI libraries belong in studio/tui/",
        ),
        (
            "studio/store/queries.py",
            "from textual.widgets import Log\n",
            "studio/store/queries.py:1: imports textual.widgets: UI libraries",
        ),
        (
            "studio/project/deps.py",
            "import subprocess\n",
            "studio/project/deps.py:1: studio/project must stay pure",
        ),
        (
            "studio/project/check.py",
            "def f():\n    import sqlite3\n",
            "studio/project/check.py:2: studio/project must stay pure",
        ),
        (
            "studio/__init__.py",
            "from studio.cli import main\n",
            "studio/__init__.py:1: studio/__init__.py must import nothing",
        ),
        (
            "studio/helpers/strings.py",
            "import os\n",
            "studio/helpers/strings.py:1: studio.helpers.strings is in no layer",
        ),
        (
            "studio/project/model.py",
            "from studio.util import x\n",
            "studio/project/model.py:1: imports studio.util.x, which is in no layer",
        ),
        (
            "studio/runtime/x.py",
            "from studio import __main__\n",
            "studio/runtime/x.py:1: imports studio.__main__, a top-level module outside the layers",
        ),
        (
            "studio/project/x.py",
            "from ... import y\n",
            "studio/project/x.py:1: relative import ... leaves the package",
        ),
    ],
)
def test_each_rule_is_reported_with_file_and_line(tmp_path, rel, source, expected):
    reported = _tree(tmp_path, {rel: source})
    assert len(reported) == 1, reported
    assert reported[0].startswith(expected), reported[0]


def test_unparsable_module_is_reported_not_raised(tmp_path):
    reported = _tree(tmp_path, {"studio/project/bad.py": "def f(:\n"})
    assert len(reported) == 1 and reported[0].startswith("studio/project/bad.py:1: cannot be parsed")

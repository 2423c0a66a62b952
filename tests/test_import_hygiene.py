"""Headless commands stay light: they never load the studio's UI stack (textual, rich, tree-sitter),
and the project-only commands (routes, check, deps) load neither the server (werkzeug), the store
(sqlite-utils) nor jinja2.

Each test runs the real thing in a fresh interpreter with `PYTHONPROFILEIMPORTTIME=1`, which makes
Python report every module it imports (at any depth, lazily inside functions too) on stderr, so
the check sees exactly what a user's process loaded.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "sample_projects"

UI = frozenset({"textual", "rich", "tree_sitter", "tree_sitter_python", "tree_sitter_json"})
SERVER_STORE_TEMPLATES = frozenset({"werkzeug", "sqlite_utils", "jinja2"})
PROJECT_ONLY_COMMANDS = ("routes", "check", "deps")

_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)\s*$")


def _commands() -> dict[str, str]:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from studio.cli import COMMANDS
    finally:
        sys.path.remove(str(REPO_ROOT))
    return dict(COMMANDS)


COMMANDS = _commands()
HEADLESS = [name for name in COMMANDS if name != "studio"]


def _funcstudio() -> list[str]:
    """The installed console script when there is one (CI), else the same entry via `-m studio`."""
    script = Path(sys.executable).with_name("funcstudio")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "studio"]


def _run(argv: list[str], cwd: Path = REPO_ROOT) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    imported = set()
    for line in proc.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            imported.add(match.group(1))
    assert imported, f"no import report from {argv}: {proc.stderr[-2000:]}"
    return proc, imported


def _loaded(imported: set[str], packages: frozenset[str]) -> list[str]:
    return sorted(name for name in imported if name.split(".")[0] in packages)


def _user_output(proc: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))


def test_import_studio_cli_is_light():
    _, imported = _run([sys.executable, "-c", "import studio.cli"])
    assert "click" in imported and "studio.cli" in imported  # the report really covers the import
    assert _loaded(imported, UI | SERVER_STORE_TEMPLATES) == []


def test_funcstudio_help_lists_commands_without_importing_them():
    proc, imported = _run([*_funcstudio(), "--help"])
    assert proc.returncode == 0, _user_output(proc)
    for name in HEADLESS:
        assert name in proc.stdout
    assert _loaded(imported, UI | SERVER_STORE_TEMPLATES) == []
    command_modules = {target.split(":")[0] for target in COMMANDS.values()}
    assert sorted(command_modules & imported) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_registered_command_module_exists(name):
    module = COMMANDS[name].split(":")[0]
    sys.path.insert(0, str(REPO_ROOT))
    try:
        spec = importlib.util.find_spec(module)
    finally:
        sys.path.remove(str(REPO_ROOT))
    assert spec is not None, f"studio/cli/__init__.py registers `{name}` -> {module}, which does not exist"


@pytest.mark.parametrize("name", HEADLESS)
def test_headless_command_module_never_imports_the_ui(name):
    module = COMMANDS[name].split(":")[0]
    proc, imported = _run([sys.executable, "-c", f"import {module}"])
    assert proc.returncode == 0, _user_output(proc)
    assert module in imported
    forbidden = UI | (SERVER_STORE_TEMPLATES if name in PROJECT_ONLY_COMMANDS else frozenset())
    assert _loaded(imported, forbidden) == []


@pytest.mark.parametrize("name", HEADLESS)
def test_headless_command_help_never_imports_the_ui(name):
    proc, imported = _run([*_funcstudio(), name, "--help"])
    assert proc.returncode == 0, _user_output(proc)
    assert "Usage:" in proc.stdout
    forbidden = UI | (SERVER_STORE_TEMPLATES if name in PROJECT_ONLY_COMMANDS else frozenset())
    assert _loaded(imported, forbidden) == []


@pytest.mark.parametrize("command", PROJECT_ONLY_COMMANDS)
@pytest.mark.parametrize("sample", ["pages-showcase", "scf-demo", "cocobase-demo"])
def test_project_commands_run_on_samples_without_server_store_or_ui(command, sample):
    # The real command on a real project: lazy imports inside the command count too.
    proc, imported = _run([*_funcstudio(), command, str(SAMPLES / sample)])
    assert "Traceback" not in proc.stderr, _user_output(proc)
    assert proc.returncode in (0, 1), _user_output(proc)  # `check` exits 1 on error-level problems
    assert proc.stdout.strip(), f"`funcstudio {command}` printed nothing"
    assert _loaded(imported, UI | SERVER_STORE_TEMPLATES) == []


def test_events_command_runs_without_ui():
    proc, imported = _run([*_funcstudio(), "events", "list"])
    assert proc.returncode == 0, _user_output(proc)
    assert "timer" in proc.stdout
    assert _loaded(imported, UI) == []


def test_logs_command_on_a_fresh_project_runs_without_ui(tmp_path):
    project = tmp_path / "project"
    (project / "cloud-functions").mkdir(parents=True)
    (project / "cloud-functions" / "index.py").write_text("def handler(event, context):\n    return 'hi'\n")
    proc, imported = _run([*_funcstudio(), "logs", str(project)], cwd=tmp_path)
    assert "Traceback" not in proc.stderr, _user_output(proc)
    assert _loaded(imported, UI) == []


def test_the_checker_sees_lazy_ui_imports():
    # Guards the method itself: an import inside a function body must show up in the report.
    code = "def later():\n    import rich.text\nlater()\n"
    _, imported = _run([sys.executable, "-c", code])
    assert "rich.text" in _loaded(imported, UI)

"""Headless commands stay light: they never load the studio's UI stack (textual, rich, tree-sitter),
and the project-only commands (routes, check, deps) load neither the server (werkzeug), the store
(sqlite-utils) nor jinja2.

Each test runs the real thing in a fresh interpreter — the `funcstudio` entry point with real
arguments, or a bare import — and reads `sys.modules` as the process exits, so every module it
loaded counts: at any depth, lazily inside functions, or through importlib.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "sample_projects"

UI = frozenset({"textual", "rich", "tree_sitter", "tree_sitter_python", "tree_sitter_json"})
SERVER_STORE_TEMPLATES = frozenset({"werkzeug", "sqlite_utils", "jinja2"})
PROJECT_ONLY_COMMANDS = ("routes", "check", "deps")

# Runs like the `funcstudio` console script (`from studio.cli import main; main()`), or imports a
# module, or runs code; writes sorted(sys.modules) to argv[1] when the interpreter exits.
_PROBE = r"""
import atexit, json, sys
out, mode, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
def _dump():
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(_dump)
if mode == "cli":
    sys.argv = ["funcstudio", *rest]
    from studio.cli import main
    main()
elif mode == "import":
    import importlib
    importlib.import_module(rest[0])
else:
    exec(rest[0])
"""


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


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def _run(mode: str, *args: str, cwd: Path = REPO_ROOT) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the probe in a fresh interpreter; return the process and every module it had loaded."""
    handle, name = tempfile.mkstemp(prefix="funcstudio-modules-", suffix=".json")
    os.close(handle)
    out = Path(name)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(out), mode, *args],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert out.stat().st_size, f"the probe wrote no module list: {proc.stderr[-2000:]}"
        return proc, set(json.loads(out.read_text(encoding="utf-8")))
    finally:
        out.unlink(missing_ok=True)


def _loaded(imported: set[str], packages: frozenset[str]) -> list[str]:
    return sorted(name for name in imported if name.split(".")[0] in packages)


def _user_output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout[-2000:] + proc.stderr[-2000:]


def test_import_studio_cli_is_light():
    _, imported = _run("import", "studio.cli")
    assert "click" in imported and "studio.cli" in imported  # the report really covers the import
    assert _loaded(imported, UI | SERVER_STORE_TEMPLATES) == []


def test_funcstudio_script_help_lists_every_command():
    proc = subprocess.run(
        [*_funcstudio(), "--help"], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, _user_output(proc)
    for name in COMMANDS:
        assert name in proc.stdout


def test_funcstudio_help_lists_commands_without_importing_them():
    proc, imported = _run("cli", "--help")
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
def test_headless_command_help_never_imports_the_ui(name):
    # `--help` imports the command's module (and only it), so this covers the module import too.
    module = COMMANDS[name].split(":")[0]
    proc, imported = _run("cli", name, "--help")
    assert proc.returncode == 0, _user_output(proc)
    assert "Usage:" in proc.stdout
    assert module in imported, f"`funcstudio {name} --help` did not load {module}"
    forbidden = UI | (SERVER_STORE_TEMPLATES if name in PROJECT_ONLY_COMMANDS else frozenset())
    assert _loaded(imported, forbidden) == []


@pytest.mark.parametrize(
    ("command", "sample"),
    [
        ("routes", "pages-showcase"),
        ("routes", "scf-demo"),
        ("routes", "cocobase-demo"),
        ("check", "pages-showcase"),
        ("check", "scf-demo"),
        ("deps", "pages-showcase"),
    ],
)
def test_project_commands_run_on_samples_without_server_store_or_ui(command, sample):
    # The real command on a real project: lazy imports inside the command count too.
    proc, imported = _run("cli", command, str(SAMPLES / sample))
    assert "Traceback" not in proc.stderr, _user_output(proc)
    assert proc.returncode in (0, 1), _user_output(proc)  # `check` exits 1 on error-level problems
    assert proc.stdout.strip(), f"`funcstudio {command}` printed nothing"
    assert _loaded(imported, UI | SERVER_STORE_TEMPLATES) == []


def test_events_command_runs_without_ui():
    proc, imported = _run("cli", "events", "list")
    assert proc.returncode == 0, _user_output(proc)
    assert "timer" in proc.stdout
    assert _loaded(imported, UI) == []


def test_logs_command_on_a_fresh_project_runs_without_ui(tmp_path):
    project = tmp_path / "project"
    (project / "cloud-functions").mkdir(parents=True)
    (project / "cloud-functions" / "index.py").write_text("def handler(event, context):\n    return 'hi'\n")
    proc, imported = _run("cli", "logs", str(project), cwd=tmp_path)
    assert "Traceback" not in proc.stderr, _user_output(proc)
    assert _loaded(imported, UI) == []


def test_the_checker_sees_lazy_ui_imports():
    # Guards the method itself: imports inside a function body and through importlib count.
    code = "import importlib\ndef later():\n    importlib.import_module('rich.text')\nlater()\n"
    _, imported = _run("code", code)
    assert "rich.text" in _loaded(imported, UI)

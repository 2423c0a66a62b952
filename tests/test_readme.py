"""README.md stays true: its test command is the one CI runs, its settings example loads without a
problem, and it names every command the CLI registers."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _test_command() -> str:
    block = re.search(r"# install, then run the tests.*?\n(?:pip install .*\n)(.+)\n", README)
    assert block, "README.md lost its 'install, then run the tests' commands"
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = _test_command()
    assert command == "python -m pytest -q -n 2"
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(command)}\b", ci, re.M), f".ci/run does not run `{command}`"
    assert "pip install --quiet --progress-bar off -e '.[test]'" in ci
    assert "ruff check ." in ci


def test_readme_settings_example_loads_without_problems(tmp_path):
    from studio.project.settings import load_settings

    example = re.search(r"```toml\n(.*?)```", README, re.S)
    assert example
    (tmp_path / "funcstudio.toml").write_text(example.group(1), encoding="utf-8")
    settings, problems = load_settings(tmp_path)
    assert problems == ()
    assert settings.functions["cloud-functions/api/boom"].timeout_s == 5


def test_readme_names_every_command():
    from studio.cli import COMMANDS

    for name in COMMANDS:
        if name != "studio":
            assert f"| `{name}` |" in README, f"README.md's command table lacks `{name}`"

"""`funcstudio [PROJECT]` routes to the studio command, which imports Textual only when it runs."""

from __future__ import annotations

import subprocess
import sys


def test_studio_command_help_and_bad_project(repo_root, tmp_path):
    shown = subprocess.run([sys.executable, "-m", "studio", "studio", "--help"], cwd=repo_root,
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "--port" in shown.stdout and "--host" in shown.stdout
    missing = subprocess.run([sys.executable, "-m", "studio", str(tmp_path / "nope")], cwd=repo_root,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_studio_module_defers_textual(repo_root):
    code = "import sys, studio.cli.studio_cmd; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "False"

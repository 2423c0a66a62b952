"""SCF discovery gives project-relative ids whatever form the root was given in (relative, `..`, absolute)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from studio.project.scf import discover_scf
from studio.project.settings import load_settings

SCF_DEMO = Path(__file__).resolve().parents[2] / "sample_projects" / "scf-demo"

TEMPLATE = """
Resources:
  default:
    Type: TencentCloud::Serverless::Namespace
    tpl:
      Type: TencentCloud::Serverless::Function
      Properties:
        CodeUri: ./tpl
        Handler: index.main_handler
        Runtime: Python3.10
"""

TOML = """
[functions."fromtoml"]
platform = "scf"
src = "fromtoml"
"""


def _shape(scan):
    return sorted((f.id, f.entry, f.code_root, f.name) for f in scan.functions)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "work" / "proj"
    shutil.copytree(SCF_DEMO, root)
    (root / "template.yaml").write_text(textwrap.dedent(TEMPLATE).lstrip())
    for name in ("tpl", "fromtoml"):
        (root / name).mkdir()
        (root / name / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (root / "funcstudio.toml").write_text(textwrap.dedent(TOML).lstrip())
    return root


@pytest.mark.parametrize("given", ["proj", "./proj", "../work/proj", "proj/"])
def test_relative_root_gives_the_same_project_relative_ids(project, monkeypatch, given):
    settings, problems = load_settings(project)
    assert problems == ()
    expected = _shape(discover_scf(project, settings))
    ids = {fid for fid, *_ in expected}
    assert {"hello/index", "tick/index", "echo/index", "tpl/index", "fromtoml/index"} <= ids
    monkeypatch.chdir(project.parent)
    scan = discover_scf(Path(given), settings)
    assert _shape(scan) == expected
    for fn in scan.functions:
        assert not Path(fn.id).is_absolute() and not Path(fn.entry).is_absolute(), fn
        assert not fn.code_root or not Path(fn.code_root).is_absolute(), fn
        for route in fn.routes:
            assert route.function_id == fn.id and not Path(route.file).is_absolute()

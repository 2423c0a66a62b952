"""check_project: every problem, most severe first, including the project-wide ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import write_file as write

from studio.project.check import check_project, summary
from studio.project.loader import load_project, load_project_with_settings

COCOPOT_APP = """\
from cocopot import Cocopot

app = Cocopot()

@app.after_request
def first(resp):
    return resp

@app.after_request
def second(resp):
    return resp
"""


def check(root: Path):
    return check_project(load_project(root))


def test_sorted_by_severity_then_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/b.py", "def handler(event, context:\n")
    write(tmp_path, "cloud-functions/a.py", "import yaml\ndef handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/json.py", "X = 1\n")
    write(tmp_path, "funcstudio.toml", 'quirks = "nope"\n')
    problems = check(tmp_path)
    order = {"error": 0, "warning": 1, "info": 2}
    keys = [(order[p.severity], p.file or "", p.line or 0) for p in problems]
    assert keys == sorted(keys)
    found = {(p.severity, p.code, p.file) for p in problems}
    assert ("error", "syntax-error", "cloud-functions/b.py") in found
    assert ("error", "invalid-config", "funcstudio.toml") in found
    assert ("error", "EO-UNDECLARED-DEP", "cloud-functions/a.py") in found  # column-0 import in an entry: every request fails
    assert any(code == "EO-NAME-CONFLICT" for _, code, _ in found)
    assert summary(problems)["error"] >= 2


def test_cocopot_needs_the_shim_and_a_requirements_line(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/pot/index.py", COCOPOT_APP)
    problems = check(tmp_path)
    by_code = {p.code: p for p in problems}
    assert by_code["CP-SHIM"].file == "cloud-functions/pot/index.py" and by_code["CP-SHIM"].line == 1
    assert by_code["CP-AFTER-ORDER"].severity == "warning" and by_code["CP-AFTER-ORDER"].line == 9
    undeclared = by_code["EO-UNDECLARED-DEP"]
    assert "does not detect Cocopot" in undeclared.message and "cocopot==0.2" in undeclared.hint
    write(tmp_path, "cloud-functions/requirements.txt", "cocopot==0.2\n")
    codes = {p.code for p in check(tmp_path)}
    assert "EO-UNDECLARED-DEP" not in codes and "CP-SHIM" in codes


def test_shadowed_requirements_file(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/requirements.txt", "\n")
    write(tmp_path, "requirements.txt", "requests\n")
    [shadowed] = [p for p in check(tmp_path) if p.code == "EO-REQS-SHADOWED"]
    assert shadowed.file == "requirements.txt" and shadowed.severity == "warning"


def test_scf_problems_and_clashing_endpoints(tmp_path: Path) -> None:
    write(tmp_path, "a/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "b/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "serverless.yml", """\
first:
  component: '@serverless/tencent-scf'
  inputs:
    codeUri: ./a
    handler: index.missing
    events:
      - apigw: {parameters: {endpoints: [{path: /same, method: GET}]}}
second:
  component: '@serverless/tencent-scf'
  inputs:
    codeUri: ./b
    environment: {variables: {QCLOUD_X: 1}}
    events:
      - apigw: {parameters: {endpoints: [{path: /same}]}}
""")
    problems = check(tmp_path)
    codes = [p.code for p in problems]
    assert "SCF-HANDLER-NOT-FOUND" in codes and "SCF-ENV-NAME" in codes and "route-conflict" in codes
    assert problems[0].severity == "error"


def test_python_version_info(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/x.py", "def main():\n    return 1\n")
    infos = [p for p in check(tmp_path) if p.code == "EO-PYTHON-VERSION"]
    assert len(infos) == (0 if sys.version_info[:2] == (3, 10) else 1)
    assert all(p.severity == "info" for p in infos)


@pytest.mark.parametrize(("cfg", "expected"), [
    ("home = /usr/bin\nversion = 3.10.14\n", []),
    ("home = /usr/bin\nversion_info = 3.12.1.final.0\n", ["Python 3.12"]),
    (None, ["cannot tell"]),
])
def test_python_version_of_the_configured_interpreter(tmp_path: Path, cfg: str | None, expected: list[str]) -> None:
    write(tmp_path, "cocobase/x.py", "def main():\n    return 1\n")
    write(tmp_path, "env310/bin/python", "")
    if cfg is not None:
        write(tmp_path, "env310/pyvenv.cfg", cfg)
    write(tmp_path, "funcstudio.toml", 'python = "env310/bin/python"\n')
    project, settings = load_project_with_settings(tmp_path)
    infos = [p.message for p in check_project(project, settings=settings) if p.code == "EO-PYTHON-VERSION"]
    assert len(infos) == len(expected)
    for message, fragment in zip(infos, expected, strict=True):
        assert fragment in message


def test_clean_project_has_no_errors(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "import json\ndef handler(event, context):\n    return 1\n")
    assert summary(check(tmp_path))["error"] == 0
    assert {p.severity for p in check(tmp_path)} <= {"info"}


def test_missing_project(tmp_path: Path) -> None:
    [problem] = check(tmp_path / "missing")
    assert problem.code == "missing-project"


def test_static_route_shadowing_dynamic_routes_below_it(tmp_path: Path) -> None:
    handler = "def handler(event, context):\n    return 1\n"
    write(tmp_path, "cloud-functions/api/users/index.py", handler)
    write(tmp_path, "cloud-functions/api/users/[id].py", handler)
    write(tmp_path, "cloud-functions/api/[[rest]].py", handler)
    write(tmp_path, "cloud-functions/other/[id].py", handler)
    write(tmp_path, "cloud-functions/get-only.py",
          "from http.server import BaseHTTPRequestHandler\nclass handler(BaseHTTPRequestHandler):\n"
          "    def do_GET(self):\n        pass\n")
    write(tmp_path, "cloud-functions/get-only/[id].py", handler)
    shadows = {p.file: p for p in check(tmp_path) if p.code == "EO-STATIC-SHADOWS"}
    assert set(shadows) == {"cloud-functions/api/users/[id].py", "cloud-functions/get-only/[id].py"}
    assert "cloud-functions/api/users/index.py" in shadows["cloud-functions/api/users/[id].py"].message
    assert "GET requests" in shadows["cloud-functions/get-only/[id].py"].message


def test_django_wsgi_next_to_an_asgi_entry(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/site/index.py",
          "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n")
    assert "EO-ASGI-DISPATCH-WSGI" not in {p.code for p in check(tmp_path)}
    write(tmp_path, "cloud-functions/fast/index.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    [problem] = [p for p in check(tmp_path) if p.code == "EO-ASGI-DISPATCH-WSGI"]
    assert problem.file == "cloud-functions/site/index.py" and "cloud-functions/fast/index.py" in problem.message

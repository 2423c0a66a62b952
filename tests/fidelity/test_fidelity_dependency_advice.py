"""Dependency advice on vendored-SDK import shapes (issue: fidelity item 2): only imports that fail
in production are advised."""

from __future__ import annotations

from pathlib import Path

from helpers import write_file

from studio.project.deps import compute_requirements
from studio.project.loader import load_project

HANDLER = "import sdk\n\ndef main_handler(event, context):\n    return sdk.VERSION\n"

VENDORED_SDK = '''\
import sys
try:
    import http.client as httplib
    from urllib.parse import urlparse
except ImportError:
    import httplib
    import urlparse
try:
    import queue
except ModuleNotFoundError:
    import Queue as queue
if sys.version_info[0] == 2:
    import ConfigParser
    from StringIO import StringIO
else:
    import configparser
if sys.platform == "win32":
    import _winreg
from six import PY2
if PY2:
    import cPickle as pickle
import cookielib
import requests
import yaml
from . import util
VERSION = "1"
'''


def scf_missing(root: Path) -> list[tuple[str, str]]:
    reqs = compute_requirements(load_project(root))
    return sorted({(p.file, p.message.split("`")[1]) for p in reqs.missing if p.code == "SCF-UNDECLARED-DEP"})


def write_function(root: Path, runtime: str) -> None:
    write_file(root, "fn/index.py", HANDLER)
    write_file(root, "fn/sdk/__init__.py", VENDORED_SDK)
    write_file(root, "fn/sdk/util.py", "import numpy\n")
    # Never imported by the handler: examples and build scripts of the vendored package.
    write_file(root, "fn/sdk/examples/demo.py", "import matplotlib\n")
    write_file(root, "fn/sdk/setup.py", "import py2app\n")
    write_file(root, "fn/serverless.yml", f"component: scf\ninputs:\n  name: fn\n  src: ./\n  handler: index.main_handler\n"
                                          f"  runtime: {runtime}\n")


def test_fallbacks_guards_and_python2_names_are_never_advised(tmp_path: Path) -> None:
    write_function(tmp_path, "Python3.10")
    missing = scf_missing(tmp_path)
    # six is imported at top level (advised); requests/yaml/numpy are real third-party imports on
    # 3.10 (no built-in libraries from 3.7 on); nothing from the except/if branches, no py2 names,
    # nothing from files the handler never imports.
    assert missing == [
        ("fn/sdk/__init__.py", "import requests"),
        ("fn/sdk/__init__.py", "import six"),
        ("fn/sdk/__init__.py", "import yaml"),
        ("fn/sdk/util.py", "import numpy"),
    ]


def test_python36_runtime_provides_its_documented_libraries(tmp_path: Path) -> None:
    write_function(tmp_path, "Python3.6")
    # requests, six and numpy are in the Python 3.6 runtime's built-in list; yaml is not.
    assert scf_missing(tmp_path) == [("fn/sdk/__init__.py", "import yaml")]


def test_requirements_file_covers_the_rest(tmp_path: Path) -> None:
    write_function(tmp_path, "Python3.10")
    write_file(tmp_path, "fn/requirements.txt", "requests\nsix\nPyYAML==6.0\nnumpy\n")
    assert scf_missing(tmp_path) == []


# -- pins (fidelity item 2, finding 3) ------------------------------------------------------------

FASTAPI_APP = "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/health')\ndef health():\n    return {}\n"


def test_pinned_framework_version_the_workers_do_not_run_is_a_warning_naming_both(tmp_path: Path) -> None:
    from importlib.metadata import version

    from studio.project.check import check_project

    write_file(tmp_path, "cloud-functions/api/[[default]].py", FASTAPI_APP)
    write_file(tmp_path, "cloud-functions/requirements.txt", "fastapi==0.87.0\nuvicorn==0.19.0\n")
    problems = check_project(load_project(tmp_path))
    [pin] = [p for p in problems if p.code == "DEP-VERSION-MISMATCH" and "fastapi" in p.message]
    assert "fastapi==0.87.0" in pin.message and f"fastapi {version('fastapi')}" in pin.message
    assert pin.severity == "warning" and pin.file == "cloud-functions/requirements.txt"
    [floor] = [p for p in problems if p.code == "EO-ADAPTER-MINIMUM"]
    assert "uvicorn==0.19.0" in floor.message and "uvicorn>=0.20.0" in floor.message


def test_deps_write_never_lowers_the_adapters_minimum(tmp_path: Path) -> None:
    from studio.project.deps import render_requirements

    write_file(tmp_path, "cloud-functions/index.py", "def handler(event, context):\n    return 1\n")
    write_file(tmp_path, "cloud-functions/requirements.txt", "uvicorn==0.19.0\nrequests\n")
    reqs = compute_requirements(load_project(tmp_path))
    text = render_requirements(reqs, "uvicorn==0.19.0\nrequests\n")
    active = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "uvicorn>=0.20.0" in active and "uvicorn==0.19.0" not in active
    assert "# uvicorn==0.19.0" in text  # the user's line is kept, as a comment
    assert "requests" in active


def test_matching_pin_is_quiet(tmp_path: Path) -> None:
    from importlib.metadata import version

    from studio.project.check import check_project

    write_file(tmp_path, "cloud-functions/api/[[default]].py", FASTAPI_APP)
    write_file(tmp_path, "cloud-functions/requirements.txt", f"fastapi=={version('fastapi')}\n")
    assert not [p for p in check_project(load_project(tmp_path)) if p.code == "DEP-VERSION-MISMATCH"]


def test_parse_cache_outlives_the_process_and_follows_edits(tmp_path: Path, monkeypatch) -> None:
    """`check` is a new process each time: the import scan's results are kept by size and mtime in
    the user's cache folder, never in the project."""
    from studio.project import deps

    monkeypatch.setenv("FUNCSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "proj"
    write_function(project, "Python3.10")

    def fresh_scan() -> tuple[int, list]:
        deps._IMPORTS_CACHE.clear()  # as in a new process
        before = deps._PARSED
        missing = scf_missing(project)
        return deps._PARSED - before, missing

    parsed, first = fresh_scan()
    assert parsed > 0 and (tmp_path / "cache" / "imports").is_dir()
    parsed, again = fresh_scan()
    assert parsed == 0 and again == first
    assert not (project / ".funcstudio").exists()
    write_file(project, "fn/sdk/util.py", "import numpy\nimport pandas\n")  # an edit is parsed again
    parsed, edited = fresh_scan()
    assert parsed == 1 and ("fn/sdk/util.py", "import pandas") in edited

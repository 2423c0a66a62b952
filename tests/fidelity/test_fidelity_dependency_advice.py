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

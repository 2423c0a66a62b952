"""Dependencies by the EdgeOne build's rules (RUNTIME_SPEC.md §2.10), and the imports it would miss."""

from __future__ import annotations

from pathlib import Path

from helpers import write_file as write

from studio.project.deps import ALWAYS, compute_requirements, package_name, render_requirements
from studio.project.loader import load_project

ENTRY = "def handler(event, context):\n    return 'ok'\n"


def reqs_of(root: Path):
    return compute_requirements(load_project(root))


def test_always_added_packages_come_first(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", ENTRY)
    reqs = reqs_of(tmp_path)
    assert reqs.edgeone is True
    assert reqs.lines == ALWAYS == ("werkzeug>=2.0.0", "flask>=2.0.0", "uvicorn>=0.20.0")
    assert set(reqs.sources) == {"always"}
    assert reqs.user_file is None and reqs.missing == ()
    assert reqs.target == "cloud-functions/requirements.txt"


def test_import_table_first_name_only_and_sanic_extras(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/api/a.py", "import requests, numpy\nfrom fastapi import FastAPI\napp = FastAPI()\n")
    write(tmp_path, "cloud-functions/api/b.py", "import psycopg2\nimport jwt\nimport mysql.connector\n" + ENTRY)
    write(tmp_path, "cloud-functions/s.py", "from sanic import Sanic\napp = Sanic('x')\n")
    write(tmp_path, "cloud-functions/tests/t.py", "import pandas\n")  # excluded folder: not scanned
    reqs = reqs_of(tmp_path)
    imported = [r.line for r in reqs.requirements if r.source == "import"]
    assert imported == [
        "requests>=2.28.0", "fastapi>=0.100.0",
        "psycopg2-binary>=2.9.0", "pyjwt>=2.0.0", "mysql-connector-python>=8.0.0",
        "sanic>=21.0", "httptools>=0.5.0", 'uvloop>=0.17.0;sys_platform!="win32"',
    ]
    assert "numpy>=1.24.0" not in reqs.lines  # second name of `import requests, numpy` does not count
    assert not any(line.startswith("pandas") for line in reqs.lines)
    origin = next(r.origin for r in reqs.requirements if r.line.startswith("fastapi"))
    assert origin == "cloud-functions/api/a.py:2"


def test_pil_is_not_mapped_but_pillow_is(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/img.py", "from PIL import Image\n" + ENTRY)
    reqs = reqs_of(tmp_path)
    assert not any(line.startswith("pillow") for line in reqs.lines)
    [missing] = reqs.missing
    assert missing.code == "EO-UNDECLARED-DEP" and missing.file == "cloud-functions/img.py" and missing.line == 1
    assert "`pillow`" in missing.hint
    write(tmp_path, "cloud-functions/p.py", "import pillow\n")
    assert "pillow>=9.0.0" in reqs_of(tmp_path).lines


def test_cloud_functions_requirements_hide_the_root_file(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "import yaml\nimport cocopot\n" + ENTRY)
    write(tmp_path, "cloud-functions/requirements.txt", "# pinned\nflask==3.0.0\n\ncocopot==0.2\n")
    write(tmp_path, "requirements.txt", "pyyaml\n")
    reqs = reqs_of(tmp_path)
    assert reqs.user_file == "cloud-functions/requirements.txt"
    assert reqs.shadowed_file == "requirements.txt"
    [shadowed] = reqs.problems
    assert shadowed.code == "EO-REQS-SHADOWED" and shadowed.file == "requirements.txt"
    # the user's flask line wins over the always-added one, and is listed once
    assert reqs.lines == ("werkzeug>=2.0.0", "uvicorn>=0.20.0", "flask==3.0.0", "cocopot==0.2")
    # pyyaml is only in the ignored root file, so `import yaml` is missing in production
    assert [(p.code, p.line) for p in reqs.missing] == [("EO-UNDECLARED-DEP", 1)]
    assert "`pyyaml`" in reqs.missing[0].hint


def test_root_requirements_used_when_cloud_functions_has_none(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "import yaml\n" + ENTRY)
    write(tmp_path, "requirements.txt", "PyYAML>=6\n")
    reqs = reqs_of(tmp_path)
    assert reqs.user_file == "requirements.txt" and reqs.shadowed_file is None
    assert reqs.lines[-1] == "PyYAML>=6" and reqs.sources[-1] == "user"
    assert reqs.missing == ()


def test_stdlib_local_relative_and_optional_imports_are_not_missing(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/util.py", "import json\n")
    write(tmp_path, "cloud-functions/lib/__init__.py", "")
    write(tmp_path, "cloud-functions/index.py", "\n".join([
        "from __future__ import annotations",
        "import os, sys, json, sqlite3",
        "import util",
        "from lib import x",
        "from . import sibling",
        "try:",
        "    import ujson as fastjson",
        "except ImportError:",
        "    fastjson = None",
        "import flask, werkzeug",
        ENTRY,
    ]))
    assert reqs_of(tmp_path).missing == ()


def test_scf_function_imports_are_checked_against_its_own_requirements(tmp_path: Path) -> None:
    write(tmp_path, "orders/index.py", "import requests\nimport yaml\ndef main_handler(event, context):\n    return 1\n")
    write(tmp_path, "orders/requirements.txt", "requests==2.31\n")
    reqs = reqs_of(tmp_path)
    assert reqs.edgeone is False and reqs.requirements == ()
    assert [(p.code, p.file, p.line) for p in reqs.missing] == [("SCF-UNDECLARED-DEP", "orders/index.py", 2)]
    assert "orders/requirements.txt" in reqs.missing[0].hint


def test_render_keeps_user_lines_and_adds_what_is_missing(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "from PIL import Image\nimport fastapi\n" + ENTRY)
    user = "# my pins\nflask==3.0.0  # keep\nrequests\n"
    write(tmp_path, "cloud-functions/requirements.txt", user)
    reqs = reqs_of(tmp_path)
    text = render_requirements(reqs, user)
    assert text.startswith(user)
    added = text[len(user):].splitlines()
    assert [line for line in added if line and not line.startswith("#")] == [
        "werkzeug>=2.0.0", "uvicorn>=0.20.0", "fastapi>=0.100.0", "pillow"]
    # writing it and computing again: nothing left to add, nothing missing
    write(tmp_path, "cloud-functions/requirements.txt", text)
    again = reqs_of(tmp_path)
    assert again.missing == ()
    assert render_requirements(again, text) == text


def test_package_names_normalise() -> None:
    assert package_name("Flask[async]>=2") == "flask"
    assert package_name("python_dateutil==2.9") == "python-dateutil"
    assert package_name('uvloop>=0.17.0;sys_platform!="win32"') == "uvloop"
    assert package_name("  # comment") is None


def test_scf_function_at_the_root_does_not_answer_for_other_platforms(tmp_path: Path) -> None:
    write(tmp_path, "index.py", "import requests\ndef main_handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/api.py", "import yaml\n" + ENTRY)
    write(tmp_path, "cocobase/f.py", "import numpy\ndef main():\n    return 1\n")
    reqs = reqs_of(tmp_path)
    found = sorted((p.code, p.file) for p in reqs.missing)
    assert found == [("EO-UNDECLARED-DEP", "cloud-functions/api.py"), ("SCF-UNDECLARED-DEP", "index.py")]


def test_undecodable_requirements_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", ENTRY)
    (tmp_path / "cloud-functions" / "requirements.txt").write_bytes(b"requests\ncaf\xe9\n")
    reqs = reqs_of(tmp_path)
    assert [(p.code, p.file, p.line) for p in reqs.problems] == [
        ("not-utf8", "cloud-functions/requirements.txt", 2)]
    assert "requests" in reqs.lines

"""The real `funcstudio` command in a subprocess: routes, check, deps, --help, --version, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_file as write

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_projects"
ROUTE_KEYS = {"route", "file", "function", "platform", "kind", "framework", "methods", "params", "catch_all"}
FORBIDDEN = ("textual", "rich", "werkzeug", "sqlite_utils")


def run(*args: str, cwd: Path = REPO, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNCSTUDIO_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def routes_json(project: Path) -> list[dict]:
    result = run("routes", str(project), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_routes_json_pages_showcase_is_in_platform_order() -> None:
    records = routes_json(SAMPLES / "pages-showcase")
    assert records, "the showcase has routes"
    for record in records:
        assert ROUTE_KEYS <= set(record)
        assert record["platform"] == "edgeone"
        assert (SAMPLES / "pages-showcase" / record["file"]).is_file()
        assert record["function"] == record["file"].removesuffix(".py")
        assert record["kind"] in ("handler-class", "http-function", "wsgi", "asgi")
    # static before dynamic, non-catch-all before catch-all, longer path first among equals
    keys = [(bool(r["params"]), r["catch_all"]) for r in records]
    assert keys == sorted(keys)
    static = [r["route"] for r in records if not r["params"]]
    assert [len(p) for p in static] == sorted((len(p) for p in static), reverse=True)
    by_route = {r["route"]: r for r in records}
    assert by_route["/api/users/:id"]["params"] == ["id"]
    assert by_route["/api/users/:id"]["function"] == "cloud-functions/api/users/[id]"
    catch_alls = [r for r in records if r["catch_all"]]
    assert catch_alls and all(r["route"].endswith("*") for r in catch_alls)
    assert {r["framework"] for r in records if r["kind"] in ("wsgi", "asgi")} >= {"flask", "fastapi"}


def test_routes_json_scf_demo() -> None:
    records = routes_json(SAMPLES / "scf-demo")
    by_route = {r["route"]: r for r in records}
    assert by_route["/hello"]["function"] == "hello/index"
    assert by_route["/hello"]["methods"] == ["GET"]
    assert by_route["/echo"]["methods"] == []  # convention: ANY
    assert all(r["platform"] == "scf" and r["kind"] == "scf-event" for r in records)


def test_routes_json_cocobase_demo() -> None:
    records = routes_json(SAMPLES / "cocobase-demo")
    execute = [r for r in records if r["route"].endswith("/execute")]
    assert execute and all(r["methods"] == ["GET", "POST"] for r in execute)
    assert all(r["function"] == "cocobase/" + r["route"].split("/")[2] for r in execute)
    assert all(r["platform"] == "cocobase" and r["kind"] == "cocobase" for r in records)


def test_routes_human_table_has_platform_sections(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/api/[id].py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "cocobase/ping.py", "def main():\n    return 1\n")
    result = run("routes", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Tencent SCF") < out.index("CocoBase") < out.index("EdgeOne Pages")
    assert "/api/:id" in out and "cloud-functions/api/[id]" in out and "/functions/ping/execute" in out
    assert "ROUTE" in out and "METHODS" in out


def test_routes_defaults_to_the_current_directory(tmp_path: Path) -> None:
    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 1\n")
    result = run("routes", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["route"] for r in json.loads(result.stdout)] == ["/hello"]


def test_routes_does_not_import_the_tui_or_the_runtime() -> None:
    code = (
        "import sys\n"
        "from studio.cli import main\n"
        f"sys.argv = ['funcstudio', 'routes', {str(SAMPLES / 'pages-showcase')!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})), file=sys.stderr)\n"
    )
    for command in ("routes", "check", "deps"):
        snippet = code.replace("'routes'", repr(command)).replace(", '--json'", "")
        result = subprocess.run([sys.executable, "-c", snippet], cwd=REPO, capture_output=True, text=True,
                                timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert "LOADED []" in result.stderr, (command, result.stderr[-2000:])


def test_check_exit_codes_and_format(tmp_path: Path) -> None:
    for sample in ("scf-demo", "cocobase-demo"):
        result = run("check", str(SAMPLES / sample))
        assert result.returncode == 0, (sample, result.stdout)
        assert "0 error(s)" in result.stdout
    # The showcase keeps two production failures on purpose (Django beside an ASGI entry, Cocopot
    # without the vendored shim): every request of those two functions fails when deployed.
    showcase = run("check", str(SAMPLES / "pages-showcase"), "--json")
    assert showcase.returncode == 1
    errors = {(p["code"], p["file"]) for p in json.loads(showcase.stdout) if p["severity"] == "error"}
    assert errors == {("EO-ASGI-DISPATCH-WSGI", "cloud-functions/django-site/index.py"),
                      ("CP-SHIM", "cloud-functions/pot/index.py")}
    write(tmp_path, "cloud-functions/ok.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/bad.py", "def handler(event, context:\n    return 1\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 1
    assert "cloud-functions/bad.py:1: error syntax-error" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "1 error(s)" in result.stdout.splitlines()[-1]
    as_json = run("check", str(tmp_path), "--json")
    assert as_json.returncode == 1
    problems = json.loads(as_json.stdout)
    assert problems[0]["severity"] == "error" and problems[0]["file"] == "cloud-functions/bad.py"
    assert {"severity", "code", "message", "file", "line", "hint"} <= set(problems[0])


def test_check_reports_invalid_settings_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "funcstudio.toml", 'port = 1\nquirks = "sometimes"\n')
    result = run("check", str(tmp_path))
    assert result.returncode == 1
    assert "funcstudio.toml:2: error invalid-config `quirks`" in result.stdout


def test_deps_shows_sources_and_missing(tmp_path: Path) -> None:
    result = run("deps", str(SAMPLES / "pages-showcase"))
    assert result.returncode == 0, result.stderr
    assert "werkzeug>=2.0.0" in result.stdout and "always added" in result.stdout
    write(tmp_path, "cloud-functions/index.py", "import fastapi\nfrom PIL import Image\napp = fastapi.FastAPI()\n")
    out = run("deps", str(tmp_path)).stdout
    assert "fastapi>=0.100.0" in out and "import at cloud-functions/index.py:1" in out
    assert "cloud-functions/index.py:2: EO-UNDECLARED-DEP" in out
    data = json.loads(run("deps", str(tmp_path), "--json").stdout)
    assert [m["code"] for m in data["missing"]] == ["EO-UNDECLARED-DEP"]
    assert data["requirements"][0] == {"line": "werkzeug>=2.0.0", "package": "werkzeug", "source": "always",
                                       "origin": ""}


def test_deps_write_keeps_user_lines(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(SAMPLES / "pages-showcase", project)
    write(project, "cloud-functions/extra.py", "import yaml\ndef handler(event, context):\n    return 1\n")
    req = project / "cloud-functions" / "requirements.txt"
    before = req.read_text(encoding="utf-8")
    result = run("deps", str(project), "--write")
    assert result.returncode == 0, result.stderr
    after = req.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert "pyyaml" in after.splitlines() and "fastapi>=0.100.0" in after.splitlines()
    assert "nothing written" in run("deps", str(project), "--write").stdout
    assert req.read_text(encoding="utf-8") == after
    assert "EO-UNDECLARED-DEP" not in run("check", str(project)).stdout


def test_deps_write_creates_the_file_the_platform_reads(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "import requests\ndef handler(event, context):\n    return 1\n")
    assert run("deps", str(tmp_path), "--write").returncode == 0
    lines = (tmp_path / "cloud-functions" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "requests>=2.28.0" in lines and "werkzeug>=2.0.0" in lines


@pytest.mark.parametrize("command", ["routes", "check", "deps"])
def test_help_explains_each_command(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "PROJECT" in result.stdout and "current directory" in result.stdout


def test_version_and_top_level_help() -> None:
    from studio import __version__

    version = run("--version")
    assert version.returncode == 0 and __version__ in version.stdout
    top = run("--help")
    assert top.returncode == 0 and "routes" in top.stdout and "check" in top.stdout and "deps" in top.stdout


@pytest.mark.parametrize("command", ["routes", "check", "deps"])
def test_missing_project_is_a_clear_error(tmp_path: Path, command: str) -> None:
    result = run(command, str(tmp_path / "no-such-project"))
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "no-such-project" in output and "does not exist" in output
    assert "Traceback" not in output


def test_bad_option_is_a_usage_error() -> None:
    result = run("routes", "--jsn")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_routes_inner_lists_a_framework_apps_own_routes(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/api/[[default]].py", "\n".join([
        "from flask import Flask",
        "app = Flask(__name__)",
        "@app.post('/items')",
        "def create():",
        "    return 'ok'",
        "",
    ]))
    write(tmp_path, "cloud-functions/plain.py", "def handler(event, context):\n    return 1\n")
    result = run("routes", str(tmp_path), "--json", "--inner", timeout=120)
    assert result.returncode == 0, result.stderr
    by_function = {r["function"]: r for r in json.loads(result.stdout)}
    inner = by_function["cloud-functions/api/[[default]]"]["inner_routes"]
    assert {"methods": ["POST"], "path": "/items"}.items() <= next(r for r in inner if r["path"] == "/items").items()
    assert "inner_routes" not in by_function["cloud-functions/plain"]


def test_deps_write_refuses_an_undecodable_requirements_file(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/index.py", "import requests\ndef handler(event, context):\n    return 1\n")
    req = tmp_path / "cloud-functions" / "requirements.txt"
    req.write_bytes(b"caf\xe9==1\n")
    result = run("deps", str(tmp_path), "--write")
    assert result.returncode == 1
    assert "cannot read cloud-functions/requirements.txt" in result.stderr and "Traceback" not in result.stderr
    assert req.read_bytes() == b"caf\xe9==1\n"


def test_check_reports_the_keymap(tmp_path: Path) -> None:
    """Issue 12 finding 9: `check` names unknown ids, keys that do not parse and collisions, with lines."""
    project = tmp_path / "p"
    shutil.copytree(SAMPLES / "pages-showcase", project, ignore=shutil.ignore_patterns(".funcstudio"))
    settings = project / "funcstudio.toml"
    settings.write_text(settings.read_text() + '\n[keymap]\n"invoke.send" = "f9"\n"view.logs" = "notakey!!"\n'
                        '"no.such" = "f12"\n')
    result = run("check", str(project), "--json")
    found = [p for p in json.loads(result.stdout) if p["code"] == "keymap"]
    lines = settings.read_text().splitlines()
    by_text = {p["message"]: p for p in found}
    assert len(found) == 3, found
    collide = next(p for m, p in by_text.items() if "collides with 'view.history'" in m)
    assert collide["file"] == "funcstudio.toml" and lines[collide["line"] - 1].startswith('"invoke.send"')
    assert any("'notakey!!' is not a key" in m for m in by_text)
    assert any("unknown binding id 'no.such'" in m for m in by_text)
    text = run("check", str(project)).stdout
    assert "warning keymap" in text

"""load_project: one Project from every platform, routes in match order, never an exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_file as write

from studio.project.loader import load_project, route_table
from studio.project.routing import Match, NoMatch


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    write(tmp_path, "cloud-functions/index.py", "def handler(event, context):\n    return 'root'\n")
    write(tmp_path, "cloud-functions/api/users/[id].py", "def handler(event, context):\n    return 'u'\n")
    write(tmp_path, "cloud-functions/api/[[default]].py", "def handler(event, context):\n    return 'c'\n")
    write(tmp_path, "cloud-functions/api/util.py", "X = 1\n")
    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 'hi'\n")
    write(tmp_path, "cocobase/send-otp.py", "def main():\n    return 1\n")
    write(tmp_path, "funcstudio.toml", '[functions."hello"]\ntimeout_s = 9\n[env]\nA = "1"\n')
    return tmp_path


def test_every_platform_in_one_project(mixed: Path) -> None:
    project = load_project(mixed)
    assert project.root == mixed.resolve() and project.name == mixed.name
    ids = {fn.id: fn.platform for fn in project.functions}
    assert ids == {
        "cloud-functions/index": "edgeone",
        "cloud-functions/api/users/[id]": "edgeone",
        "cloud-functions/api/[[default]]": "edgeone",
        "hello/index": "scf",
        "cocobase/send-otp": "cocobase",
    }
    assert project.helpers == ("cloud-functions/api/util.py",)
    assert [(r.platform, r.path) for r in project.routes] == [
        ("scf", "/hello"),
        ("cocobase", "/functions/send-otp/execute"),
        ("cocobase", "/functions/local-project/func/send-otp"),
        ("edgeone", "/"),
        ("edgeone", "/api/users/:id"),
        ("edgeone", "/api/:default*"),
    ]
    hello = project.function("hello")
    assert hello is not None and hello.id == "hello/index"
    assert hello.limits.timeout_s == 9.0
    assert hello.env == {"A": "1"}
    assert project.function("send-otp").platform == "cocobase"
    assert project.errors == ()


def test_route_table_matches_platform_endpoints_before_edgeone(mixed: Path) -> None:
    table = route_table(load_project(mixed))
    hit = table.match("POST", "/hello")
    assert isinstance(hit, Match) and hit.route.function_id == "hello/index"
    user = table.match("GET", "/api/users/42")
    assert isinstance(user, Match) and user.route.function_id == "cloud-functions/api/users/[id]"
    assert isinstance(table.match("PUT", "/functions/send-otp/execute"), NoMatch)


def test_missing_folder_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    project = load_project(tmp_path / "nope")
    assert project.functions == () and project.routes == ()
    [problem] = project.problems
    assert (problem.severity, problem.code) == ("error", "missing-project")
    assert "nope" in problem.message


def test_file_instead_of_folder(tmp_path: Path) -> None:
    write(tmp_path, "x.py", "")
    [problem] = load_project(tmp_path / "x.py").problems
    assert problem.code == "missing-project"


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    [problem] = load_project(tmp_path).problems
    assert (problem.severity, problem.code) == ("error", "empty-project")


def test_project_without_functions_warns(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "hi")
    project = load_project(tmp_path)
    assert [(p.severity, p.code) for p in project.problems] == [("warning", "no-functions")]


def test_bad_files_are_named_and_the_rest_is_found(tmp_path: Path) -> None:
    write(tmp_path, "cloud-functions/ok.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/broken.py", "def handler(event, context:\n")
    write(tmp_path, "funcstudio.toml", "port = [\n")
    write(tmp_path, "serverless.yml", "component: scf\ninputs: {src: [\n")
    write(tmp_path, "cocobase/latin.py", b"def main():\n    return '\xe9'\n")
    project = load_project(tmp_path)
    assert "cloud-functions/ok" in {fn.id for fn in project.functions}
    files = {(p.file, p.code) for p in project.problems}
    assert ("cloud-functions/broken.py", "syntax-error") in files
    assert ("funcstudio.toml", "invalid-config") in files
    assert ("serverless.yml", "invalid-config") in files
    assert ("cocobase/latin.py", "not-utf8") in files


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    write(tmp_path, "svc/index.py", "def main_handler(event, context):\n    return 1\n")
    os.symlink(tmp_path / "svc", tmp_path / "svc" / "loop")
    os.symlink(tmp_path / "cloud-functions-missing", tmp_path / "dangling")
    project = load_project(tmp_path)
    assert [fn.id for fn in project.functions] == ["svc/index"]


def test_unknown_function_settings_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "funcstudio.toml", '[functions."helo"]\ntimeout_s = 1\n')
    problems = load_project(tmp_path).problems
    assert [(p.code, p.file) for p in problems] == [("invalid-config", "funcstudio.toml")]
    assert "helo" in problems[0].message


def test_load_project_with_settings_returns_the_settings_used(tmp_path: Path) -> None:
    from studio.project.loader import load_project_with_settings

    write(tmp_path, "hello/index.py", "def main_handler(event, context):\n    return 1\n")
    write(tmp_path, "funcstudio.toml", "port = 9123\n")
    project, settings = load_project_with_settings(tmp_path)
    assert settings.port == 9123 and settings.source == "funcstudio.toml"
    assert [fn.id for fn in project.functions] == ["hello/index"]
    missing, defaults = load_project_with_settings(tmp_path / "missing")
    assert missing.problems[0].code == "missing-project" and defaults.port == 8088

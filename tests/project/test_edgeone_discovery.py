"""EdgeOne Pages discovery (studio/project/edgeone.py) on projects built in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_files as project
from privilege_drop import run_unprivileged, shared_folder

from studio.project import edgeone, files
from studio.project.edgeone import analyse_source, discover_edgeone
from studio.project.settings import FunctionSettings, LimitSettings, Settings


@pytest.fixture(autouse=True)
def _fresh_caches():
    files.clear_cache()
    edgeone.clear_cache()
    yield


HANDLER_CLASS = """\
from http.server import BaseHTTPRequestHandler


class handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        self.send_response(201)
        self.end_headers()
"""
EVENT_FN = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"
WEB_FN = "def handler(request):\n    return 'hi'\n"
FLASK = "from flask import Flask\n\napp = Flask(__name__)\n\n@app.get('/health')\ndef health():\n    return 'ok'\n"
FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n"
HELPER = "def shout(s):\n    return s.upper()\n"


def scan(root: Path, settings: Settings | None = None):
    return discover_edgeone(root, settings or Settings())


def by_id(result):
    return {f.id: f for f in result.functions}


def codes(result) -> list[tuple[str, str | None]]:
    return [(p.code, p.file) for p in result.problems]


# --- entry detection and kinds ---------------------------------------------------------------


def test_showcase_project(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/index.py": HANDLER_CLASS,
        "cloud-functions/api/event.py": EVENT_FN,
        "cloud-functions/api/users/[id].py": WEB_FN,
        "cloud-functions/api/util.py": HELPER,
        "cloud-functions/flask-api/[[default]].py": FLASK,
        "cloud-functions/fast/[[default]].py": FASTAPI,
        "cloud-functions/data/catalog.json": "{}",
        "README.md": "# x",
    })
    result = scan(root)
    fns = by_id(result)
    assert set(fns) == {
        "cloud-functions/index", "cloud-functions/api/event", "cloud-functions/api/users/[id]",
        "cloud-functions/flask-api/[[default]]", "cloud-functions/fast/[[default]]",
    }
    assert result.helpers == ("cloud-functions/api/util.py",)
    assert result.problems == ()

    index = fns["cloud-functions/index"]
    assert (index.kind, index.methods, index.entry, index.code_root) == (
        "handler-class", ("GET", "POST"), "cloud-functions/index.py", "cloud-functions",
    )
    assert fns["cloud-functions/api/event"].kind == "http-function"
    users = fns["cloud-functions/api/users/[id]"]
    assert (users.kind, users.params, users.routes[0].path) == ("http-function", ("id",), "/api/users/:id")
    flask = fns["cloud-functions/flask-api/[[default]]"]
    assert (flask.kind, flask.framework, flask.catch_all, flask.methods) == ("wsgi", "flask", True, ())
    assert flask.routes[0].strip_prefix == "/flask-api"
    assert (fns["cloud-functions/fast/[[default]]"].kind, fns["cloud-functions/fast/[[default]]"].framework) == (
        "asgi", "fastapi",
    )
    assert [r.path for r in result.routes] == [
        "/api/event", "/", "/api/users/:id", "/flask-api/:default*", "/fast/:default*",
    ]
    for fn in result.functions:
        assert fn.limits.timeout_s == 30.0 and fn.limits.memory_mb is None
        assert fn.platform == "edgeone" and fn.load_problem is None


@pytest.mark.parametrize(
    ("source", "kind", "framework"),
    [
        ("from flask import Flask\napp = Flask(__name__)\n", "wsgi", "flask"),
        ("import flask\napp: flask.Flask = flask.Flask(__name__)\n", "wsgi", "flask"),
        ("from fastapi import FastAPI\napp = FastAPI()\n", "asgi", "fastapi"),
        ("from starlette.applications import Starlette\napp = Starlette()\n", "asgi", "starlette"),
        ("from sanic import Sanic\napp = Sanic('x')\n", "asgi", "sanic"),
        ("from quart import Quart\napp = Quart(__name__)\n", "asgi", "quart"),
        ("from cocopot import Cocopot\napp = Cocopot()\n", "wsgi", "cocopot"),
        ("from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
         "wsgi", "django"),
        ("from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n",
         "asgi", "django"),
        # The Django template: settings, urlpatterns, and `app` as the WSGI application.
        ("from django.urls import path\nurlpatterns = []\napp = get_wsgi_application()\n", "wsgi", "django"),
        # App built by a factory we cannot read: the imports tell.
        ("from flask import Flask\nfrom .factory import create_app\napp = create_app()\n", "wsgi", "flask"),
        ("from fastapi import FastAPI\nfrom x import make\napp = make()\n", "asgi", "fastapi"),
        # Wrapped in middleware.
        ("from flask import Flask\nfrom x import Mw\napp = Mw(Flask(__name__))\n", "wsgi", "flask"),
        # Alias of another name.
        ("from fastapi import FastAPI\napi = FastAPI()\napp = api\n", "asgi", "fastapi"),
        # Plain WSGI and ASGI callables (a `def app` alone is no entry marker; the alias is).
        ("def app(environ, start_response):\n    pass\napplication = app\n", "wsgi", None),
        ("async def app(scope, receive, send):\n    pass\napplication = app\n", "asgi", None),
        # `app` first: the Flask template's `handler` is never used (§2.4).
        ("from flask import Flask\napp = Flask(__name__)\ndef handler(event, context=None):\n    return app\n",
         "wsgi", "flask"),
        ("def handler(event, context):\n    pass\n", "http-function", None),
        ("def handler(request):\n    pass\n", "http-function", None),
        ("def Handler(event):\n    pass\n", "http-function", None),
        ("import http.server\nclass Handler(http.server.BaseHTTPRequestHandler):\n    pass\n", "handler-class", None),
        # A subclass of a project base class: the CLI's regex sees BaseHTTPRequestHandler after
        # `class handler(`, so it is a handler class (and gets its do_* methods).
        ("from api.base import JsonHandler\n"
         "class handler(JsonHandler):  # a BaseHTTPRequestHandler\n    pass\n", "handler-class", None),
    ],
)
def test_app_type_inference(source: str, kind: str, framework: str | None) -> None:
    facts = analyse_source(source)
    assert facts.is_entry
    assert (facts.kind, facts.framework) == (kind, framework)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",
        "    def handler(event):\n        pass\n",  # indented: not at the start of a line
        "apple = Flask(__name__)\n",
        "handler = lambda e: e\n",  # not a `def`/`class` marker
        "def handlers(event):\n    pass\n",
        "# app = Flask(__name__)\n",
        "def app(environ, start_response):\n    pass\n",
    ],
)
def test_non_entries(source: str) -> None:
    assert not analyse_source(source).is_entry


@pytest.mark.parametrize(
    "source",
    [
        "app = 1\n",
        "app: int = 1\n",
        "application=make()\n",
        "urlpatterns = []\n",
        "x = get_wsgi_application()\n",
        "  y = get_asgi_application ()\n",  # these two match anywhere
        "class handler(object):\n    pass\n",
    ],
)
def test_entry_markers(source: str) -> None:
    assert analyse_source(source).is_entry


def test_windows_line_endings() -> None:
    facts = analyse_source(HANDLER_CLASS.replace("\n", "\r\n"))
    assert (facts.is_entry, facts.kind, facts.methods) == (True, "handler-class", ("GET", "POST"))
    assert analyse_source(FLASK.replace("\n", "\r\n")).framework == "flask"


def test_handler_class_methods() -> None:
    src = HANDLER_CLASS + "    def do_DELETE(self):\n        pass\n"
    assert analyse_source(src).methods == ("GET", "POST", "DELETE")
    bare = "from http.server import BaseHTTPRequestHandler\nclass handler(BaseHTTPRequestHandler):\n    pass\n"
    assert analyse_source(bare).methods == ("GET",)
    # Function handlers and framework entries take every method.
    assert analyse_source(EVENT_FN).methods == ()
    assert analyse_source(FLASK).methods == ()


def test_entry_without_entry_object_is_flagged(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/urls.py": "from django.urls import path\nurlpatterns = []\n"})
    result = scan(root)
    assert [f.id for f in result.functions] == ["cloud-functions/urls"]
    assert codes(result) == [("no-entry-object", "cloud-functions/urls.py")]


# --- bad input ----------------------------------------------------------------------------------


def test_syntax_error_entry_is_listed_with_its_problem(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/api/broken.py": "def handler(event, context):\n    return {\n\n",
        "cloud-functions/api/ok.py": EVENT_FN,
    })
    result = scan(root)
    broken = by_id(result)["cloud-functions/api/broken"]
    assert broken.load_problem is not None
    assert (broken.load_problem.code, broken.load_problem.file, broken.load_problem.severity) == (
        "syntax-error", "cloud-functions/api/broken.py", "error",
    )
    assert broken.load_problem.line == 2
    assert broken.kind == "http-function" and broken.routes[0].path == "/api/broken"
    assert by_id(result)["cloud-functions/api/ok"].load_problem is None
    assert codes(result) == [("syntax-error", "cloud-functions/api/broken.py")]


def test_syntax_error_framework_entry_guesses_kind_from_text(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/[[x]].py": "from fastapi import FastAPI\napp = FastAPI(\n"})
    fn = scan(root).functions[0]
    assert (fn.kind, fn.framework, fn.load_problem.code) == ("asgi", "fastapi", "syntax-error")


def test_null_bytes_are_a_load_problem(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/n.py": b"def handler(event):\n    pass\n\x00\n"})
    fn = scan(root).functions[0]
    assert fn.load_problem is not None and fn.load_problem.code == "syntax-error"


def test_non_utf8_entry_is_still_detected_and_flagged(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/latin.py": b"def handler(event, context):\n    return '\xe9t\xe9'\n",
        "cloud-functions/helper.py": b"NAME = '\xff'\n",
        "cloud-functions/ok.py": WEB_FN,
    })
    result = scan(root)
    latin = by_id(result)["cloud-functions/latin"]
    assert latin.load_problem.code == "not-utf8" and latin.load_problem.line == 2
    assert "cloud-functions/ok" in by_id(result)
    assert result.helpers == ("cloud-functions/helper.py",)
    assert [(p.code, p.file, p.severity) for p in result.problems] == [
        ("not-utf8", "cloud-functions/helper.py", "warning"),
        ("not-utf8", "cloud-functions/latin.py", "error"),
    ]


def test_symlink_loops_are_problems_and_the_rest_is_found(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/api/ok.py": EVENT_FN})
    os.symlink("..", root / "cloud-functions" / "api" / "again")
    os.symlink("self.py", root / "cloud-functions" / "self.py")
    result = scan(root)
    assert [f.id for f in result.functions] == ["cloud-functions/api/ok"]
    assert sorted(codes(result)) == [
        ("symlink-loop", "cloud-functions/api/again"),
        ("symlink-loop", "cloud-functions/self.py"),
    ]


def test_unreadable_entry_and_folder_are_problems_and_the_rest_is_found() -> None:
    with shared_folder() as root:
        project(root, {
            "cloud-functions/api/secret.py": EVENT_FN,
            "cloud-functions/locked/inner.py": EVENT_FN,
            "cloud-functions/api/ok.py": EVENT_FN,
        })
        (root / "cloud-functions" / "api" / "secret.py").chmod(0)
        (root / "cloud-functions" / "locked").chmod(0)

        def probe():
            result = scan(root)
            return [f.id for f in result.functions], [(p.code, p.file, p.severity) for p in result.problems]

        functions, problems = run_unprivileged(probe)
    assert functions == ["cloud-functions/api/ok"]
    assert problems == [
        ("unreadable-folder", "cloud-functions/locked", "warning"),
        ("unreadable-file", "cloud-functions/api/secret.py", "error"),
    ]


def test_no_cloud_functions_folder_is_not_an_edgeone_project(tmp_path: Path) -> None:
    assert scan(tmp_path) == edgeone.EdgeOneScan()
    assert scan(tmp_path / "missing") == edgeone.EdgeOneScan()


def test_empty_or_entry_less_folder_reports_no_functions(tmp_path: Path) -> None:
    (tmp_path / "cloud-functions").mkdir()
    result = scan(tmp_path)
    assert result.functions == () and result.routes == ()
    assert [(p.severity, p.code, p.message) for p in result.problems] == [
        ("info", "no-functions", "No Python functions found"),
    ]
    project(tmp_path, {"cloud-functions/util.py": HELPER})
    result = scan(tmp_path)
    assert result.helpers == ("cloud-functions/util.py",) and codes(result) == [("no-functions", "cloud-functions")]


# --- build rules --------------------------------------------------------------------------------


def test_excluded_folders_are_routed_but_flagged(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/tests/x.py": EVENT_FN,
        "cloud-functions/scripts/util.py": HELPER,
        "cloud-functions/api/a.py": EVENT_FN,
    })
    result = scan(root)
    routes = {r.file: r for r in result.routes}
    assert routes["cloud-functions/tests/x.py"].excluded_dir is True
    assert routes["cloud-functions/tests/x.py"].path == "/tests/x"
    assert routes["cloud-functions/api/a.py"].excluded_dir is False
    assert result.helpers == ()  # scripts/ is not copied, so it is no helper either
    assert codes(result) == [("EO-EXCLUDED-DIR-ROUTE", "cloud-functions/tests/x.py")]


@pytest.mark.parametrize("name", ["json.py", "Flask.py", "requests/__init__.py", "typing.py", "HTTP/x.py"])
def test_name_conflicts_abort_the_build(tmp_path: Path, name: str) -> None:
    root = project(tmp_path, {f"cloud-functions/{name}": HELPER, "cloud-functions/index.py": EVENT_FN})
    result = scan(root)
    errors = [p for p in result.problems if p.code == "EO-NAME-CONFLICT"]
    assert len(errors) == 1 and errors[0].severity == "error"
    top = name.split("/")[0]
    assert errors[0].file == f"cloud-functions/{top}" and "File name conflict detected!" in errors[0].message


def test_name_conflicts_ignore_excluded_folders_and_other_names(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/tests/json.py": HELPER,
        "cloud-functions/venv/lib/flask/app.py": HELPER,
        "cloud-functions/jsonx.py": HELPER,
        "cloud-functions/my_requests.py": HELPER,
        "cloud-functions/index.py": EVENT_FN,
    })
    assert [p for p in scan(root).problems if p.code == "EO-NAME-CONFLICT"] == []


def test_route_conflict_keeps_the_first_file(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/api.py": EVENT_FN, "cloud-functions/api/index.py": WEB_FN})
    result = scan(root)
    # `api/` sorts before `api.py` in the scan, so the folder's index wins.
    assert [r.file for r in result.routes] == ["cloud-functions/api/index.py"]
    loser = by_id(result)["cloud-functions/api"]
    assert loser.routes == ()
    [problem] = result.problems
    assert (problem.code, problem.file) == ("route-conflict", "cloud-functions/api.py")
    assert "Only the first file will be used." in problem.message


def test_same_pattern_under_different_names_is_flagged(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/u/[id].py": WEB_FN, "cloud-functions/u/[name].py": WEB_FN})
    result = scan(root)
    assert len(result.routes) == 2
    # `/u/:name` is the longer path, so it comes first and `[id].py` is never reached.
    assert [r.file for r in result.routes] == ["cloud-functions/u/[name].py", "cloud-functions/u/[id].py"]
    assert codes(result) == [("route-conflict", "cloud-functions/u/[id].py")]


def test_framework_in_dynamic_route_is_flagged(tmp_path: Path) -> None:
    root = project(tmp_path, {
        "cloud-functions/api/[id].py": FLASK,
        "cloud-functions/ok/[[rest]].py": FLASK,
        "cloud-functions/static.py": FLASK,
    })
    result = scan(root)
    assert codes(result) == [("EO-DYNAMIC-FRAMEWORK", "cloud-functions/api/[id].py")]
    assert by_id(result)["cloud-functions/api/[id]"].routes[0].strip_prefix is None


# --- settings ------------------------------------------------------------------------------------


def test_limits_and_env_from_settings(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/a.py": EVENT_FN, "cloud-functions/b.py": EVENT_FN})
    settings = Settings(
        limits=LimitSettings(timeout_s=10, memory_mb=256),
        env={"A": "1", "B": "project"},
        functions={"cloud-functions/b": FunctionSettings(timeout_s=5, env={"B": "fn", "C": "3"})},
    )
    fns = by_id(scan(root, settings))
    a, b = fns["cloud-functions/a"], fns["cloud-functions/b"]
    assert (a.limits.timeout_s, a.limits.memory_mb, dict(a.env)) == (10.0, 256, {"A": "1", "B": "project"})
    assert (b.limits.timeout_s, b.limits.memory_mb, dict(b.env)) == (5.0, 256, {"A": "1", "B": "fn", "C": "3"})


# --- cache ---------------------------------------------------------------------------------------


def test_rescan_sees_edits_and_new_files(tmp_path: Path) -> None:
    root = project(tmp_path, {"cloud-functions/a.py": HELPER})
    assert scan(root).helpers == ("cloud-functions/a.py",)
    assert scan(root) == scan(root)  # cached scan: same answer
    (root / "cloud-functions" / "a.py").write_text(EVENT_FN + "# grown\n", encoding="utf-8")
    project(root, {"cloud-functions/b/[[x]].py": FASTAPI})
    result = scan(root)
    assert [f.id for f in result.functions] == ["cloud-functions/a", "cloud-functions/b/[[x]]"]
    assert result.helpers == ()


def test_sample_pages_showcase(samples_dir: Path) -> None:
    """Engineer C's sample: every kind is found and nothing is an error."""
    root = samples_dir / "pages-showcase"
    if not (root / "cloud-functions").is_dir():
        pytest.fail("sample_projects/pages-showcase/cloud-functions is missing")
    result = scan(root)
    kinds = {f.kind for f in result.functions}
    assert {"handler-class", "http-function", "wsgi", "asgi"} <= kinds
    assert not [p for p in result.problems if p.severity == "error"]
    assert len(result.routes) == len(result.functions)

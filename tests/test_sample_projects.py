"""The sample projects are what a new user opens first: every file compiles, every framework app
loads the way the platform loads it (cwd and sys.path = cloud-functions/) and answers a request
through its framework's own test client, and the plain handlers return what their comments say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_projects"
SHOWCASE_FUNCTIONS = SAMPLES / "pages-showcase" / "cloud-functions"

# Loads one entry file as the platform does (module name = path with "/" -> "_", no ".py") and
# sends one GET through the framework's test client. Cocopot 0.2 needs the collections ABC shim
# (RUNTIME_SPEC.md §5) on Python >= 3.10; it lives here, never in the sample.
_LOAD_AND_GET = r"""
import collections, collections.abc, importlib.util, json, os, sys, types
for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet",
              "Callable", "Iterable", "Iterator", "Hashable"):
    setattr(collections, _name, getattr(collections.abc, _name))
rel, mode, path = sys.argv[1:4]
root = os.getcwd()
sys.path.insert(0, root)
if rel.startswith("pot/"):
    import cocopot  # noqa: F401  (after the shim)
    compat = types.ModuleType("json"); compat.__dict__.update(json.__dict__)
    compat.loads = lambda s, encoding=None, **kw: json.loads(s, **kw)
    sys.modules["cocopot.request"].json = compat
name = rel[:-3].replace("/", "_")
spec = importlib.util.spec_from_file_location(name, os.path.join(root, rel))
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
if mode == "wsgi":
    from werkzeug.test import Client
    response = Client(module.app).get(path)
    status, body = response.status_code, response.get_data(as_text=True)
else:
    import warnings
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
    with TestClient(module.app) as client:
        response = client.get(path)
    status, body = response.status_code, response.text
print("RESULT " + json.dumps({"status": status, "body": body}))
"""


def _run_in_functions_dir(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=SHOWCASE_FUNCTIONS,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # no __pycache__ in the samples
    )


def _result(proc: subprocess.CompletedProcess[str]) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT ") :])


def test_every_sample_python_file_compiles():
    files = sorted(SAMPLES.rglob("*.py"))
    assert len(files) >= 20, files
    for path in files:
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")  # SyntaxError names the file and line


def test_every_sample_entry_file_says_how_to_call_it():
    for path in sorted(SAMPLES.rglob("*.py")):
        head = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert head.startswith("#"), f"{path}: start with a comment saying what it demonstrates"


@pytest.mark.parametrize(
    ("rel", "mode", "path", "expected"),
    [
        ("flask-api/[[default]].py", "wsgi", "/items/7", {"id": 7, "name": "teapot"}),
        ("fastapi-api/[[default]].py", "asgi", "/items/7", {"id": 7, "name": "teapot"}),
        ("django-site/index.py", "wsgi", "/items/3/", {"id": 3, "method": "GET"}),
        ("pot/index.py", "wsgi", "/health", {"status": "ok", "framework": "cocopot"}),
        ("sanic-app/index.py", "asgi", "/echo?q=hi", {"args": {"q": ["hi"]}}),
    ],
)
def test_framework_app_loads_and_answers(rel, mode, path, expected):
    result = _result(_run_in_functions_dir(_LOAD_AND_GET, rel, mode, path))
    assert result["status"] == 200, result
    assert json.loads(result["body"]) == expected


def test_cocopot_view_returns_text():
    result = _result(_run_in_functions_dir(_LOAD_AND_GET, "pot/index.py", "wsgi", "/hello/Ada"))
    assert result == {"status": 200, "body": "Hello, Ada, from Cocopot!"}


_CALL_HANDLERS = r"""
import importlib.util, json, os, sys, traceback
sys.path.insert(0, os.getcwd())

def load(rel):
    spec = importlib.util.spec_from_file_location(rel[:-3].replace("/", "_"), rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def event(path, query=None, params=None):
    return {"httpMethod": "GET", "path": path, "queryStringParameters": query, "headers": {},
            "body": "", "isBase64Encoded": False, "pathParameters": params}

class Request:
    def __init__(self, params):
        self.params, self.headers, self.method = params, {"user-agent": "test"}, "GET"

out = {}
out["event"] = load("api/event.py").handler(event("/api/event", {"tag": ["a", "b"]}), {})
out["shop"] = load("api/shop/[category]/[item].py").handler(
    event("/api/shop/books/dune", params={"category": "books", "item": "dune"}), {})
out["user"] = load("api/users/[id].py").handler(Request({"id": "42"}))
out["missing_user"] = load("api/users/[id].py").handler(Request({"id": "404"}))
out["plain"] = load("api/plain-dict.py").handler(event("/api/plain-dict"), {})
try:
    load("api/boom.py").handler(event("/api/boom"), {})
except ValueError:
    out["boom"] = [frame.name for frame in traceback.extract_tb(sys.exc_info()[2])]
print("RESULT " + json.dumps(out))
"""


def test_plain_handlers_return_platform_envelopes():
    out = _result(_run_in_functions_dir(_CALL_HANDLERS))
    assert out["event"]["statusCode"] == 200
    assert json.loads(out["event"]["body"])["query"] == {"tag": ["a", "b"]}
    assert json.loads(out["shop"]["body"])["item"] == {"title": "Dune", "price": 9.99}
    assert json.loads(out["user"]["body"])["user"]["name"] == "Ada Lovelace"
    assert out["missing_user"]["statusCode"] == 404
    assert "statusCode" not in out["plain"]  # the quirk this file demonstrates
    assert out["boom"][-2:] == ["handler", "parse_quantity"]  # the trace crosses into the helper


def test_framework_entries_avoid_names_that_abort_the_build():
    # RUNTIME_SPEC.md §2.1: a file or folder named like a well-known package aborts the build.
    blocked = {"fastapi", "flask", "django", "starlette", "uvicorn", "json", "logging", "http", "email"}
    for path in SHOWCASE_FUNCTIONS.rglob("*"):
        assert path.stem.lower() not in blocked, path


@pytest.mark.parametrize("sample", ["pages-showcase", "scf-demo", "cocobase-demo"])
def test_sample_settings_load_without_problems(sample):
    from studio.project.settings import load_settings

    settings, problems = load_settings(SAMPLES / sample)
    assert problems == ()
    assert settings.quirks == "platform"  # samples keep the platform's behaviour


def test_scf_demo_declares_an_api_and_a_timer_function():
    import yaml

    config = yaml.safe_load((SAMPLES / "scf-demo" / "serverless.yml").read_text(encoding="utf-8"))
    events = {name: block["inputs"]["events"] for name, block in config.items()}
    assert events["hello"][0]["apigw"]["parameters"]["endpoints"][0]["function"]["isIntegratedResponse"]
    assert events["tick"][0]["timer"]["parameters"]["cronExpression"] == "0 */5 * * * * *"
    convention = (SAMPLES / "scf-demo" / "echo" / "index.py").read_text(encoding="utf-8")
    assert "\ndef main_handler(event, context):" in convention


def test_cocobase_seed_has_users_and_collections():
    seed = json.loads((SAMPLES / "cocobase-demo" / "seed.json").read_text(encoding="utf-8"))
    assert {user["token"] for user in seed["users"]} == {"demo-token-ada", "demo-token-admin"}
    skus = {doc["sku"] for doc in seed["collections"]["products"]}
    assert "BK-001" in skus  # the sku the product-page and create-order examples use


def _routes_json(sample: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "routes", str(SAMPLES / sample), "--json"],
        cwd=SAMPLES.parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_pages_showcase_routes_in_platform_order_with_every_kind():
    # RUNTIME_SPEC.md §2.3: static before dynamic, non-catch-all before catch-all, longer path
    # first, ties in alphabetical scan order. The walk-through in each file's comment relies on it.
    routes = [(r["route"], r["kind"], r["framework"]) for r in _routes_json("pages-showcase")]
    assert routes == [
        ("/api/plain-dict", "http-function", None),
        ("/api/users/list", "http-function", None),
        ("/django-site", "wsgi", "django"),
        ("/api/event", "http-function", None),
        ("/api/hello", "handler-class", None),
        ("/sanic-app", "asgi", "sanic"),
        ("/api/boom", "http-function", None),
        ("/api/logs", "http-function", None),
        ("/pot", "wsgi", "cocopot"),
        ("/", "handler-class", None),
        ("/api/shop/:category/:item", "http-function", None),
        ("/api/users/:id", "http-function", None),
        ("/fastapi-api/:default*", "asgi", "fastapi"),
        ("/flask-api/:default*", "wsgi", "flask"),
    ]


def test_scf_and_cocobase_samples_expose_their_functions():
    scf = {(r["route"], r["function"]) for r in _routes_json("scf-demo")}
    assert scf == {("/hello", "hello/index"), ("/echo", "echo/index")}  # tick has no HTTP route
    cocobase = {r["route"] for r in _routes_json("cocobase-demo")}
    for name in ("hello", "products", "create-order", "product-page", "send-receipt", "status"):
        assert f"/functions/{name}/execute" in cocobase

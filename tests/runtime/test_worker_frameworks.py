"""WSGI and ASGI framework entries in real instances: prefix stripping, inner routes, lifespan, Cocopot."""

from __future__ import annotations

import json

import pytest
from worker_helpers import header, http, invoke, spawn, warning_ids

from studio.runtime.instance import InstanceFactory


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory(["flask", "fastapi", "django", "cocopot"])
    yield factory
    factory.close()


FLASK_APP = """
from flask import Flask, request, jsonify
app = Flask(__name__)

@app.get("/health")
def health():
    return jsonify(path=request.path, root=request.script_root, ua=request.headers.get("User-Agent"))

@app.post("/echo")
def echo():
    return request.get_data(), 200, {"Content-Type": "application/octet-stream"}

@app.get("/boom")
def boom():
    secret = "local value"
    raise RuntimeError("flask boom")
"""


def framework_request(path, method="GET", **kw):
    return http(
        path,
        method,
        route_path="/api/:default*",
        params={"default": path[5:]},
        strip_prefix="/api",
        catch_all=True,
        is_framework=True,
        **kw,
    )


def test_flask_catch_all_is_prefix_stripped(factory, tmp_path):
    instance = spawn(
        factory,
        tmp_path,
        {"cloud-functions/api/[[default]].py": FLASK_APP},
        "api/[[default]].py",
        kind="wsgi",
    )
    assert (instance.kind, instance.framework) == ("wsgi", "flask")
    assert {"methods": ["GET"], "path": "/health", "name": "health"} in instance.inner_routes
    result, logs = invoke(instance, framework_request("/api/health"))
    assert result.status == 200
    assert json.loads(result.body) == {"path": "/health", "root": "/api", "ua": "pytest"}
    assert header(result, "eo-pages-inner-scf-status") == "200"
    assert "CP-SHIM" not in warning_ids(result)  # cocopot is preloaded, but this function does not use it
    binary = bytes(range(256))
    echoed, _ = invoke(instance, framework_request("/api/echo", "POST"), binary)
    assert echoed.status == 200 and echoed.body == binary
    failed, logs = invoke(instance, framework_request("/api/boom"))
    assert failed.status == 500 and b"Internal Server Error" in failed.body
    assert failed.error is not None and failed.error.type == "RuntimeError"
    boom = [f for f in failed.error.frames if f.function == "boom"][0]
    assert boom.is_user and boom.locals["secret"] == "'local value'"
    assert any(level == "ERROR" for _s, level, _t, _x in logs)
    instance.kill("shutdown")


def test_dynamic_framework_route_is_not_stripped(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/api/[id].py": FLASK_APP}, "api/[id].py")
    result, _ = invoke(
        instance, http("/api/health", route_path="/api/:id", params={"id": "health"}, is_framework=True)
    )
    assert result.status == 404  # the app sees /api/health, which it does not declare
    instance.kill("shutdown")


def test_root_index_framework_answers_only_slash(factory, tmp_path):
    source = FLASK_APP + "\n@app.get('/')\ndef root():\n    return 'root'\n"
    instance = spawn(factory, tmp_path, {"cloud-functions/index.py": source}, "index.py")
    root, _ = invoke(instance, http("/", route_path="/", strip_prefix="", is_framework=True))
    assert (root.status, root.body) == (200, b"root")
    deeper, _ = invoke(instance, http("/health", route_path="/", strip_prefix="", is_framework=True))
    assert deeper.status == 404 and "EO-ROOT-FRAMEWORK" in warning_ids(deeper)
    instance.kill("shutdown")
    fixed = spawn(factory, tmp_path, {"cloud-functions/index.py": source}, "index.py", quirks="fixed")
    deeper, _ = invoke(fixed, http("/health", route_path="/", strip_prefix="", is_framework=True))
    assert deeper.status == 200 and json.loads(deeper.body)["path"] == "/health"
    fixed.kill("shutdown")


FASTAPI_APP = """
from contextlib import asynccontextmanager
from fastapi import FastAPI, Request

events = []

@asynccontextmanager
async def lifespan(app):
    events.append("startup")
    print("lifespan startup")
    yield {"token": "from-lifespan"}
    import os
    if os.environ.get("SHUTDOWN_MARK"):
        with open(os.environ["SHUTDOWN_MARK"], "w") as mark:
            mark.write("shut down")

app = FastAPI(lifespan=lifespan)

@app.get("/health")
async def health(request: Request):
    return {"path": request.url.path, "root": request.scope["root_path"], "events": events,
            "state": request.state.token, "ua": request.headers["user-agent"]}

@app.post("/bin")
async def binary(request: Request):
    from fastapi.responses import Response
    return Response(await request.body(), media_type="application/octet-stream")

@app.get("/boom")
async def boom():
    raise ValueError("fastapi boom")
"""


def test_fastapi_with_lifespan_and_prefix_stripping(factory, tmp_path):
    mark = tmp_path / "shutdown.txt"
    instance = spawn(
        factory,
        tmp_path,
        {"cloud-functions/api/[[default]].py": FASTAPI_APP},
        "api/[[default]].py",
        env={"SHUTDOWN_MARK": str(mark)},
    )
    assert (instance.kind, instance.framework) == ("asgi", "fastapi")
    assert any(r["path"] == "/health" and r["methods"] == ["GET"] for r in instance.inner_routes)
    result, logs = invoke(instance, framework_request("/api/health", dispatcher="asgi"))
    assert result.status == 200
    data = json.loads(result.body)
    assert data == {
        "path": "/health",
        "root": "/api",
        "events": ["startup"],
        "state": "from-lifespan",
        "ua": "pytest",
    }
    assert "lifespan startup" in logs.texts("stdout")  # load output reaches the first invocation
    binary = bytes(range(256)) * 4
    echoed, _ = invoke(instance, framework_request("/api/bin", "POST", dispatcher="asgi"), binary)
    assert echoed.body == binary
    failed, _ = invoke(instance, framework_request("/api/boom", dispatcher="asgi"))
    assert failed.status == 500 and failed.error.type == "ValueError"
    assert not mark.exists()
    instance.kill("shutdown")
    assert instance.exit_code == 0 and mark.read_text() == "shut down"  # lifespan shutdown ran


def test_asgi_slash_redirect_goes_to_the_internal_host(factory, tmp_path):
    instance = spawn(
        factory, tmp_path, {"cloud-functions/api/[[default]].py": FASTAPI_APP}, "api/[[default]].py"
    )
    redirected, _ = invoke(instance, framework_request("/api/health/", dispatcher="asgi"))
    assert redirected.status == 307 and header(redirected, "Location") == "http://127.0.0.1:9000/health"
    assert "EO-SLASH-REDIRECT" in warning_ids(redirected)
    single, _ = invoke(instance, framework_request("/api/health/", dispatcher="asgi", asgi_single=True))
    assert single.status == 404  # uvicorn serves a lone ASGI route with redirect_slashes off
    instance.kill("shutdown")
    fixed = spawn(
        factory,
        tmp_path,
        {"cloud-functions/api/[[default]].py": FASTAPI_APP},
        "api/[[default]].py",
        quirks="fixed",
    )
    redirected, _ = invoke(fixed, framework_request("/api/health/", dispatcher="asgi"))
    assert header(redirected, "Location") == "http://localhost:8088/api/health"
    fixed.kill("shutdown")


DJANGO_APP = """
import os
from django.conf import settings
settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="x",
                   MIDDLEWARE=[])
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

def health(request):
    return JsonResponse({"path": request.path, "path_info": request.path_info})

urlpatterns = [path("health", health, name="health")]
app = get_wsgi_application()
"""


def test_django_wsgi_and_the_asgi_dispatcher_failure(factory, tmp_path):
    instance = spawn(
        factory, tmp_path, {"cloud-functions/api/[[default]].py": DJANGO_APP}, "api/[[default]].py"
    )
    assert (instance.kind, instance.framework) == ("wsgi", "django")
    assert instance.inner_routes == [{"methods": [], "path": "/health", "name": "health"}]
    result, _ = invoke(instance, framework_request("/api/health"))
    assert result.status == 200
    assert json.loads(result.body) == {"path": "/api/health", "path_info": "/health"}
    under_asgi, _ = invoke(instance, framework_request("/api/health", dispatcher="asgi"))
    assert under_asgi.status == 500
    assert under_asgi.body.startswith(b"WSGI error in ASGI dispatcher: Expected ASGI message")
    assert "EO-ASGI-DISPATCH-WSGI" in warning_ids(under_asgi)
    instance.kill("shutdown")


SANIC_APP = """
from sanic import Sanic
from sanic.response import json as sanic_json

app = Sanic("showcase_sanic")

@app.get("/health")
async def health(request):
    return sanic_json({"path": request.path})
"""


def test_sanic_asgi(factory, tmp_path):
    instance = spawn(
        factory, tmp_path, {"cloud-functions/api/[[default]].py": SANIC_APP}, "api/[[default]].py"
    )
    assert instance.load_error is None, instance.load_error
    assert (instance.kind, instance.framework) == ("asgi", "sanic")
    result, _ = invoke(instance, framework_request("/api/health", dispatcher="asgi"))
    assert result.status == 200, result.body
    assert json.loads(result.body)["path"] == "/health"
    assert any(r["path"] == "/health" for r in instance.inner_routes)
    instance.kill("shutdown")


COCOPOT_APP = """
from cocopot import Cocopot, request, make_response

app = Cocopot()
torn_down = []

@app.route("/health")
def health():
    return "ok " + request.method

@app.route("/only-post", methods=["POST"])
def only_post():
    return "posted"

@app.route("/json", methods=["GET", "POST"])
def got_json():
    import json
    return make_response(json.dumps({"got": request.json, "m": request.method}), 200,
                         {"Content-Type": "application/json"})

@app.route("/tuple")
def tuple_view():
    return "made", 201

@app.route("/fail")
def fail():
    raise KeyError("k")

@app.route("/torn")
def torn():
    return make_response(repr(torn_down[-1:]))

@app.errorhandler(404)
def missing(e):
    return "custom missing"

@app.errorhandler(KeyError)
def key_error(e):
    return make_response("handled", 400)

@app.teardown_request
def teardown(exc):
    torn_down.append(repr(exc))
"""


def cocopot_request(path, method="GET", **kw):
    return http(path, method, route_path="/py", strip_prefix="/py", is_framework=True, **kw)


def test_cocopot_through_the_shim_with_its_bugs(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/py.py": COCOPOT_APP}, "py.py")
    assert instance.load_error is None, instance.load_error
    assert (instance.kind, instance.framework) == ("wsgi", "cocopot")
    assert {"methods": ["GET"], "path": "/health", "name": "health"} in instance.inner_routes
    ok, _ = invoke(instance, cocopot_request("/py/health"))
    assert (ok.status, ok.body) == (200, b"ok GET") and "CP-SHIM" in warning_ids(ok)
    delete, _ = invoke(instance, cocopot_request("/py/health", "DELETE"))  # bug 1: GET route takes DELETE
    assert (delete.status, delete.body) == (200, b"ok DELETE") and "CP-METHOD-IGNORED" in warning_ids(delete)
    post, _ = invoke(instance, cocopot_request("/py/only-post", "POST"))  # bug 1+2: always 405, bad Allow
    assert post.status == 405 and header(post, "Allow").startswith("M, e, t, h, o, d")
    assert "CP-ALLOW-HEADER" in warning_ids(post)
    posted_json, _ = invoke(
        instance,
        cocopot_request("/py/json", "POST", headers=[("Host", "x"), ("Content-Type", "application/json")]),
        b'{"k": "v"}',
    )
    assert posted_json.status == 200 and json.loads(posted_json.body) == {"got": {"k": "v"}, "m": "POST"}
    tup, _ = invoke(instance, cocopot_request("/py/tuple"))  # bug 3
    assert tup.status == 500 and "CP-TUPLE-RETURN" in warning_ids(tup)
    missing, _ = invoke(instance, cocopot_request("/py/nowhere"))  # bug 4
    assert (missing.status, missing.body) == (200, b"custom missing")
    assert "CP-ERRHANDLER-STATUS" in warning_ids(missing)
    handled, _ = invoke(instance, cocopot_request("/py/fail"))  # bug 5
    assert handled.status == 400 and "CP-TEARDOWN-NONE" in warning_ids(handled)
    torn, _ = invoke(instance, cocopot_request("/py/torn"))
    assert torn.body == b'["None"]' or torn.body == b"['None']"
    instance.kill("shutdown")


def test_cocopot_fixed_mode_patches_the_bugs(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/py.py": COCOPOT_APP}, "py.py", quirks="fixed")
    delete, _ = invoke(instance, cocopot_request("/py/health", "DELETE"))
    assert delete.status == 405 and header(delete, "Allow") == "GET"
    post, _ = invoke(instance, cocopot_request("/py/only-post", "POST"))
    assert (post.status, post.body) == (200, b"posted")
    tup, _ = invoke(instance, cocopot_request("/py/tuple"))
    assert (tup.status, tup.body) == (201, b"made")
    missing, _ = invoke(instance, cocopot_request("/py/nowhere"))
    assert missing.status == 404
    invoke(instance, cocopot_request("/py/fail"))
    torn, _ = invoke(instance, cocopot_request("/py/torn"))
    assert b"KeyError" in torn.body
    instance.kill("shutdown")


def test_plain_wsgi_callable(factory, tmp_path):
    source = """
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Multi", "1"), ("X-Multi", "2")])
        return [environ["PATH_INFO"].encode(), b"|", environ["SCRIPT_NAME"].encode()]
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/w.py": source}, "w.py")
    assert instance.kind == "wsgi" and instance.framework is None
    result, _ = invoke(instance, http("/w/a/b", route_path="/w", strip_prefix="/w", is_framework=True))
    assert result.body == b"/a/b|/w"
    assert [v for k, v in result.headers if k == "X-Multi"] == ["1", "2"]
    instance.kill("shutdown")


def test_lone_asgi_route_retries_a_404_with_a_slash(factory, tmp_path):
    source = FASTAPI_APP + '\n@app.get("/items/")\nasync def items():\n    return ["a"]\n'
    instance = spawn(factory, tmp_path, {"cloud-functions/api/[[default]].py": source}, "api/[[default]].py")
    single, _ = invoke(instance, framework_request("/api/items", dispatcher="asgi", asgi_single=True))
    assert (single.status, json.loads(single.body)) == (200, ["a"])
    shared, _ = invoke(instance, framework_request("/api/items", dispatcher="asgi"))
    assert shared.status == 307  # the app's own slash redirect, as under the ASGI dispatcher
    assert header(shared, "Location") == "http://127.0.0.1:9000/items/"
    instance.kill("shutdown")


def test_django_asgi_application_without_lifespan_support(factory, tmp_path):
    source = DJANGO_APP.replace(
        "from django.core.wsgi import get_wsgi_application", "from django.core.asgi import get_asgi_application"
    ).replace("app = get_wsgi_application()", "application = get_asgi_application()")
    instance = spawn(factory, tmp_path, {"cloud-functions/api/[[default]].py": source}, "api/[[default]].py")
    assert instance.load_error is None  # Django refuses lifespan; like uvicorn, the app still loads
    assert (instance.kind, instance.framework) == ("asgi", "django")
    result, _ = invoke(instance, framework_request("/api/health", dispatcher="asgi"))
    assert result.status == 200 and json.loads(result.body)["path_info"] == "/health"
    instance.kill("shutdown")

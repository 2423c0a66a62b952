"""CocoBase functions through the real runtime: envelope, request, db, render, outbox, sandbox, limits."""

from __future__ import annotations

import http.client
import json
import textwrap
from pathlib import Path

import pytest

FUNCTIONS = {
    "hello": '''
        def main():
            print("hi", request.get("name", "world"))
            return {"name": request.get("name", "world"), "method": request.method, "project": env.project_id,
                    "runtime": env.runtime, "q": request.query_params, "ua": request.headers.get("user-agent"),
                    "now_is_class": datetime.now().year > 2000 and timedelta(minutes=5).seconds == 300,
                    "ts": request.timestamp, "proj": request.proj}
    ''',
    "status": 'result = {"ok": True, "static": env.static_base_url}\n',
    "tuple": 'def main():\n    return {"error": "Unauthorized"}, 401, {"WWW-Authenticate": "Bearer"}\n',
    "page": '''
        def main():
            return render.render_html("<a href='{{ static('x.css') }}'>{{ name }}</a>", {"name": request.get("n")})
    ''',
    "evil": '''
        def main():
            return render.render_html("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    ''',
    "boom": 'def main():\n    print("before")\n    raise ValueError("bad thing")\n',
    "dt": 'def main():\n    return datetime.datetime.now().isoformat()\n',
    "imp": 'import os\n\ndef main():\n    return os.sep\n',
    "io": 'def main():\n    with open(__file__ + ".txt", "w") as f:\n        return f.write("x") == 1\n',
    "mail": '''
        async def main():
            sent = request.send_mail(to="a@example.com", subject="Hi", body="<b>x</b>")
            other = await email.send_email(["b@example.com"], "Welcome", "hello")
            return {"sent": sent["success"], "other": other["success"]}
    ''',
    "whoami": '''
        def main():
            user = request.user
            if user is None:
                return {"error": "Unauthorized"}, 401
            return {"id": user.id, "email": user.email, "roles": user.roles, "admin": user.is_admin}
    ''',
    "notes": '''
        def main():
            if request.method == "POST":
                return db.create_document("notes", request.json())
            return db.query("notes", sort="n", order="desc", **{k: v for k, v in request.query_params.items()})
    ''',
    "net": 'import socket\n\ndef main():\n    with socket.create_connection(("127.0.0.1", int(request.get("port")))):\n        return True\n',
    "slow": 'import time as t\n\ndef main():\n    t.sleep(30)\n',
}

TOML = '''
[cocobase]
project_id = "proj-x"
error_status = 503

[functions."cocobase/slow"]
timeout_s = 1
'''


def make_project(root: Path, toml: str = TOML, functions: dict = FUNCTIONS) -> Path:
    (root / "cocobase").mkdir(parents=True)
    (root / "funcstudio.toml").write_text(toml)
    for name, text in functions.items():
        (root / "cocobase" / f"{name}.py").write_text(textwrap.dedent(text).lstrip())
    return root


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def record_of(runtime, headers):
    status, _, body = call(runtime.port, "GET", f"/__funcstudio/invocations/{headers['x-funcstudio-request-id']}")
    assert status == 200
    return json.loads(body)


@pytest.fixture(scope="module")
def cb(tmp_path_factory):
    from studio.runtime.server import Runtime
    from studio.runtime.worker.cocobase_db import Database

    root = make_project(tmp_path_factory.mktemp("cbproj"))
    (root / ".funcstudio").mkdir()
    db = Database(str(root / ".funcstudio" / "cocobase.db"))
    db.seed({"users": [{"id": "u1", "email": "ada@example.com", "token": "tok-ada", "roles": ["admin"]}]})
    db.close()
    runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
    runtime.start()
    yield runtime
    runtime.stop()


def test_get_envelope_with_output_and_injected_names(cb):
    status, headers, body = call(cb.port, "GET", "/functions/hello/execute?name=Ada", headers={"User-Agent": "UA"})
    env = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert list(env) == ["success", "result", "output", "error", "execution_time"]
    assert env["success"] is True and env["error"] is None and env["output"] == "hi Ada\n"
    result = env["result"]
    assert result["name"] == "Ada" and result["method"] == "GET" and result["q"] == {"name": "Ada"}
    assert result["project"] == "proj-x" and result["proj"] == "proj-x" and result["runtime"] == "python3.10"
    assert result["ua"] == "UA" and result["now_is_class"] is True and result["ts"].endswith("Z")
    assert isinstance(env["execution_time"], float) and env["execution_time"] < 20


def test_post_payload_and_the_sdk_route(cb):
    _, _, body = call(cb.port, "POST", "/functions/hello/execute", body=b'{"name": "Bob"}',
                      headers={"Content-Type": "application/json"})
    assert json.loads(body)["result"]["name"] == "Bob"
    _, _, body = call(cb.port, "POST", "/functions/proj-x/func/hello", body=b'{"payload": {"name": "Sdk"}}',
                      headers={"Content-Type": "application/json", "Authorization": "Bearer tok-ada"})
    assert json.loads(body)["result"]["name"] == "Sdk"


def test_module_level_result(cb):
    _, _, body = call(cb.port, "GET", "/functions/status/execute")
    assert json.loads(body)["result"] == {"ok": True, "static": "https://storage/projects/proj-x/static"}


def test_tuple_return_sets_the_status_inside_the_envelope(cb):
    status, headers, body = call(cb.port, "GET", "/functions/tuple/execute")
    assert status == 401 and json.loads(body)["result"] == {"error": "Unauthorized"}
    assert headers["www-authenticate"] == "Bearer"
    assert "CB-TUPLE" in {w["id"] for w in record_of(cb, headers)["warnings"]}


def test_render_html_is_raw_html_with_static(cb):
    status, headers, body = call(cb.port, "GET", "/functions/page/execute?n=<b>")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body.decode() == "<a href='https://storage/projects/proj-x/static/x.css'><b></a>"


def test_sandboxed_templates_cannot_reach_python_internals(cb):
    status, _, body = call(cb.port, "GET", "/functions/evil/execute")
    env = json.loads(body)
    assert status == 503 and env["success"] is False and "unsafe" in env["error"]
    assert "subclasses" not in body.decode().split('"error"')[0]


def test_uncaught_error_envelope_keeps_output(cb):
    status, headers, body = call(cb.port, "GET", "/functions/boom/execute")
    env = json.loads(body)
    assert status == 503
    assert env == {"success": False, "result": None, "output": "before\n", "error": "bad thing",
                   "execution_time": env["execution_time"]}
    record = record_of(cb, headers)
    assert record["error"]["type"] == "ValueError" and "CB-ERROR-STATUS" in {w["id"] for w in record["warnings"]}


def test_datetime_is_the_class(cb):
    status, headers, body = call(cb.port, "GET", "/functions/dt/execute")
    assert status == 503 and "has no attribute 'datetime'" in json.loads(body)["error"]
    assert "CB-DATETIME-CLASS" in {w["id"] for w in record_of(cb, headers)["warnings"]}


@pytest.mark.parametrize("name, ids", [("imp", {"CB-IMPORT"}), ("io", {"CB-BUILTIN", "CB-SANDBOX-IO"})])
def test_sandbox_escapes_work_locally_with_a_warning(cb, name, ids):
    status, headers, body = call(cb.port, "GET", f"/functions/{name}/execute")
    assert status == 200 and json.loads(body)["success"] is True
    assert ids <= {w["id"] for w in record_of(cb, headers)["warnings"]}


def test_socket_connect_warns(cb):
    status, headers, body = call(cb.port, "GET", f"/functions/net/execute?port={cb.port}")
    assert status == 200 and json.loads(body)["result"] is True
    assert {"CB-IMPORT", "CB-SANDBOX-IO"} <= {w["id"] for w in record_of(cb, headers)["warnings"]}


def test_mail_goes_to_the_outbox(cb):
    record, _logs = cb.invoke_function("mail", {})
    assert json.loads(record.response_body)["result"] == {"sent": True, "other": True}
    assert [(m["to"], m["subject"]) for m in record.outbox] == [(["a@example.com"], "Hi"), (["b@example.com"], "Welcome")]


def test_request_user_from_bearer_token(cb):
    status, _, body = call(cb.port, "GET", "/functions/whoami/execute", headers={"Authorization": "Bearer tok-ada"})
    assert status == 200
    assert json.loads(body)["result"] == {"id": "u1", "email": "ada@example.com", "roles": ["admin"], "admin": True}
    status, _, _ = call(cb.port, "GET", "/functions/whoami/execute", headers={"Authorization": "Bearer wrong"})
    assert status == 401


def test_db_is_shared_and_persistent(cb):
    for n in (1, 2, 3):
        status, _, _ = call(cb.port, "POST", "/functions/notes/execute", body=json.dumps({"n": n}).encode())
        assert status == 200
    _, _, body = call(cb.port, "GET", "/functions/notes/execute?n_gte=2")
    page = json.loads(body)["result"]
    assert [d["n"] for d in page["data"]] == [3, 2] and page["total"] == 2
    _, _, body = call(cb.port, "GET", "/functions/notes/execute?n_between=1")
    assert "unknown filter operator 'between'" in json.loads(body)["error"]


def test_timeout_envelope(cb):
    status, _, body = call(cb.port, "GET", "/functions/slow/execute")
    env = json.loads(body)
    assert status == 503 and env["success"] is False
    assert env["error"] == "Execution timed out after 1 seconds"


def test_strict_mode_blocks_like_the_platform(tmp_path):
    from studio.runtime.server import Runtime

    root = make_project(tmp_path, '[cocobase]\nstrict = true\n',
                        {"imp": FUNCTIONS["imp"], "io": FUNCTIONS["io"], "hello": FUNCTIONS["hello"]})
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as runtime:
        _, _, body = call(runtime.port, "GET", "/functions/imp/execute")
        assert json.loads(body)["error"] == "Import of 'os' is not allowed"
        _, _, body = call(runtime.port, "GET", "/functions/io/execute")
        assert json.loads(body)["error"] == "name 'open' is not defined"
        status, _, _ = call(runtime.port, "GET", "/functions/hello/execute")
        assert status == 200

"""EdgeOne function handlers and handler classes in real worker instances (RUNTIME_SPEC.md §2.5-§2.9)."""

from __future__ import annotations

import json

import pytest
from worker_helpers import header, http, invoke, spawn, warning_ids

from studio.runtime.instance import InstanceFactory


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory(["flask"])
    yield factory
    factory.close()


EVENT_ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": {"event": event, "context": context}}
"""


def test_event_shape_matches_the_platform(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/api/users/[id].py": EVENT_ECHO}, "api/users/[id].py")
    assert instance.load_error is None and instance.kind == "http-function"
    request = http("/api/users/42", query="a=1&a=2&b=3", headers=[("Host", "localhost"), ("x-t", "v")],
                   route_path="/api/users/:id", params={"id": "42"})
    result, _ = invoke(instance, request)
    assert result.status == 200
    assert header(result, "Content-Type") == "application/json; charset=utf-8"
    event = json.loads(result.body)["event"]
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/api/users/42"
    assert event["queryStringParameters"] == {"a": ["1", "2"], "b": "3"}
    assert event["body"] == "" and event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"id": "42"}
    assert event["headers"]["Host"] == "localhost" and event["headers"]["X-T"] == "v"
    assert "requestContext" not in event and "queryString" not in event
    assert json.loads(result.body)["context"] == {}
    instance.kill("shutdown")


def test_empty_params_are_null_and_none_failures_are_flagged(factory, tmp_path):
    source = """
    def handler(event):
        return event["queryStringParameters"].get("q", "none")
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/api/q.py": source}, "api/q.py")
    result, _ = invoke(instance, http("/api/q"))
    assert result.status == 500
    assert result.body.startswith(b"Handler error: 'NoneType' object has no attribute 'get'\n")
    assert "EO-NULL-PARAMS" in warning_ids(result)
    assert result.error.type == "AttributeError"
    ok, _ = invoke(instance, http("/api/q", query="q=x"))
    assert (ok.status, ok.body) == (200, b"x")
    instance.kill("shutdown")


RETURNS = """
import base64
def handler(event):
    kind = (event["queryStringParameters"] or {}).get("r")
    if kind == "plain":
        return {"user": "x"}
    if kind == "str":
        return "hello"
    if kind == "bytes":
        return b"\\x00\\xff"
    if kind == "none":
        return None
    if kind == "list":
        return [1, "ü"]
    if kind == "env-text":
        return {"statusCode": 202, "headers": {"X-A": 1}, "body": "text"}
    if kind == "b64":
        return {"body": base64.b64encode(b"raw").decode(), "isBase64Encoded": True}
    if kind == "obj":
        return object()
"""


@pytest.mark.parametrize(("kind", "status", "ctype", "body"), [
    ("plain", 200, "text/html; charset=utf-8", b""),
    ("str", 200, "text/plain; charset=utf-8", b"hello"),
    ("bytes", 200, "application/octet-stream", b"\x00\xff"),
    ("none", 204, None, b""),
    ("list", 200, "application/json", '[1, "ü"]'.encode()),
    ("env-text", 202, "text/html; charset=utf-8", b"text"),
    ("b64", 200, "text/html; charset=utf-8", b"cmF3"),
])
def test_return_mapping(factory, tmp_path, kind, status, ctype, body):
    instance = spawn(factory, tmp_path, {"cloud-functions/r.py": RETURNS}, "r.py")
    result, _ = invoke(instance, http("/r", query=f"r={kind}"))
    assert (result.status, header(result, "Content-Type"), result.body) == (status, ctype, body)
    if kind == "plain":
        assert "EO-DICT-ENVELOPE" in warning_ids(result)
        assert result.return_value == '{"user": "x"}'
    if kind == "b64":
        assert "EO-B64-IGNORED" in warning_ids(result)
    if kind == "env-text":
        assert header(result, "X-A") == "1"
    instance.kill("shutdown")


def test_fixed_quirks_switch_envelope_bugs_off(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/r.py": RETURNS}, "r.py", quirks="fixed")
    plain, _ = invoke(instance, http("/r", query="r=plain"))
    assert json.loads(plain.body) == {"user": "x"} and "EO-DICT-ENVELOPE" in warning_ids(plain)
    b64, _ = invoke(instance, http("/r", query="r=b64"))
    assert b64.body == b"raw" and "EO-B64-IGNORED" in warning_ids(b64)
    instance.kill("shutdown")


def test_unserialisable_return_is_a_handler_error_with_repr(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/r.py": RETURNS}, "r.py")
    result, logs = invoke(instance, http("/r", query="r=obj"))
    assert result.status == 500
    assert result.body.startswith(b"Handler error: Object of type object is not JSON serializable")
    assert result.return_value.startswith("<object object at")
    assert any(t.startswith("Handler error:") for t in logs.texts("platform"))
    instance.kill("shutdown")


def test_injected_headers_and_platform_lines(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/r.py": RETURNS}, "r.py")
    request = http("/r", query="r=str")
    result, logs = invoke(instance, request)
    assert header(result, "eo-pages-inner-scf-status") == "200"
    assert header(result, "eo-pages-inner-status-intercept") == "false"
    assert header(result, "Functions-Request-Id") == request["request_id"]
    assert logs.texts("platform") == ["Pages request path: https://localhost:8088/r",
                                      "Pages response status: 200"]
    failed, _ = invoke(instance, http("/r", query="r=obj"))
    assert header(failed, "eo-pages-inner-status-intercept") == "true"
    instance.kill("shutdown")


def test_dev_header_mode_has_no_eo_headers(factory, tmp_path):
    source = """
    def handler(event):
        return {"body": event["headers"]}
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/h.py": source}, "h.py",
                     extra={"edgeone.headers": "dev"})
    result, logs = invoke(instance, http("/h"))
    headers = json.loads(result.body)
    assert headers["Host"] == "127.0.0.1:9100" and headers["X-Forwarded-Host"] == "localhost:8088"
    assert not any(k.lower().startswith("eo-") for k in headers)
    assert header(result, "Functions-Request-Id") is None
    assert logs.texts("platform")[0] == "Pages request path: /h"
    instance.kill("shutdown")


WEB = """
def handler(request):
    return {"statusCode": 200, "body": {
        "type": type(request).__name__, "params": request.params, "method": request.method,
        "path": request.path, "ua": request.headers.get("user-agent"),
        "data": request.get_data(as_text=True)}}
"""


def test_web_handler_gets_flask_request_under_flask_and_simple_request_under_asgi(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/api/[id].py": WEB}, "api/[id].py")
    flask_result, _ = invoke(instance, http("/api/7", "POST", params={"id": "7"}), b"payload")
    data = json.loads(flask_result.body)
    assert data == {"type": "Request", "params": {"id": "7"}, "method": "POST", "path": "/api/7",
                    "ua": "pytest", "data": "payload"}
    asgi_result, _ = invoke(instance, http("/api/7", params={"id": "7"}, dispatcher="asgi"))
    data = json.loads(asgi_result.body)
    assert data["type"] == "SimpleRequest" and data["ua"] == "pytest" and data["params"] == {"id": "7"}
    instance.kill("shutdown")


def test_header_case_follows_the_dispatcher_and_misses_are_flagged(factory, tmp_path):
    source = """
    def handler(event):
        return event["headers"].get("User-Agent") or "missing"
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/h.py": source}, "h.py")
    flask_result, _ = invoke(instance, http("/h", headers=[("user-agent", "ua")]))
    assert flask_result.body == b"ua" and "EO-HEADER-CASE" not in warning_ids(flask_result)
    asgi_result, _ = invoke(instance, http("/h", headers=[("User-Agent", "ua")], dispatcher="asgi"))
    assert asgi_result.body == b"missing" and "EO-HEADER-CASE" in warning_ids(asgi_result)
    assert "Handler error in ASGI dispatcher" not in asgi_result.body.decode()
    instance.kill("shutdown")


HANDLER_CLASS = """
from http.server import BaseHTTPRequestHandler
class handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.end_headers()
        import json
        self.wfile.write(json.dumps({"path": self.path, "command": self.command,
                                     "ua": self.headers.get("User-Agent"),
                                     "names": sorted(self.headers.keys()),
                                     "server": [self.server.server_name, self.server.server_port],
                                     "client": list(self.client_address)}).encode())
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.end_headers()
        self.wfile.write(body + b"\\xff\\xfe")
"""


def test_handler_class_request_and_response_parsing(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/api/hello.py": HANDLER_CLASS}, "api/hello.py")
    assert instance.kind == "handler-class"
    result, _ = invoke(instance, http("/api/hello/extra", query="x=1&y=2", route_path="/api/hello"))
    assert result.status == 200
    data = json.loads(result.body)
    assert data["path"] == "/api/hello/extra?x=1&y=2"
    assert data["ua"] == "pytest" and "User-Agent" in data["names"]
    assert data["server"] == ["localhost", 8088] and data["client"] == ["127.0.0.1", 0]
    cookies = [v for k, v in result.headers if k.lower() == "set-cookie"]
    assert cookies == ["b=2"] and "EO-HEADERS-COLLAPSED" in warning_ids(result)
    assert header(result, "Server").startswith("BaseHTTP/")
    posted, _ = invoke(instance, http("/api/hello", "POST"), b"ok")
    assert posted.status == 201 and posted.body == b"ok"
    assert "EO-BINARY-BODY" in warning_ids(posted)
    deleted, _ = invoke(instance, http("/api/hello", "DELETE"))
    assert (deleted.status, deleted.body) == (405, b"Method Not Allowed")
    instance.kill("shutdown")


def test_handler_class_fixed_mode_keeps_repeats_and_bytes(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/api/hello.py": HANDLER_CLASS}, "api/hello.py",
                     quirks="fixed")
    result, _ = invoke(instance, http("/api/hello"))
    assert [v for k, v in result.headers if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    posted, _ = invoke(instance, http("/api/hello", "POST"), b"ok")
    assert posted.body == b"ok\xff\xfe"
    instance.kill("shutdown")


def test_handler_class_exception_is_a_500_with_prefix(factory, tmp_path):
    source = """
    from http.server import BaseHTTPRequestHandler
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            raise ValueError("nope")
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/x.py": source}, "x.py")
    result, _ = invoke(instance, http("/x"))
    assert result.status == 500
    assert result.body.startswith(b"BaseHTTPRequestHandler error: nope\nTraceback")
    assert result.error.type == "ValueError"
    assert [f.function for f in result.error.frames if f.is_user] == ["do_GET"]
    instance.kill("shutdown")


def test_non_copied_files_are_absent_as_in_production(factory, tmp_path):
    source = """
    import os
    HERE = os.path.dirname(__file__)
    def handler(event):
        with open(os.path.join(HERE, "data.json")) as f:
            ok = f.read()
        with open(os.path.join(HERE, "page.html")) as f:
            return ok + f.read()
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/f.py": source, "cloud-functions/data.json": "{}",
                                         "cloud-functions/page.html": "<p>"}, "f.py")
    result, _ = invoke(instance, http("/f"))
    assert result.status == 500 and result.error.type == "FileNotFoundError"
    assert "EO-FILE-NOT-COPIED" in warning_ids(result)
    instance.kill("shutdown")


def test_sibling_import_fails_and_is_explained(factory, tmp_path):
    files = {"cloud-functions/api/a.py": "import util\ndef handler(event):\n    return 'x'\n",
             "cloud-functions/api/util.py": "X = 1\n"}
    instance = spawn(factory, tmp_path, files, "api/a.py")
    assert instance.load_error is not None and instance.load_error.type == "ModuleNotFoundError"
    assert "EO-SIBLING-IMPORT" in {w.id for w in instance.load_warnings}
    assert not instance.alive


def test_excluded_directory_route_answers_404(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/tests/t.py": "def handler(event):\n    return 'x'\n"},
                     "tests/t.py")
    result, logs = invoke(instance, http("/tests/t"))
    assert (result.status, result.body) == (404, b"Not Found")
    assert "EO-EXCLUDED-DIR-ROUTE" in warning_ids(result)
    assert any(t.startswith("Error loading module tests_t") for t in logs.texts("platform"))
    instance.kill("shutdown")


def test_module_name_and_sys_path_follow_production(factory, tmp_path):
    source = """
    import os, sys
    def handler(event):
        return {"body": {"name": __name__, "cwd": os.getcwd(), "path0": sys.path[0],
                         "port": os.environ["PORT"]}}
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/api/users/[id].py": source}, "api/users/[id].py")
    result, _ = invoke(instance, http("/api/users/1", params={"id": "1"}))
    data = json.loads(result.body)
    code_root = str((tmp_path / "cloud-functions").resolve())
    assert data == {"name": "api_users_[id]", "cwd": code_root, "path0": code_root, "port": "9000"}
    instance.kill("shutdown")


def test_simple_request_fields_under_the_asgi_dispatcher(factory, tmp_path):
    source = """
    def handler(request):
        return {"body": {
            "args": request.args, "qs": request.query_string.decode(), "url": request.url,
            "ctype": request.content_type, "length": request.content_length, "host": request.host,
            "json": request.get_json(), "scheme": request.scheme, "remote": request.remote_addr,
            "headers_lower": all(k == k.lower() for k in request.headers)}}
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/s.py": source}, "s.py")
    request = http("/s", "POST", query="a=1&a=2", dispatcher="asgi",
                   headers=[("Host", "example.test"), ("Content-Type", "application/json")])
    result, _ = invoke(instance, request, b'{"k": [1]}')
    assert json.loads(result.body) == {
        "args": {"a": ["1", "2"]}, "qs": "a=1&a=2", "url": "http://example.test/s?a=1&a=2",
        "ctype": "application/json", "length": 10, "host": "example.test", "json": {"k": [1]},
        "scheme": "http", "remote": "127.0.0.1", "headers_lower": True,
    }
    instance.kill("shutdown")


def test_files_in_excluded_folders_are_absent(factory, tmp_path):
    source = """
    import os
    def handler(event):
        return open(os.path.join(os.path.dirname(__file__), "scripts", "seed.json")).read()
    """
    files = {"cloud-functions/x.py": source, "cloud-functions/scripts/seed.json": "[]"}
    instance = spawn(factory, tmp_path, files, "x.py")
    result, _ = invoke(instance, http("/x"))
    assert result.status == 500 and "EO-FILE-NOT-COPIED" in warning_ids(result)
    assert "scripts/" in [w for w in result.warnings if w.id == "EO-FILE-NOT-COPIED"][0].message
    instance.kill("shutdown")


def test_module_without_an_entry_answers_404(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/n.py": "app = 5\nvalue = 1\n"}, "n.py")
    assert instance.load_error is None and instance.kind is None
    result, _ = invoke(instance, http("/n"))
    assert (result.status, result.body) == (404, b"Not Found")
    assert header(result, "Content-Type") == "text/plain"
    instance.kill("shutdown")


def test_an_entry_emptied_by_an_in_place_save_is_a_load_error_not_a_404(factory, tmp_path):
    """Discovery never routes an empty file, so an instance that loads one read it between an
    editor's truncate and its write: a load error lets the last good instance answer instead."""
    instance = spawn(factory, tmp_path, {"cloud-functions/e.py": ""}, "e.py")
    assert instance.load_error is not None and "defines nothing" in instance.load_error.message
    instance.kill("shutdown")


def test_sibling_import_inside_a_handler_is_flagged_on_the_invocation(factory, tmp_path):
    files = {
        "cloud-functions/api/b.py": "def handler(event):\n    import util\n    return 'x'\n",
        "cloud-functions/api/util.py": "X = 1\n",
    }
    instance = spawn(factory, tmp_path, files, "api/b.py")
    result, _ = invoke(instance, http("/api/b"))
    assert result.status == 500 and result.error.type == "ModuleNotFoundError"
    sibling = [w for w in result.warnings if w.id == "EO-SIBLING-IMPORT"]
    assert sibling and "from api import util" in sibling[0].fix
    instance.kill("shutdown")


def test_flask_dispatcher_rejects_methods_outside_its_rules(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/r.py": RETURNS}, "r.py")
    result, _ = invoke(instance, http("/r", "PROPFIND"))
    assert result.status == 405 and b"Method Not Allowed" in result.body
    assert header(result, "eo-pages-inner-scf-status") == "405"
    under_asgi, _ = invoke(instance, http("/r", "PROPFIND", query="r=str", dispatcher="asgi"))
    assert under_asgi.status == 200
    instance.kill("shutdown")

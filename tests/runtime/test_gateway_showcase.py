"""Every kind in sample_projects/pages-showcase through the real gateway, real workers, real HTTP."""

from __future__ import annotations

import json

import pytest
from gw_helpers import raw_request, request, serving, wait_until

from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def showcase(sample_copy):
    with serving(sample_copy("pages-showcase")) as runtime:
        yield runtime


def get(rt, path, **kw):
    return request(rt.port, kw.pop("method", "GET"), path, **kw)


def record_of(rt, reply):
    rid = reply.headers["x-funcstudio-request-id"]
    return wait_until(lambda: rt.events.finished(rid), 10)


def test_handler_class_root_lists_endpoints(showcase):
    reply = get(showcase, "/")
    assert reply.status == 200
    assert "pages-showcase" in reply.text
    assert reply.headers["x-funcstudio-request-id"]


def test_handler_class_get_keeps_full_path_and_query(showcase):
    reply = get(showcase, "/api/hello?name=Ada")
    assert reply.status == 200
    assert reply.json() == {"message": "Hello, Ada!", "path": "/api/hello?name=Ada"}


def test_handler_class_post_reads_body(showcase):
    reply = get(
        showcase,
        "/api/hello",
        method="POST",
        body=json.dumps({"name": "Grace"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 201
    assert reply.json()["received"] == {"name": "Grace"}


def test_event_handler_gets_the_platform_event(showcase):
    reply = get(showcase, "/api/event?tag=a&tag=b&x=1")
    assert reply.status == 200
    data = reply.json()
    assert data["method"] == "GET"
    assert data["path"] == "/api/event"
    assert data["query"] == {"tag": ["a", "b"], "x": "1"}


def test_dynamic_route_params_reach_handler_request(showcase):
    reply = get(showcase, "/api/users/42")
    assert reply.status == 200
    assert reply.json()["user"]["name"] == "Ada Lovelace"
    missing = get(showcase, "/api/users/999")
    assert missing.status == 404
    assert missing.json() == {"error": "no user 999"}


def test_static_route_beats_dynamic_sibling(showcase):
    reply = get(showcase, "/api/users/list")
    assert reply.json() == {"users": ["42", "7"]}
    record = record_of(showcase, reply)
    assert record.function_id == "cloud-functions/api/users/list"


def test_nested_dynamic_route(showcase):
    reply = get(showcase, "/api/shop/books/dune")
    record = record_of(showcase, reply)
    assert record.function_id == "cloud-functions/api/shop/[category]/[item]"
    assert record.params == {"category": "books", "item": "dune"}
    assert reply.status == 200
    assert reply.json()["category"] == "books"


def test_logs_are_captured_in_order_with_streams_and_levels(showcase):
    reply = get(showcase, "/api/logs?x=1")
    assert reply.status == 200
    assert reply.text == "logged 4 lines"
    record = record_of(showcase, reply)
    lines = showcase.events.logs(record.request_id)
    assert [line.seq for line in lines] == list(range(len(lines)))
    texts = [(line.stream, line.level, line.text) for line in lines]
    assert any(s == "stdout" and "handling GET /api/logs" in t for s, _l, t in texts)
    assert any(s == "logging" and lv == "WARNING" and "this is a warning" in t for s, lv, t in texts)
    assert any(s == "stderr" and "this goes to stderr" in t for s, _l, t in texts)
    assert record.log_count == len(lines)


def test_exception_is_500_with_trace_and_recorded_error(showcase):
    reply = get(showcase, "/api/boom")
    assert reply.status == 500
    assert "ValueError" in reply.text
    record = record_of(showcase, reply)
    assert record.error is not None and record.error.type == "ValueError"
    assert any(f.function == "parse_quantity" for f in record.error.frames)
    ok = get(showcase, "/api/boom?qty=3")
    assert ok.status == 200 and ok.json() == {"quantity": 3}


def test_plain_dict_quirk_warns(showcase):
    reply = get(showcase, "/api/plain-dict")
    assert reply.status == 200
    assert reply.body == b""
    record = record_of(showcase, reply)
    assert "EO-DICT-ENVELOPE" in [w.id for w in record.warnings]


def test_flask_app_sees_stripped_prefix(showcase):
    reply = get(showcase, "/flask-api/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "framework": "flask", "script_root": "/flask-api"}
    assert get(showcase, "/flask-api/items/7").json() == {"id": 7, "name": "teapot"}
    assert get(showcase, "/flask-api/items/99").status == 404


def test_fastapi_app_sees_root_path(showcase):
    reply = get(showcase, "/fastapi-api/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "framework": "fastapi", "root_path": "/fastapi-api"}
    assert get(showcase, "/fastapi-api/items/1").json() == {"id": 1, "name": "kettle"}


def test_django_app(showcase):
    reply = get(showcase, "/django-site/hello/")
    record = record_of(showcase, reply)
    assert record.function_id == "cloud-functions/django-site/index"
    # Under the project's ASGI dispatcher (FastAPI and Sanic are entries) Django fails as in production.
    assert reply.status == 500
    assert "Expected ASGI message" in reply.text
    assert "EO-ASGI-DISPATCH-WSGI" in [w.id for w in record.warnings]


def test_cocopot_app(showcase):
    reply = get(showcase, "/pot/hello/Ada")
    assert reply.status == 200
    assert reply.text == "Hello, Ada, from Cocopot!"


def test_sanic_app(showcase):
    reply = get(showcase, "/sanic-app/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "framework": "sanic"}


def test_404_and_405_are_platform_text(showcase):
    missing = get(showcase, "/nothing-here")
    assert missing.status == 404
    assert missing.body == b"Not Found"
    assert missing.headers["content-type"].startswith("text/plain")
    assert missing.headers["x-funcstudio-request-id"]
    not_allowed = get(showcase, "/", method="DELETE")
    assert not_allowed.status == 405
    assert not_allowed.body == b"Method Not Allowed"
    record = record_of(showcase, not_allowed)
    assert record.function_id is None and record.status == 405


def test_every_invocation_publishes_started_then_finished(showcase):
    reply = get(showcase, "/api/users/7")
    rid = reply.headers["x-funcstudio-request-id"]
    record_of(showcase, reply)
    kinds = [
        type(e)
        for e in showcase.events.events
        if getattr(e, "request_id", None) == rid
        or getattr(getattr(e, "record", None), "request_id", None) == rid
    ]
    assert kinds[0] is InvocationStarted
    assert kinds[-1] is InvocationFinished
    assert all(k is LogLine for k in kinds[1:-1])


def test_warm_instance_is_reused_and_code_version_is_stable(showcase):
    first = record_of(showcase, get(showcase, "/api/users/list"))
    second = record_of(showcase, get(showcase, "/api/users/list"))
    assert second.init_ms is None  # warm: no cold start
    assert first.code_version and first.code_version == second.code_version


# -- control API ---------------------------------------------------------------------------


def test_health_and_routes(showcase):
    health = get(showcase, "/__funcstudio/health")
    assert health.status == 200
    assert health.json()["status"] == "ok"
    assert health.json()["dispatcher"] == "asgi"
    assert isinstance(health.json()["instances"], list)
    routes = get(showcase, "/__funcstudio/routes").json()
    paths = [r["path"] for r in routes["routes"]]
    assert "/api/users/:id" in paths and "/flask-api/:default*" in paths


def test_control_invoke_by_id_and_lookup(showcase):
    reply = get(
        showcase,
        "/__funcstudio/functions/cloud-functions/api/event/invoke",
        method="POST",
        body=json.dumps({"httpMethod": "POST", "path": "/api/event", "body": "abc"}).encode(),
    )
    assert reply.status == 200
    data = reply.json()
    assert data["status"] == 200
    assert json.loads(data["body"])["body_length"] == 3
    assert data["request_id"] == reply.headers["x-funcstudio-request-id"]
    found = get(showcase, f"/__funcstudio/invocations/{data['request_id']}")
    assert found.status == 200
    assert found.json()["request_id"] == data["request_id"]


def test_control_invoke_event_type_answers_202_at_once(showcase):
    reply = get(
        showcase,
        "/__funcstudio/functions/cloud-functions/api/logs/invoke",
        method="POST",
        body=b"{}",
        headers={"X-Funcstudio-Invocation-Type": "Event"},
    )
    assert reply.status == 202
    rid = reply.json()["request_id"]
    record = wait_until(lambda: showcase.events.finished(rid), 30)
    assert record.trigger == "async"
    assert record.status == 200


def test_control_api_bad_input(showcase):
    unknown = get(showcase, "/__funcstudio/functions/no/such/thing/invoke", method="POST", body=b"{}")
    assert unknown.status == 404 and unknown.json()["error"] == "unknown-function"
    bad = get(
        showcase, "/__funcstudio/functions/cloud-functions/api/event/invoke", method="POST", body=b"{not json"
    )
    assert bad.status == 400 and bad.json()["error"] == "bad-event"
    bad_type = get(
        showcase,
        "/__funcstudio/functions/cloud-functions/api/event/invoke",
        method="POST",
        body=b"{}",
        headers={"X-Funcstudio-Invocation-Type": "Sometimes"},
    )
    assert bad_type.status == 400
    assert get(showcase, "/__funcstudio/invocations/nope").status == 404
    wrong_method = get(showcase, "/__funcstudio/health", method="POST")
    assert wrong_method.status == 405 and wrong_method.json()["error"] == "method-not-allowed"


# -- bad input -----------------------------------------------------------------------------


def test_foreign_host_is_refused(showcase):
    reply = get(showcase, "/api/users/42", headers={"Host": "evil.example:80"})
    assert reply.status == 403
    assert reply.json()["error"] == "host-not-allowed"
    assert get(showcase, "/api/users/42", headers={"Host": f"localhost:{showcase.port}"}).status == 200


def test_path_traversal_is_refused(showcase):
    raw = raw_request(
        showcase.port,
        b"GET /api/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Connection: close\r\n\r\n" % showcase.port,
    )
    assert raw.startswith(b"HTTP/1.1 400")
    assert b"path-traversal" in raw
    encoded = raw_request(
        showcase.port,
        b"GET /api/%%2e%%2e/boom HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % showcase.port,
    )
    assert encoded.startswith(b"HTTP/1.1 400")


def test_malformed_http_then_still_serving(showcase):
    garbage = raw_request(showcase.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.") and b" 400 " in garbage.split(b"\r\n", 1)[0]
    assert get(showcase, "/api/users/42").status == 200


def test_huge_body_is_413_and_huge_headers_refused(showcase):
    from studio.runtime.http_protocol import HttpLimits

    MAX_BODY_BYTES = HttpLimits().max_body_bytes

    raw = raw_request(
        showcase.port,
        b"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % (showcase.port, MAX_BODY_BYTES + 1),
    )
    assert raw.startswith(b"HTTP/1.1 413")
    big = "x" * 60_000
    headers = {f"X-Big-{i}": big for i in range(3)}
    reply = get(showcase, "/api/users/42", headers=headers)
    assert reply.status in (413, 431)
    assert get(showcase, "/api/users/42").status == 200


def test_binary_and_non_utf8_bodies_pass_through(showcase):
    payload = bytes(range(256)) * 4
    reply = get(
        showcase,
        "/api/event",
        method="POST",
        body=payload,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert reply.status in (200, 500)
    record = record_of(showcase, reply)
    assert record.request_body == payload
    assert get(showcase, "/api/users/7").status == 200


def test_handler_class_server_and_date_pass_through_once(showcase):
    reply = get(showcase, "/api/hello")
    names = [k.lower() for k, _v in reply.header_list]
    assert names.count("server") == 1 and names.count("date") == 1
    assert reply.headers["server"].startswith("BaseHTTP/")
    plain = get(showcase, "/api/users/42")
    assert [k.lower() for k, _v in plain.header_list].count("server") == 1

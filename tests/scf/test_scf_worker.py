"""SCF functions through the real runtime: events, context, errors, limits, API Gateway, log lines."""

from __future__ import annotations

import json
import re

import pytest
from scf_helpers import call

from studio.runtime.templates import load_template


def invoke(runtime, ident, event, **kw):
    record, logs = runtime.invoke_function(ident, event, **kw)
    return record, logs


def test_event_context_and_environment(scf_runtime):
    record, logs = invoke(scf_runtime, "fn", {"mode": "ok", "n": 1})
    assert record.status == 200
    value = json.loads(record.response_body)
    assert value["event"] == {"mode": "ok", "n": 1}
    ctx = value["context"]
    assert list(ctx) == [
        "memory_limit_in_mb",
        "time_limit_in_ms",
        "request_id",
        "environment",
        "environ",
        "function_version",
        "function_name",
        "namespace",
        "tencentcloud_region",
        "tencentcloud_appid",
        "tencentcloud_uin",
    ]
    assert ctx["time_limit_in_ms"] == 2000 and ctx["memory_limit_in_mb"] == 128
    assert ctx["request_id"] == record.request_id
    assert json.loads(ctx["environment"]) == {"SCF_NAMESPACE": "default", "GREETING": "hi"}
    assert ctx["environ"] == "SCF_NAMESPACE=default;GREETING=hi"
    assert ctx["function_name"] == "fn" and ctx["tencentcloud_region"] == "ap-guangzhou"
    assert value["env"] == {
        "SCF_FUNCTIONNAME": "fn",
        "SCF_RUNTIME": "Python3.10",
        "TENCENTCLOUD_REGION": "ap-guangzhou",
        "TENCENTCLOUD_APPID": "1250000000",
        "USER_CODE_ROOT": "/var/user/",
        "GREETING": "hi",
        "TRIGGER_SRC": None,
        "SCF_NAMESPACE": "default",
    }
    assert value["cwd_is_root"] is True


def test_platform_log_lines_wrap_user_output(scf_runtime):
    record, logs = invoke(scf_runtime, "fn", {"mode": "ok"})
    platform = [line.text for line in logs if line.stream == "platform"]
    rid = record.request_id
    assert platform[:2] == [f"START RequestId: {rid}", f"Event RequestId: {rid}"]
    assert platform[2] == f"END RequestId: {rid}"
    assert re.fullmatch(
        rf"Report RequestId: {rid} Duration:\d+ms Memory:128MB "  # the observed format: no Billed Duration
        r"MaxMemoryUsed:\d+\.\d{4}MB",
        platform[3],
    )
    user = [line for line in logs if line.stream == "stdout"]
    assert [line.text for line in user][-1] == "mode ok"
    order = [line.stream for line in logs]
    assert order.index("stdout") > 1 and order[-2:] == ["platform", "platform"]


def test_timer_trigger_sets_trigger_src(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "ok"}, trigger="timer")
    assert json.loads(record.response_body)["env"]["TRIGGER_SRC"] == "timer"
    record, _ = invoke(scf_runtime, "fn", {"mode": "ok"})
    assert json.loads(record.response_body)["env"]["TRIGGER_SRC"] is None


def test_uncaught_exception_is_430_with_user_frames_only(scf_runtime):
    record, logs = invoke(scf_runtime, "fn", {"mode": "raise"})
    body = json.loads(record.response_body)
    assert record.status == 430 and body["statusCode"] == 430 and body["errorCode"] == -1
    assert body["errorMessage"] == "user code exception caught" and body["requestId"] == record.request_id
    trace = body["stackTrace"]
    assert trace.startswith('Traceback (most recent call last):\n  File "/var/user/index.py"')
    assert (
        trace.endswith("ValueError: err msg") and "funcstudio" not in trace and "studio/runtime" not in trace
    )
    assert record.error.type == "ValueError"
    # the failure is logged with the invocation, before END, at ERROR (an errors-only view shows it)
    assert [line.text.split()[0] for line in logs if line.stream == "platform"] == [
        "START",
        "Event",
        "user",
        "END",
        "Report",
    ]


@pytest.mark.parametrize(
    "mode, status, words", [("big", 407, "exceeds the upper limit"), ("notjson", 430, "TypeError")]
)
def test_response_errors(scf_runtime, mode, status, words):
    record, _ = invoke(scf_runtime, "fn", {"mode": mode})
    body = json.loads(record.response_body)
    assert record.status == status and body["statusCode"] == status
    assert words in json.dumps(body)
    expected = {"big": "SCF-RESPONSE-SIZE", "notjson": "SCF-NOT-JSON"}[mode]
    assert expected in [w.id for w in record.warnings]


def test_top_level_decimal_becomes_a_string(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "decimal"})
    assert record.status == 200 and record.response_body == b'"1.50"'


def test_async_event_over_128kb_is_406(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "ok", "pad": "x" * (130 * 1024)}, trigger="async")
    assert record.status == 406 and json.loads(record.response_body)["statusCode"] == 406
    record, _ = invoke(scf_runtime, "fn", {"mode": "ok", "pad": "x" * (130 * 1024)})
    assert record.status == 200  # the sync limit is 6 MB


def test_timeout_is_433_with_the_configured_seconds(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "sleep"})
    body = json.loads(record.response_body)
    assert record.status == 433 and record.fault == "timeout"
    assert body == {
        "errorCode": -1,
        "errorMessage": "Invoking task timed out after 2 seconds",
        "requestId": record.request_id,
        "statusCode": 433,
    }


def test_exit_is_439_and_the_next_call_works(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "exit"})
    assert record.status == 439 and json.loads(record.response_body)["statusCode"] == 439
    record, _ = invoke(scf_runtime, "fn", {"mode": "decimal"})
    assert record.status == 200


def test_memory_over_the_limit_is_434(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "memory"})
    assert record.status == 434 and record.fault == "memory"
    assert json.loads(record.response_body)["statusCode"] == 434


def test_handler_not_found_is_437(scf_runtime):
    record, _ = invoke(scf_runtime, "missing", {})
    body = json.loads(record.response_body)
    assert record.status == 437 and body["statusCode"] == 437 and "nothere" in body["errorMessage"]


@pytest.mark.parametrize(
    "ident, words", [("importerr", "RuntimeError: boom at import"), ("broken", "SyntaxError")]
)
def test_import_failures_are_430(scf_runtime, ident, words):
    record, _ = invoke(scf_runtime, ident, {})
    body = json.loads(record.response_body)
    assert record.status == 430 and words in body["stackTrace"] and "/var/user/index.py" in body["stackTrace"]
    assert "importlib" not in body["stackTrace"]  # runtime frames are dropped


def test_cold_start_output_falls_in_the_first_invocation(tmp_path):
    from scf_helpers import write_project

    from studio.runtime.server import Runtime

    root = write_project(tmp_path)
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as runtime:
        _, first = invoke(runtime, "fn", {"mode": "decimal"})
        _, second = invoke(runtime, "fn", {"mode": "decimal"})
    texts = [line.text for line in first]
    assert texts.index("cold start of fn") > texts.index(next(t for t in texts if t.startswith("START")))
    assert "cold start of fn" not in [line.text for line in second]


# -- API Gateway -------------------------------------------------------------------------------


def test_apigw_event_and_integration_response(scf_runtime):
    reply = call(
        scf_runtime.port,
        "POST",
        "/fn?mode=ok&a=1&a=2",
        body=b'{"x": 1}',
        headers={"User-Agent": "probe", "X-Custom": "v"},
    )
    assert reply.status == 201
    assert reply.header_values("X-Multi") == ["a", "b"] and reply.header_values("Location") == []
    event = reply.json()["event"]
    assert list(event)[:3] == ["requestContext", "headers", "body"]
    assert event["httpMethod"] == "POST" and event["path"] == "/fn" and event["body"] == '{"x": 1}'
    assert event["queryString"] == {"mode": "ok", "a": "2"}
    assert event["headers"]["user-agent"] == "probe" and event["headers"]["x-custom"] == "v"
    assert event["requestContext"]["path"] == "/fn" and event["requestContext"]["stage"] == "release"
    assert event["queryStringParameters"] == {} and event["isBase64Encoded"] is False
    rid = dict((k.lower(), v) for k, v in reply.headers)["x-funcstudio-request-id"]
    found = json.loads(call(scf_runtime.port, "GET", f"/__funcstudio/invocations/{rid}").body)
    ids = {w["id"] for w in found.get("warnings", [])}
    assert {"SCF-QUERY-REPEAT", "SCF-LOCATION-HEADER"} <= ids, found


def test_apigw_base64_and_bad_shapes(scf_runtime):
    png = call(scf_runtime.port, "GET", "/fn?mode=b64")
    assert png.status == 200 and png.body == b"\x89PNG\r\n\x1a\n"
    for mode in ("bad", "plain"):
        bad = call(scf_runtime.port, "GET", f"/fn?mode={mode}")
        assert bad.status == 403
        assert bad.json() == {
            "errno": 403,
            "error": "Invalid scf response format. please check your scf response format.",
        }


def test_apigw_error_is_http_200_with_the_error_object(scf_runtime):
    reply = call(scf_runtime.port, "GET", "/fn?mode=boom")
    assert reply.status == 200
    body = reply.json()
    assert body["statusCode"] == 430 and "RuntimeError: http boom" in body["stackTrace"]


def test_header_case_miss_warns(scf_runtime):
    reply = call(scf_runtime.port, "GET", "/fn?mode=header", headers={"User-Agent": "probe"})
    assert reply.status == 200 and reply.body == b"None"
    rid = dict((k.lower(), v) for k, v in reply.headers)["x-funcstudio-request-id"]
    found = json.loads(call(scf_runtime.port, "GET", f"/__funcstudio/invocations/{rid}").body)
    assert "SCF-HEADER-CASE" in {w["id"] for w in found.get("warnings", [])}


def test_passthrough_path_parameters_and_binary_body(scf_runtime):
    reply = call(scf_runtime.port, "PUT", "/items/42?q=1", body=b"\xff\xfe")
    assert reply.status == 200 and reply.header_values("Content-Type") == ["application/json"]
    value = reply.json()
    assert value == {
        "id": "42",
        "stage": "test",
        "template": "/items/{id}",
        "body": "//4=",
        "b64": True,
        "query": {"q": "1"},
    }


# -- the control API: every template, sync and async ----------------------------------------


@pytest.mark.parametrize("name", ["apigw", "timer", "cos", "cmq", "ckafka", "direct"])
def test_every_template_through_the_control_api(scf_runtime, name):
    event = load_template(name, ["queryString.mode=ok"] if name == "apigw" else ["mode=ok"])
    reply = call(
        scf_runtime.port,
        "POST",
        "/__funcstudio/functions/fn/invoke",
        body=json.dumps(event).encode(),
        headers={"X-Funcstudio-Invocation-Type": "RequestResponse"},
    )
    assert reply.status == 200
    payload = reply.json()
    assert payload["status"] == 200 and payload["trigger"] == "invoke", payload
    returned = json.loads(payload["body"])
    if name == "apigw":  # an API Gateway event invoked directly: the integration dict comes back as JSON
        assert returned["statusCode"] == 201 and json.loads(returned["body"])["event"] == event
    else:
        assert returned["event"] == event  # the function got the template as its event
    assert [line["text"].split()[0] for line in payload["logs"] if line["stream"] == "platform"] == [
        "START",
        "Event",
        "END",
        "Report",
    ]


def test_control_api_rejects_an_event_that_is_not_json(scf_runtime):
    reply = call(scf_runtime.port, "POST", "/__funcstudio/functions/fn/invoke", body=b"{nope")
    assert reply.status == 400


@pytest.mark.parametrize("name", ["apigw", "timer", "cos", "cmq", "ckafka", "direct"])
def test_async_invoke_answers_202_and_records_the_result(scf_runtime, name):
    import time

    event = load_template(name, ["queryString.mode=plain"] if name == "apigw" else ["mode=decimal"])
    reply = call(scf_runtime.port, "POST", "/__funcstudio/functions/fn/invoke", body=json.dumps(event).encode(),
                 headers={"X-Funcstudio-Invocation-Type": "Event"})
    assert reply.status == 202
    rid = reply.json()["request_id"]
    deadline = time.monotonic() + 30
    found = None
    while time.monotonic() < deadline:
        got = call(scf_runtime.port, "GET", f"/__funcstudio/invocations/{rid}")
        if got.status == 200:
            found = got.json()
            break
        time.sleep(0.1)
    assert found is not None and found["status"] == 200 and found["trigger"] == "async"
    assert found["return_value"] == ('"just a string"' if name == "apigw" else '"1.50"')


def test_only_tmp_is_writable(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "write"})
    body = json.loads(record.response_body)
    assert record.status == 430 and "OSError: [Errno 30] Read-only file system" in body["stackTrace"]
    assert "SCF-READONLY-FS" in [w.id for w in record.warnings]
    assert not (scf_runtime.root / "fn" / "out.txt").exists()


def test_stdlib_frames_show_platform_paths(scf_runtime):
    record, _ = invoke(scf_runtime, "fn", {"mode": "stdlib"})
    trace = json.loads(record.response_body)["stackTrace"]
    assert 'File "/var/lang/python3/lib/python3.10/json/__init__.py"' in trace
    assert 'File "/var/user/index.py"' in trace and "JSONDecodeError" in trace


def test_timeout_behind_api_gateway_is_http_200_with_433(scf_runtime):
    reply = call(scf_runtime.port, "GET", "/fn?mode=sleep")
    assert reply.status == 200
    assert reply.json()["statusCode"] == 433 and reply.json()["errorMessage"] == "Invoking task timed out after 2 seconds"


def test_original_header_case_setting(tmp_path):
    from studio.runtime.server import Runtime

    (tmp_path / "hdr").mkdir()
    (tmp_path / "hdr" / "index.py").write_text(
        "def main_handler(event, context):\n"
        "    return {'statusCode': 200, 'headers': {}, 'body': ','.join(sorted(event['headers']))}\n")
    (tmp_path / "funcstudio.toml").write_text('[scf]\nheader_case = "original"\n')
    with Runtime(tmp_path, host="127.0.0.1", port=0, reload=False) as runtime:
        reply = call(runtime.port, "GET", "/hdr", headers={"X-Mixed-Case": "1"})
    assert reply.status == 200 and "X-Mixed-Case" in reply.body.decode().split(",")

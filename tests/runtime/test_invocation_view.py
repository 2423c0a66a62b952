"""The one invocation view: to_json and from_json are each other's inverse."""

from studio.runtime.invocation import ErrorInfo, FrameInfo, InvocationRecord, LogLine, ParityWarning


def test_round_trip_keeps_every_field():
    record = InvocationRecord(
        request_id="r1", function_id="api/x", platform="edgeone", kind="handler-class", trigger="http",
        method="POST", path="/api/x", query_string="a=1", params={"id": "7"},
        request_headers=(("content-type", "application/json"),), request_body=b'{"a": 1}',
        request_body_size=9000, response_body_size=70000,
        status=500, response_headers=(("x", "y"),), response_body=b"\xff\x00binary",
        return_value='{"ok": false}',
        error=ErrorInfo("ValueError", "bad", "Traceback ...",
                        (FrameInfo("a.py", 3, "f", "raise", {"x": "1"}, True),
                         FrameInfo("lib.py", 9, "g", "", {}, False))),
        warnings=(ParityWarning("EO-X", "msg", "fix"),), fault="crash", started_at=12.5,
        duration_ms=3.25, init_ms=10.0, peak_memory_mb=20.5, code_version="abc", instance_id="i1",
        outbox=({"to": "a@b"},), log_count=1, logs_truncated=True,
        logs=(LogLine("r1", "api/x", 0, 12.6, "stdout", None, "hi"),), stored=True,
        paused_ms=1500.25,
        profile=({"file": "/p/a.py", "line": 3, "function": "f", "calls": 2, "primitive_calls": 2,
                  "tottime_ms": 0.5, "cumtime_ms": 1.25, "is_user": True},),
        app_path="/x", wait_ms=40.5, handler_ms=2.75,
    )
    assert InvocationRecord.from_json(record.to_json()) == record


def test_framework_frames_stay_framework_frames():
    data = InvocationRecord(
        request_id="r2", function_id=None, platform=None, kind=None, trigger="http", method="GET", path="/",
        error=ErrorInfo("E", "m", "t", (FrameInfo("lib.py", 1, "f", "", is_user=False),)),
    ).to_json()
    assert data["error"]["frames"][0]["is_user"] is False
    assert InvocationRecord.from_json(data).error.frames[0].is_user is False


def test_phases_default_for_records_written_before_them():
    data = InvocationRecord(request_id="r3", function_id=None, platform=None, kind=None, trigger="http",
                            method="GET", path="/").to_json()
    del data["wait_ms"], data["handler_ms"]  # a journal line or JSON from before the timing bar
    record = InvocationRecord.from_json(data)
    assert record.wait_ms == 0.0 and record.handler_ms is None


def test_evolve_is_replace_without_init():
    import dataclasses

    import pytest

    from studio.runtime.invocation import InvocationRecord

    base = InvocationRecord(request_id="r", function_id="f", platform="edgeone", kind="http-function",
                            trigger="http", method="GET", path="/f", request_headers=(("Host", "x"),))
    done = base.evolve(status=201, response_body=b"ok", duration_ms=1.5)
    assert done == dataclasses.replace(base, status=201, response_body=b"ok", duration_ms=1.5)
    assert base.status is None and done.request_headers is base.request_headers
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.status = 500  # still frozen
    with pytest.raises(TypeError, match="statsu"):
        base.evolve(statsu=200)

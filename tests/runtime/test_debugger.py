"""The debugger in the worker, driven through the runtime's DebugHub: real instances paused at
breakpoints, stepped through their frames, evaluated in, quit, and post-mortem at the raising frame."""

from __future__ import annotations

import time

import pytest
from debug_helpers import BOOM, CALC_FILE, DebuggedCall, fresh_hub, local, write_debug_project
from gw_helpers import request, serving

from studio.runtime.debug import DEBUG_HEADER, DebugPaused

SLOW = {
    "cloud-functions/api/slow.py": """
        import time


        def handler(event, context):
            started = time.time()
            return {"statusCode": 200, "body": "slow"}
    """,
    "funcstudio.toml": """
        [functions."cloud-functions/api/slow"]
        timeout_s = 1
    """,
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    with serving(write_debug_project(tmp_path_factory.mktemp("debug") / "proj", BOOM, SLOW)) as rt:
        yield rt


@pytest.fixture()
def hub(runtime):
    with fresh_hub(runtime.debug) as hub:
        yield hub


def http_call(runtime, path: str, headers: dict | None = None) -> DebuggedCall:
    """A GET of `path` sent from a thread while the test drives the debugger."""
    return DebuggedCall(runtime, lambda: request(runtime.port, "GET", path, headers=headers or {}, timeout=120))


def calc_file(runtime) -> str:
    return str(runtime.root / CALC_FILE)


def test_breakpoint_pauses_with_locals_and_evaluates(runtime, hub):
    hub.toggle(calc_file(runtime), 8)  # result = double(value)
    call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
    pause = call.pause()
    assert (pause.reason, pause.frame.function, pause.frame.line) == ("breakpoint", "handler", 8)
    assert pause.frame.file.endswith("api/calc.py") and pause.frame.is_user
    assert local(pause, "value") == "21"
    assert hub.paused() == [pause]
    assert hub.evaluate(pause.request_id, "value * 2").value == "42"
    assert "NameError" in hub.evaluate(pause.request_id, "nope").error
    assert hub.command(pause.request_id, "continue")
    record = call.record()
    assert call.reply.status == 200 and call.reply.body == b"result=42"
    assert record.fault is None and record.paused_ms > 0
    assert hub.paused() == []


def test_step_into_up_down_return_and_next(runtime, hub):
    hub.toggle(calc_file(runtime), 8)
    call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
    first = call.pause()
    hub.command(first.request_id, "step")
    inside = call.pause()
    assert (inside.reason, inside.frame.function, inside.frame.line) == ("step", "double", 2)
    assert local(inside, "n") == "21"
    assert [f.function for f in inside.stack if f.is_user][-2:] == ["handler", "double"]
    hub.command(inside.request_id, "up")
    up = call.pause()
    assert up.frame.function == "handler" and up.index == inside.index - 1
    assert hub.evaluate(up.request_id, "value").value == "21"
    hub.command(up.request_id, "down")
    down = call.pause()
    assert down.frame.function == "double"
    hub.command(down.request_id, "next")
    after = call.pause()
    assert (after.frame.function, after.frame.line) == ("double", 3)
    assert local(after, "twice") == "42"
    hub.command(after.request_id, "return")
    returned = call.pause()
    assert returned.reason == "return" and returned.return_value == "42"
    hub.command(returned.request_id, "next")
    back = call.pause()
    assert (back.frame.function, back.frame.line) == ("handler", 9)
    assert local(back, "result") == "42"
    hub.command(back.request_id, "continue")
    assert call.record().status == 200


def test_requests_without_the_marker_run_past_breakpoints_unless_all_requests(runtime, hub):
    hub.toggle(calc_file(runtime), 8)
    plain = request(runtime.port, "GET", "/api/calc")
    assert plain.body == b"result=42"
    hub.all_requests = True
    call = http_call(runtime, "/api/calc")  # no header: what curl or a browser sends
    pause = call.pause()
    assert pause.frame.line == 8
    hub.command(pause.request_id, "continue")
    assert call.record().status == 200


def test_condition_decides_the_stop(runtime, hub):
    from studio.runtime.debug import Breakpoint

    hub.add(Breakpoint(calc_file(runtime), 3, "n > 100"))
    assert request(runtime.port, "GET", "/api/calc", headers={DEBUG_HEADER: "1"}).body == b"result=42"
    hub.clear()
    hub.add(Breakpoint(calc_file(runtime), 3, "n == 21"))
    call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
    stopped = call.pause()
    assert stopped.frame.function == "double"
    call.command(stopped, "continue")
    assert call.record().status == 200


def test_quit_ends_the_invocation_as_debugger_quit(runtime, hub):
    hub.toggle(calc_file(runtime), 8)
    call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
    pause = call.pause()
    hub.command(pause.request_id, "quit")
    record = call.record()
    assert record.fault == "debugger-quit" and record.status == 500
    assert b"debugger" in call.reply.body
    hub.clear()  # the instance lives on and serves the next request normally
    assert request(runtime.port, "GET", "/api/calc").body == b"result=42"


def test_post_mortem_opens_at_the_raising_frame(runtime, hub):
    hub.stop_on_exception = True
    call = http_call(runtime, "/api/boom", {DEBUG_HEADER: "1"})
    pause = call.pause()
    assert pause.reason == "exception" and pause.exception.startswith("KeyError")
    assert (pause.frame.function, pause.frame.line) == ("handler", 4)
    assert local(pause, "missing") == "'zzz'"
    items = next(v for v in pause.locals if v.name == "items")
    assert [(c.name, c.value) for c in items.children] == [("'a'", "1"), ("'b'", "[1, 2, 3]")]
    assert hub.evaluate(pause.request_id, "sorted(items)").value == "['a', 'b']"
    hub.command(pause.request_id, "continue")
    record = call.record()
    assert record.error is not None and record.error.type == "KeyError" and record.fault is None


def test_the_deadline_stands_still_while_paused(runtime, hub):
    hub.toggle(str(runtime.root / "cloud-functions/api/slow.py"), 6)
    call = http_call(runtime, "/api/slow", {DEBUG_HEADER: "1"})
    pause = call.pause()
    time.sleep(1.5)  # paused longer than the function's 1 s limit
    assert hub.evaluate(pause.request_id, "started > 0").value == "True"
    hub.command(pause.request_id, "continue")
    record = call.record()
    assert record.fault is None and record.status == 200 and record.paused_ms >= 1500


def test_an_evaluation_runs_on_the_clock_so_a_hanging_one_times_out(runtime, hub):
    hub.toggle(str(runtime.root / "cloud-functions/api/slow.py"), 6)
    call = http_call(runtime, "/api/slow", {DEBUG_HEADER: "1"})
    pause = call.pause()
    result = hub.evaluate(pause.request_id, "time.sleep(30)", timeout=60)
    assert result.error == "the invocation ended"  # the 1 s limit killed the instance mid-evaluation
    record = call.record()
    assert record.fault == "timeout"
    assert hub.paused() == []


def test_paused_event_goes_to_every_subscriber(runtime, hub):
    seen = []
    unsubscribe = runtime.bus.subscribe(lambda e: seen.append(e) if isinstance(e, DebugPaused) else None)
    try:
        hub.toggle(calc_file(runtime), 3)
        call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
        pause = call.pause()
        hub.command(pause.request_id, "continue")
        call.record()
    finally:
        unsubscribe()
    assert [e.pause.frame.line for e in seen] == [3]


def test_an_instance_killed_while_paused_lets_the_views_go(runtime, hub):
    from studio.runtime.debug import DebugResumed

    seen = []
    unsubscribe = runtime.bus.subscribe(lambda e: seen.append(e) if isinstance(e, DebugResumed) else None)
    try:
        hub.toggle(calc_file(runtime), 8)
        call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
        pause = call.pause()
        runtime.supervisor.retire(["cloud-functions/api/calc"], "stale")  # busy: it dies when the call ends
        import os
        import signal

        pid = int(pause.instance_id.rsplit("-", 1)[1])
        os.kill(pid, signal.SIGKILL)
        record = call.record()
    finally:
        unsubscribe()
    assert record.fault == "crash"
    assert [(e.request_id, e.command) for e in seen] == [(pause.request_id, "ended")]
    assert hub.paused() == []


def test_a_paused_instance_gets_no_other_request(runtime, hub):
    hub.toggle(calc_file(runtime), 8)
    call = http_call(runtime, "/api/calc", {DEBUG_HEADER: "1"})
    pause = call.pause()
    other = request(runtime.port, "GET", "/api/calc")  # no marker: runs past the breakpoint, elsewhere
    assert other.body == b"result=42"
    assert hub.paused() == [pause]  # still paused, untouched by the second request
    hub.command(pause.request_id, "continue")
    record = call.record()
    served = runtime.events.finished(other.headers["x-funcstudio-request-id"])
    assert record.status == 200 and served.instance_id != record.instance_id == pause.instance_id


def test_breakpoints_shift_with_inserted_and_removed_lines(tmp_path):
    from studio.runtime.debug import DebugHub
    from studio.runtime.events import EventBus

    hub = DebugHub(EventBus())
    path = str(tmp_path / "f.py")
    for line in (3, 7, 9):
        hub.toggle(path, line)
    hub.shift_lines(path, 5, 2)  # two lines inserted after line 5
    assert [b.line for b in hub.breakpoints()] == [3, 9, 11]
    hub.shift_lines(path, 5, -4)  # lines 6-9 removed: the one on 9 lands on 6, 11 becomes 7
    assert [b.line for b in hub.breakpoints()] == [3, 6, 7]

"""All instances busy: requests beyond max_instances wait in a FIFO queue (shown in /health) and are
all answered, in order, as the instance frees up; past the queue's bound the answer is 503."""

from __future__ import annotations

import json
import os
import threading

import pytest
from gw_helpers import EventLog, request, wait_until, write_files

from studio.project.settings import RuntimeSettings, Settings
from studio.runtime import supervisor as supervisor_module
from studio.runtime.server import Runtime
from studio.runtime.timing import phases

BLOCKER = """
    import os

    GATE = {gate!r}
    STARTED = {started!r}

    def handler(event, context):
        query = event["queryStringParameters"] or {{}}
        if "tag" in query:
            with open(STARTED + ".order", "a") as fh:
                fh.write(query["tag"] + "\\n")
        if "block" in query:
            with open(STARTED, "w") as fh:
                fh.write(str(os.getpid()))
            with open(GATE) as fh:  # a FIFO: blocks until the test opens it for writing
                fh.read()
        return {{"statusCode": 200, "body": str(os.getpid())}}
"""


@pytest.fixture
def runtime(tmp_path):
    gate, started = tmp_path / "gate.fifo", tmp_path / "started"
    os.mkfifo(gate)
    root = write_files(tmp_path / "proj", {"cloud-functions/slow.py": BLOCKER.format(gate=str(gate),
                                                                                    started=str(started))})
    rt = Runtime(root, Settings(runtime=RuntimeSettings(max_instances=1)), host="127.0.0.1", port=0, reload=False)
    events = EventLog()
    rt.bus.subscribe(events)
    rt.start()
    try:
        yield rt, events, gate, started
    finally:
        _release_if_waiting(gate)
        rt.stop()


def _release_if_waiting(gate) -> None:
    try:
        fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody waits on the gate
        return
    os.write(fd, b"go")
    os.close(fd)


def waiting(rt) -> int:
    return json.loads(request(rt.port, "GET", "/__funcstudio/health").text)["waiting"]


def test_requests_beyond_max_instances_wait_in_order_and_are_all_answered(runtime):
    rt, events, gate, started = runtime
    replies: dict[int, object] = {}
    blocked = threading.Thread(target=lambda: replies.update({0: request(rt.port, "GET", "/slow?block=1&tag=0")}))
    blocked.start()
    wait_until(started.exists, 30)  # the only instance is taken: the handler is at the gate
    queued = []
    for n in range(1, 8):  # one at a time, so the order they queue in is known
        thread = threading.Thread(target=lambda n=n: replies.update({n: request(rt.port, "GET", f"/slow?tag={n}")}))
        thread.start()
        queued.append(thread)
        wait_until(lambda n=n: waiting(rt) == n, 30)
    assert blocked.is_alive()
    with open(gate, "w") as fh:  # release the first; the instance then serves the queue
        fh.write("go")
    for thread in [blocked, *queued]:
        thread.join(60)
    assert sorted(replies) == list(range(8))
    assert {reply.status for reply in replies.values()} == {200}
    assert len({reply.text for reply in replies.values()}) == 1  # the one instance served them all
    order = (started.parent / (started.name + ".order")).read_text().split()
    assert order == [str(n) for n in range(8)]  # first come, first served
    assert waiting(rt) == 0


def test_a_request_beyond_max_instances_and_a_full_queue_is_503(runtime, monkeypatch):
    monkeypatch.setattr(supervisor_module, "QUEUE_LIMIT", 0)  # no room to wait: answered at once
    rt, events, gate, started = runtime
    first: dict = {}
    blocked = threading.Thread(target=lambda: first.update(reply=request(rt.port, "GET", "/slow?block=1")))
    blocked.start()
    wait_until(started.exists, 30)  # the only instance is taken: the handler is at the gate

    busy = request(rt.port, "GET", "/slow")
    assert busy.status == 503
    assert "busy" in busy.text
    record = wait_until(lambda: events.finished(busy.headers["x-funcstudio-request-id"]), 10)
    assert record.status == 503 and record.function_id == "cloud-functions/slow"
    assert blocked.is_alive()  # the first request is still held by the gate

    with open(gate, "w") as fh:  # release it (this open waits for the handler's, if need be)
        fh.write("go")
    blocked.join(30)
    assert not blocked.is_alive()
    assert first["reply"].status == 200
    pid = int(first["reply"].text)
    assert int(started.read_text()) == pid

    after = request(rt.port, "GET", "/slow")
    assert after.status == 200 and int(after.text) == pid  # the same (only) instance serves again


def test_a_records_phases_say_where_its_time_went(runtime):
    """The timing bar's numbers: the first request starts the instance (cold start, no wait); the
    second queues behind it (wait, no cold start); both ran a handler inside their duration."""
    rt, events, gate, started = runtime
    replies: dict = {}
    first = threading.Thread(target=lambda: replies.update(first=request(rt.port, "GET", "/slow?block=1")))
    first.start()
    wait_until(started.exists, 30)
    second = threading.Thread(target=lambda: replies.update(second=request(rt.port, "GET", "/slow")))
    second.start()
    wait_until(lambda: waiting(rt) == 1, 30)  # queued for the only, busy instance
    with open(gate, "w") as fh:
        fh.write("go")
    first.join(30)
    second.join(30)
    cold = wait_until(lambda: events.finished(replies["first"].headers["x-funcstudio-request-id"]), 10)
    queued = wait_until(lambda: events.finished(replies["second"].headers["x-funcstudio-request-id"]), 10)
    assert cold.init_ms is not None and cold.init_ms > 0 and cold.wait_ms == 0.0
    assert queued.init_ms is None and queued.wait_ms > 0
    for record in (cold, queued):
        assert record.handler_ms is not None and record.handler_ms > 0
        spent = record.wait_ms + (record.init_ms or 0.0) + record.handler_ms
        assert spent <= record.duration_ms  # the response phase is the rest, never negative
        assert [name for name, _ in phases(record)] == ["wait", "cold start", "handler", "response"]

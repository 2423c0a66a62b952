"""All instances busy: a request beyond max_instances waits (bounded), then gets 503; release, and it serves."""

from __future__ import annotations

import os
import threading

import pytest
from gw_helpers import EventLog, request, wait_until, write_files

from studio.project.settings import RuntimeSettings, Settings
from studio.runtime import supervisor as supervisor_module
from studio.runtime.server import Runtime

BLOCKER = """
    import os

    GATE = {gate!r}
    STARTED = {started!r}

    def handler(event, context):
        if "block" in (event["queryStringParameters"] or {{}}):
            with open(STARTED, "w") as fh:
                fh.write(str(os.getpid()))
            with open(GATE) as fh:  # a FIFO: blocks until the test opens it for writing
                fh.read()
        return {{"statusCode": 200, "body": str(os.getpid())}}
"""


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    # The busy wait is capped at 10 s in production use; 1 s keeps the test short (still bounded, not timed).
    monkeypatch.setattr(supervisor_module, "BUSY_WAIT_CAP_S", 1.0)
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


def test_a_request_beyond_max_instances_is_503_until_the_instance_frees(runtime):
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

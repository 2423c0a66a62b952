"""StudioSession, the studio's UI-free engine: serve's store wiring, one channel, typed records."""

from __future__ import annotations

import subprocess
import sys
import time

from studio.runtime.invocation import InvocationRecord
from studio.tui.request_model import RequestSpec
from studio.tui.session import AsyncFinished, StoreCommitted, StudioSession


def test_the_session_imports_no_ui():
    code = "import sys, studio.tui.session; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('textual', 'rich')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def _wait(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_invoke_record_and_async_over_one_channel(showcase, scf_demo):
    events: list = []
    session = StudioSession(showcase, port=0, listener=events.append)
    session.load()
    try:
        session.start()
        # exactly serve's wiring: the control API answers records from the store's Reader
        assert session.runtime.gateway.lookup == session.recording.lookup
        assert session.open_store()
        answer = session.invoke(RequestSpec(path="/api/hello", query=[("name", "Ada")]))
        assert answer.status == 200 and b"Ada" in answer.body
        assert isinstance(answer.record, InvocationRecord)
        assert answer.duration_ms == answer.record.duration_ms  # the runtime's number, not the HTTP round trip
        _wait(lambda: any(isinstance(e, StoreCommitted) and e.invocations for e in events), "a store commit")
        stored = _wait(lambda: session.record(answer.request_id), "the stored record")
        assert stored.stored and abs(stored.duration_ms - answer.record.duration_ms) < 0.001  # finding 10
        assert session.restart_instances() >= 1
    finally:
        session.stop()
    assert session.runtime is None

    events.clear()
    session = StudioSession(scf_demo, port=0, listener=events.append)
    try:
        session.start()
        tick = next(fn for fn in session.project.functions if fn.name == "tick")
        answer = session.invoke(RequestSpec(mode="scf", function_id=tick.id, body="{}", invocation_type="Event"))
        assert answer.accepted and answer.status == 202 and answer.record is None
        finished = _wait(lambda: [e for e in events if isinstance(e, AsyncFinished)
                                  and e.record.request_id == answer.request_id], "the async result")
        assert finished[0].record.function_id == tick.id and finished[0].record.status == 200
    finally:
        session.stop()

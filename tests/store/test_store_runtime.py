"""The store wired to the real runtime: what a client was answered was journaled before the answer
left, is what the store holds, and the control API answers `GET /__funcstudio/invocations/<id>`
from it."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading

import pytest
from store_builders import journal_text

from studio.runtime.events import InvocationFinished, LogLine
from studio.runtime.server import Runtime
from studio.store.db import db_path
from studio.store.queries import Reader
from studio.store.wiring import record_runtime

pytestmark = pytest.mark.slow


class Seen:
    """What the runtime published, per request id (a second subscriber beside the recorder)."""

    def __init__(self) -> None:
        self.lines: dict[str, list[LogLine]] = {}
        self.finished: dict[str, object] = {}
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        with self.lock:
            if isinstance(event, LogLine):
                self.lines.setdefault(event.request_id, []).append(event)
            elif isinstance(event, InvocationFinished):
                self.finished[event.record.request_id] = event.record


@pytest.fixture(scope="module")
def served(sample_copy):
    root = sample_copy("pages-showcase")
    runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
    seen = Seen()
    recording = record_runtime(runtime)
    runtime.bus.subscribe(seen)
    runtime.start()
    yield runtime, recording, seen
    runtime.stop()
    recording.close()


def call(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("X-Funcstudio-Request-Id"), data


@pytest.mark.parametrize("path", ["/api/logs?x=1", "/api/boom", "/api/hello?name=Ada", "/no/such/route"])
def test_the_answer_a_client_got_is_already_stored(served, path):
    runtime, recording, seen = served
    status, request_id, _ = call(runtime.port, "GET", path, headers={"Authorization": "Bearer top-secret"})
    # No flush, no wait: the response left only after the record was journaled; the journal is
    # truncated only once everything in it is committed, so it is in one or the other.
    journal = journal_text(recording.recorder.status()["journal"])
    conn = sqlite3.connect(db_path(runtime.root))
    state = conn.execute("SELECT state FROM invocations WHERE request_id = ?", (request_id,)).fetchone()
    conn.close()
    assert request_id in journal or state == ("finished",)
    assert recording.recorder.flush()
    conn = sqlite3.connect(db_path(runtime.root))
    row = conn.execute(
        "SELECT status, state, request_headers FROM invocations WHERE request_id = ?", (request_id,)
    ).fetchone()
    stored_lines = [
        r[0]
        for r in conn.execute(
            "SELECT l.text FROM logs l JOIN invocations i ON i.id = l.invocation_id WHERE i.request_id = ? "
            "ORDER BY l.id",
            (request_id,),
        )
    ]
    conn.close()
    assert row is not None and row[0] == status and row[1] == "finished"
    assert ["Authorization", "[redacted]"] in json.loads(row[2])
    with seen.lock:
        published = [line.text for line in seen.lines.get(request_id, [])]
    assert stored_lines == published


def test_control_api_answers_from_the_store(served):
    runtime, recording, seen = served
    status, request_id, _ = call(runtime.port, "GET", "/api/logs?from=control")
    answer_status, _, body = call(runtime.port, "GET", f"/__funcstudio/invocations/{request_id}")
    assert answer_status == 200
    data = json.loads(body)
    assert data["stored"] is True and data["request_id"] == request_id and data["status"] == status
    with seen.lock:
        assert [line["text"] for line in data["logs"]] == [
            line.text for line in seen.lines.get(request_id, [])
        ]
    prefix_status, _, prefix_body = call(runtime.port, "GET", f"/__funcstudio/invocations/{request_id[:13]}")
    assert prefix_status == 200 and json.loads(prefix_body)["request_id"] == request_id
    missing_status, _, _ = call(runtime.port, "GET", "/__funcstudio/invocations/not-a-request")
    assert missing_status == 404


def test_direct_invocations_are_recorded_with_their_trigger(served):
    runtime, recording, seen = served
    function = runtime.project.functions[0]
    record, _logs = runtime.invoke_function(function.id, {"k": 1})
    assert recording.recorder.flush()
    with Reader(db_path(runtime.root)) as reader:
        detail = reader.invocation(record.request_id, prefix=False)
    assert detail is not None and detail.trigger == "invoke" and detail.status == record.status
    assert detail.function_id == function.id


def test_parallel_requests_through_the_runtime_keep_their_own_lines(served):
    """Eight clients at once against a function that logs its query: each stored invocation holds
    exactly the lines that request printed, in order, and no other request's."""
    runtime, recording, seen = served
    answered: dict[str, str] = {}
    lock = threading.Lock()

    def client(index: int) -> None:
        for n in range(15):
            tag = f"c{index}n{n}"
            status, request_id, _ = call(runtime.port, "GET", f"/api/logs?tag={tag}")
            assert status == 200
            with lock:
                answered[request_id] = tag

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answered) == 120
    assert recording.recorder.flush()
    with Reader(db_path(runtime.root)) as reader:
        for request_id, tag in answered.items():
            detail = reader.invocation(request_id, prefix=False)
            texts = [line.text for line in detail.logs]
            assert any(f"'tag': '{tag}'" in text for text in texts), texts
            assert not any("'tag': 'c" in text and f"'tag': '{tag}'" not in text for text in texts)
            assert [line.seq for line in detail.logs] == sorted(line.seq for line in detail.logs)
            with seen.lock:
                assert texts == [line.text for line in seen.lines[request_id]]

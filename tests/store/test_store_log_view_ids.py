"""The studio's log-view read path: `log_ids` agrees with the keyset pages for every filter, and
`log_lines` carries each line's invocation request line and status."""

from __future__ import annotations

import pytest
from store_builders import T0, failing_record, record

from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
from studio.store.queries import Filter, Reader

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """30 invocations over two functions; statuses 200/404/500; four lines each at rotating levels."""
    from studio.store.db import db_path
    from studio.store.writer import Recorder

    project = tmp_path_factory.mktemp("log-ids")
    recorder = Recorder(db_path(project))
    for index in range(30):
        request_id = f"{index:03d}-req"
        function_id = "api/users" if index % 2 else "api/orders"
        status = (200, 404, 500)[index % 3]
        recorder(InvocationStarted(request_id, function_id, "http", "POST", f"/p/{index}", T0 + index))
        for seq in range(4):
            level = LEVELS[(index + seq) % 5] if seq < 3 else None
            text = f"{request_id} step {seq} {'timeout reached' if index % 7 == 0 else 'fine'}"
            recorder(LogLine(request_id, function_id, seq, T0 + index, "logging" if level else "stdout", level, text))
        make = failing_record if status == 500 else record
        recorder(InvocationFinished(make(request_id, function_id=function_id, status=status, started_at=T0 + index,
                                         method="POST", path=f"/p/{index}", log_count=4)))
    assert recorder.flush()
    recorder.close()
    with Reader(db_path(project)) as opened:
        yield opened


FILTERS = [
    Filter(),
    Filter(function_id="api/users"),
    Filter(level="warning"),
    Filter(level="critical"),
    Filter(status="5xx"),
    Filter(status="404"),
    Filter(has_error=True),
    Filter(text="timeout"),
    Filter(text="step 2 fine"),
    Filter(request_id="007-req"),
    Filter(function_id="api/orders", level="error", status="2xx"),
    Filter(text="timeout", level="info", function_id="api/orders"),
    Filter(stream="stdout"),
    Filter(method="post", stream="logging", level="error"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=repr)
def test_log_ids_are_the_keyset_pages_ids_ascending(reader, flt):
    expected = [row.id for row in reader.logs_after(0, flt, limit=10_000)]
    ids = reader.log_ids(flt)
    assert list(ids) == expected and ids.typecode == "q"
    if expected:
        middle = expected[len(expected) // 2]
        assert list(reader.log_ids(flt, after_id=middle)) == [i for i in expected if i > middle]


@pytest.mark.parametrize("flt", FILTERS, ids=repr)
def test_log_ids_before_pages_back_from_the_newest(reader, flt):
    """Keyset pages of ids, newest first, concatenate to every matching id (the log view's first paint
    and its lazily read scrollback)."""
    expected = list(reversed(reader.log_ids(flt)))
    pages: list[int] = []
    before = None
    while True:
        page = reader.log_ids_before(flt, before_id=before, limit=7)
        assert page.typecode == "q" and len(page) <= 7
        pages += page
        if len(page) < 7:
            break
        before = page[-1]
    assert pages == expected


def test_filters_actually_narrow(reader):
    assert len(reader.log_ids()) == 120
    assert len(reader.log_ids(Filter(status="5xx"))) == 40
    assert len(reader.log_ids(Filter(text="timeout"))) == 20  # invocations 0, 7, 14, 21, 28
    assert len(reader.log_ids(Filter(stream="stdout"))) == 30  # one print per invocation
    assert len(reader.log_ids(Filter(method="GET"))) == 0
    assert [row.method for row in reader.invocations(Filter(method="post"), limit=3)] == ["POST"] * 3


def test_log_lines_join_the_invocation(reader):
    ids = list(reader.log_ids(Filter(request_id="005-req")))
    lines = reader.log_lines(ids)
    assert sorted(lines) == ids
    line = lines[ids[-1]]
    assert (line.request_id, line.method, line.path, line.status) == ("005-req", "POST", "/p/5", 500)
    assert line.text == "005-req step 3 fine" and line.level is None and line.stream == "stdout"
    assert reader.log_lines([]) == {} and reader.log_lines([10**9]) == {}

"""The read side: keyset pages, every filter, FTS with hostile input, tails, counts, detail, saved requests."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_builders import T0, failing_record, invocation_events, publish_all, record

from studio.runtime.events import InvocationFinished, InvocationStarted, LogLine
from studio.runtime.invocation import FrameInfo, InvocationRecord
from studio.store.db import StoreError
from studio.store.queries import AmbiguousRequestId, Filter, QueryTimeout, Reader, fts_query

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """60 invocations over two functions; statuses 200/404/500; five lines each at rotating levels."""
    from studio.store.db import db_path
    from studio.store.writer import Recorder

    project = tmp_path_factory.mktemp("queries")
    recorder = Recorder(db_path(project))
    for index in range(60):
        request_id = f"{index:03d}-req"
        function_id = "api/users" if index % 2 else "api/orders"
        at = T0 + index * 60  # one a minute
        status = (200, 404, 500)[index % 3]
        recorder(InvocationStarted(request_id, function_id, "http", "GET", f"/p/{index}", at))
        for seq in range(5):
            level = LEVELS[(index + seq) % 5] if seq < 4 else None
            stream = "logging" if level else "stdout"
            text = f"{request_id} step {seq} {'connection refused' if index % 10 == 0 else 'all good'}"
            recorder(LogLine(request_id, function_id, seq, at + seq, stream, level, text))
        rec = (failing_record if status == 500 else record)(
            request_id, function_id=function_id, status=status, started_at=at, path=f"/p/{index}", log_count=5
        )
        recorder(InvocationFinished(rec))
    assert recorder.flush()
    recorder.close()
    reader = Reader(db_path(project))
    yield reader
    reader.close()


def all_pages(fetch, page_size):
    """Walk keyset pages to the end; returns every row in order."""
    out, before = [], None
    while True:
        page = fetch(before, page_size)
        if not page:
            return out
        out += page
        before = page[-1].id


def test_keyset_pages_cover_every_line_once_newest_first(populated):
    rows = all_pages(lambda before, n: populated.logs(before_id=before, limit=n), 7)
    ids = [row.id for row in rows]
    assert len(ids) == 300 and ids == sorted(ids, reverse=True) and len(set(ids)) == 300
    assert rows[0].request_id == "059-req" and rows[0].seq == 4


def test_log_filters_function_level_status_time_error(populated):
    users = populated.logs(Filter(function_id="api/users"), limit=1000)
    assert len(users) == 150 and {r.function_id for r in users} == {"api/users"}

    errors = populated.logs(Filter(level="error"), limit=1000)
    assert {r.level for r in errors} == {"ERROR", "CRITICAL"}
    expected = sum(1 for i in range(60) for seq in range(4) if LEVELS[(i + seq) % 5] in ("ERROR", "CRITICAL"))
    assert len(errors) == expected and [r.id for r in errors] == sorted((r.id for r in errors), reverse=True)
    assert populated.logs(Filter(level="warn"), limit=1000)[0].level in ("WARNING", "ERROR", "CRITICAL")
    assert len(populated.logs(Filter(level="debug"), limit=1000)) == 240  # lines with no level are out

    five = populated.logs(Filter(status="5xx"), limit=1000)
    assert len(five) == 100 and {int(r.request_id[:3]) % 3 for r in five} == {2}
    exact = populated.logs(Filter(status="404"), limit=1000)
    assert len(exact) == 100 and {int(r.request_id[:3]) % 3 for r in exact} == {1}

    window = populated.logs(Filter(since=T0 + 10 * 60, until=T0 + 12 * 60), limit=1000)
    assert {r.request_id for r in window} == {"010-req", "011-req"}

    failed = populated.logs(Filter(has_error=True), limit=1000)
    assert len(failed) == 100
    combined = populated.logs(Filter(function_id="api/users", status="5xx", level="error"), limit=1000)
    assert combined and all(
        r.function_id == "api/users" and r.level in ("ERROR", "CRITICAL") for r in combined
    )
    assert all(int(r.request_id[:3]) % 3 == 2 for r in combined)


def test_level_pages_merge_in_order_across_pages(populated):
    walked = all_pages(
        lambda before, n: populated.logs(Filter(level="warning"), before_id=before, limit=n), 5
    )
    direct = populated.logs(Filter(level="warning"), limit=10_000)
    assert [r.id for r in walked] == [r.id for r in direct]


def test_request_filter_gives_one_invocation_in_order(populated):
    lines = populated.logs_after(0, Filter(request_id="007-req"))
    assert [r.seq for r in lines] == [0, 1, 2, 3, 4] and {r.request_id for r in lines} == {"007-req"}


def test_text_search_uses_fts_with_prefixes_and_pages(populated):
    hits = populated.logs(Filter(text="connection refused"), limit=1000)
    assert len(hits) == 30 and all("connection refused" in r.text for r in hits)
    assert len(populated.logs(Filter(text="conn ref"), limit=1000)) == 30  # word prefixes
    assert populated.logs(Filter(text="onnection"), limit=1000) == []  # not mid-word
    walked = all_pages(lambda before, n: populated.logs(Filter(text="refused"), before_id=before, limit=n), 4)
    assert [r.id for r in walked] == [r.id for r in hits]
    mixed = populated.logs(Filter(text="refused", function_id="api/orders", level="info"), limit=1000)
    assert mixed and all(r.function_id == "api/orders" and "refused" in r.text for r in mixed)
    assert populated.logs_after(hits[3].id, Filter(text="refused")) == list(reversed(hits[:3]))


@pytest.mark.parametrize(
    "hostile", ['"', 'a"b', "*", "AND", "OR NOT", "NEAR(a b)", "col:x", "^start", "(", "-x", "'"]
)
def test_hostile_search_text_is_just_text(populated, hostile):
    assert isinstance(populated.logs(Filter(text=hostile), limit=5), list)  # parsed as text, never raises
    assert isinstance(populated.count_logs(Filter(text=hostile)), int)


def test_fts_query_quotes_every_word():
    assert fts_query('say "hi" AND') == '"say"* """hi"""* "AND"*'
    assert fts_query("   ") == '""'


def test_invocation_pages_and_filters(populated):
    walked = all_pages(lambda before, n: populated.invocations(before_id=before, limit=n), 11)
    assert [r.request_id for r in walked] == [f"{i:03d}-req" for i in reversed(range(60))]
    assert {r.status for r in populated.invocations(Filter(status="4xx"), limit=100)} == {404}
    assert len(populated.invocations(Filter(status="500"), limit=100)) == 20
    assert {r.function_id for r in populated.invocations(Filter(function_id="api/orders"), limit=100)} == {
        "api/orders"
    }
    failed = populated.invocations(Filter(has_error=True), limit=100)
    assert len(failed) == 20 and all(r.error_type == "KeyError" for r in failed)
    assert len(populated.invocations(Filter(has_error=False), limit=100)) == 40
    window = populated.invocations(Filter(since=T0 + 58 * 60), limit=100)
    assert [r.request_id for r in window] == ["059-req", "058-req"]
    text = populated.invocations(Filter(text="refused"), limit=100)
    assert [r.request_id for r in text] == [f"{i:03d}-req" for i in (50, 40, 30, 20, 10, 0)]
    assert [r.request_id for r in populated.invocations(Filter(text="keyerror", function_id="api/users"))][
        :1
    ] == ["059-req"]
    with_critical = populated.invocations(Filter(level="critical"), limit=100)
    assert len(with_critical) == 48  # every invocation whose first four levels include CRITICAL


def test_tails_return_rows_after_an_id_oldest_first(populated):
    newest = populated.logs(limit=10)
    tail = populated.logs_after(newest[-1].id)
    assert [r.id for r in tail] == [r.id for r in reversed(newest[:-1])]
    invocations = populated.invocations(limit=3)
    after = populated.invocations_after(invocations[-1].id)
    assert [r.request_id for r in after] == ["058-req", "059-req"]
    assert populated.invocations_by_id([invocations[0].id])[0].request_id == "059-req"


def test_counts_match_and_are_cached(populated):
    assert populated.totals() == {"invocations": 60, "logs": 300}
    assert populated.count_logs() == 300 and populated.count_invocations() == 60
    assert populated.count_logs(Filter(level="error")) == len(
        populated.logs(Filter(level="error"), limit=1000)
    )
    assert populated.count_logs(Filter(text="refused")) == 30
    assert populated.count_invocations(Filter(status="5xx")) == 20
    assert ("logs", Filter(text="refused")) in populated._count_cache
    assert populated.last_ids() == {"invocations": 60, "logs": 300}


def test_count_cache_follows_new_rows(project, make_recorder):
    recorder = make_recorder()
    publish_all(recorder, invocation_events("a", 2, level="ERROR"))
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        assert reader.count_logs(Filter(level="error")) == 2
        publish_all(recorder, invocation_events("b", 3, level="ERROR"))
        assert recorder.flush()
        assert reader.count_logs(Filter(level="error")) == 5


def test_one_invocation_whole_by_id_or_prefix(populated):
    detail = populated.invocation("005-r")
    assert detail.request_id == "005-req" and detail.status == 500 and detail.has_error
    assert [line.seq for line in detail.logs] == [0, 1, 2, 3, 4]
    assert detail.frames[0].file == "api/hello.py" and detail.error_traceback.endswith("KeyError: 'user'\n")
    assert detail.warnings[0]["id"] == "EO-X"
    data = detail.to_json()
    json.dumps(data)
    assert data["request_body"] == {"text": "", "size": 0, "truncated": False}
    assert populated.invocation("does-not-exist") is None
    with pytest.raises(AmbiguousRequestId, match="more than one"):
        populated.invocation("00")
    assert populated.invocation("005-req", prefix=False).request_id == "005-req"


def test_a_stored_invocation_is_the_shared_record_view(populated):
    record = populated.invocation_record("005-req")
    assert record.stored is True and record.status == 500 and record.error.type == "KeyError"
    assert [line.seq for line in record.logs] == [0, 1, 2, 3, 4]
    data = record.to_json()
    for key in ("request_id", "status", "headers", "body", "body_encoding", "logs", "error", "warnings"):
        assert key in data
    assert InvocationRecord.from_json(json.loads(json.dumps(data))) == record
    assert populated.invocation_record("does-not-exist") is None


def test_stored_frames_keep_which_are_user_code(project, make_recorder):
    """Every stored frame used to read as user code (`is_user_code` became `is_user` in one copy only)."""
    recorder = make_recorder()
    frames = (FrameInfo("app.py", 3, "handler", "boom()", {}, True),
              FrameInfo("/usr/lib/python3/json/decoder.py", 9, "decode", "", {}, False))
    failed = failing_record("frames-1")
    recorder(InvocationFinished(replace(failed, error=replace(failed.error, frames=frames))))
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        stored = reader.invocation_record("frames-1")
    assert [frame.is_user for frame in stored.error.frames] == [True, False]
    assert [frame["is_user"] for frame in stored.to_json()["error"]["frames"]] == [True, False]


def test_time_paused_in_the_debugger_is_stored(project, make_recorder):
    recorder = make_recorder()
    recorder(InvocationFinished(record("paused-1", paused_ms=2500.5)))
    recorder(InvocationFinished(record("plain-1")))
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        assert reader.invocation_record("paused-1").paused_ms == 2500.5
        assert reader.invocation("paused-1").paused_ms == 2500.5
        assert reader.invocation_record("plain-1").paused_ms == 0.0


def test_an_invocations_phases_are_stored(project, make_recorder):
    """The timing bar's numbers (schema 5) survive the store; a row without them draws no bar."""
    recorder = make_recorder()
    recorder(InvocationFinished(record("phased-1", wait_ms=120.5, init_ms=300.0, handler_ms=42.25,
                                       duration_ms=470.0)))
    recorder(InvocationFinished(record("plain-2")))
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        phased = reader.invocation_record("phased-1")
        assert (phased.wait_ms, phased.init_ms, phased.handler_ms) == (120.5, 300.0, 42.25)
        plain = reader.invocation_record("plain-2")
        assert (plain.wait_ms, plain.handler_ms) == (0.0, None)


def test_bad_filter_values_raise_value_error(populated):
    with pytest.raises(ValueError, match="unknown level"):
        populated.logs(Filter(level="loud"))
    with pytest.raises(ValueError, match="unknown status"):
        populated.invocations(Filter(status="6xx"))


def test_saved_requests_crud_through_the_writer(project, make_recorder):
    writer = make_recorder()
    with Reader(project / ".funcstudio" / "studio.db") as reader:
        first = writer.save_request("api/users", "get one", path="/api/users/1", headers=[("Accept", "json")])
        second = writer.save_request("api/users", "create", method="POST", path="/api/users", body='{"name": "x"}')
        writer.save_request("scf/hello", "timer", method="INVOKE", event='{"Type": "Timer"}')
        assert [s.name for s in reader.saved_requests("api/users")] == ["create", "get one"]
        assert len(reader.saved_requests()) == 3
        assert second.body == b'{"name": "x"}' and first.headers == [("Accept", "json")]
        updated = writer.save_request("api/users", "get one", path="/api/users/2")
        assert updated.id == first.id and updated.path == "/api/users/2"
        assert reader.saved_request(first.id).path == "/api/users/2"
        assert writer.delete_saved_request(first.id) is True
        assert writer.delete_saved_request(first.id) is False
        assert reader.saved_request(first.id) is None


def test_the_reader_only_reads(populated):
    assert not hasattr(populated, "save_request") and not hasattr(populated, "clear")
    with populated._borrow() as conn, pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM invocations")


def test_clear_removes_history_keeps_saved_requests_and_tails_restart(project, make_recorder):
    recorder = make_recorder()
    for index in range(5):
        publish_all(recorder, invocation_events(f"r{index}", 4))
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        recorder.save_request("api/hello", "keep me")
        assert recorder.clear() == {"invocations": 5, "logs": 20}
        assert reader.totals() == {"invocations": 0, "logs": 0}
        assert reader.logs() == [] and reader.invocations() == []
        assert reader.count_logs(Filter(text="line")) == 0
        assert [s.name for s in reader.saved_requests()] == ["keep me"]
        publish_all(recorder, invocation_events("fresh", 2))
        assert recorder.flush()
        assert [r.text for r in reader.logs_after(0)] == ["fresh line 0", "fresh line 1"]
        assert reader.count_logs(Filter(text="fresh")) == 2


def test_reader_on_a_missing_store_is_a_clear_error(store_path):
    with pytest.raises(StoreError, match="no recordings yet"):
        Reader(store_path)


def test_time_limit_interrupts_a_slow_query(populated):
    slow = Reader(populated.db_path, time_limit_ms=1)
    try:
        with pytest.raises(QueryTimeout):
            # A deliberately heavy query on the reader's own connection, through its time limit.
            slow._all(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000000) "
                "SELECT count(*) FROM n",
                [],
            )
    finally:
        slow.close()


def test_function_ids_resolve_by_full_id_or_unique_tail(populated, project, make_recorder):
    assert populated.function_ids() == ["api/orders", "api/users"]
    assert populated.resolve_function_id("api/users") == "api/users"
    assert populated.resolve_function_id("users") == "api/users"
    assert populated.resolve_function_id("/orders/") == "api/orders"
    assert populated.resolve_function_id("sers") is None and populated.resolve_function_id("nope") is None
    recorder = make_recorder()
    publish_all(
        recorder,
        invocation_events("a", 0, function_id="cloud-functions/v1/users")
        + invocation_events("b", 0, function_id="cloud-functions/v2/users"),
    )
    assert recorder.flush()
    with Reader(recorder.db_path) as reader:
        with pytest.raises(ValueError, match="give the full id"):
            reader.resolve_function_id("users")
        assert reader.resolve_function_id("v2/users") == "cloud-functions/v2/users"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40))
def test_any_search_text_is_safe(populated, text):
    """Whatever a user types into --grep is words to look for, never FTS5 syntax that can fail."""
    rows = populated.logs(Filter(text=text), limit=5)
    assert isinstance(rows, list)
    assert populated.count_logs(Filter(text=text)) >= len(rows)
    assert isinstance(populated.invocations(Filter(text=text), limit=5), list)


def test_undecodable_command_line_text_is_searched_not_crashed_on(populated):
    text = b"conn\xff".decode("utf-8", "surrogateescape")  # what argv holds for an invalid byte
    hits = populated.logs(Filter(text=text))  # the bad byte becomes a separator: "conn" is searched
    assert hits and all("conn" in hit.text for hit in hits)
    assert populated.logs(Filter(function_id=text)) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=12))
def test_a_stored_word_is_found_by_itself_and_its_prefix(searchable, word):
    recorder, reader = searchable
    request_id = f"w-{len(reader.invocations(limit=10_000))}"
    publish_all(
        recorder,
        invocation_events(request_id, 0)[:1]
        + [LogLine(request_id, "api/words", 0, T0, "stdout", None, f"before {word} after")]
        + invocation_events(request_id, 0)[1:],
    )
    assert recorder.flush()
    for query in (word, word[: max(1, len(word) // 2)]):
        hits = reader.logs(Filter(text=query, request_id=request_id))
        assert [hit.text for hit in hits] == [f"before {word} after"], query


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    from studio.store.db import db_path
    from studio.store.writer import Recorder

    path = db_path(tmp_path_factory.mktemp("words"))
    recorder = Recorder(path)
    recorder.flush()
    reader = Reader(path)
    yield recorder, reader
    reader.close()
    recorder.close()


filters = st.builds(
    Filter,
    function_id=st.sampled_from([None, "api/users", "api/orders"]),
    status=st.sampled_from([None, "2xx", "4xx", "5xx", "404"]),
    level=st.sampled_from([None, "debug", "info", "warning", "error", "critical"]),
    since=st.sampled_from([None, T0 + 20 * 60]),
    has_error=st.sampled_from([None, True, False]),
    text=st.sampled_from([None, "refused", "step", "conn good"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters, st.integers(min_value=1, max_value=40))
def test_pages_tails_and_counts_agree_for_any_filter(populated, filter, page_size):
    everything = populated.logs(filter, limit=10_000)
    assert [r.id for r in everything] == sorted((r.id for r in everything), reverse=True)
    walked = all_pages(lambda before, n: populated.logs(filter, before_id=before, limit=n), page_size)
    assert [r.id for r in walked] == [r.id for r in everything]
    assert populated.count_logs(filter) == len(everything)
    tail = populated.logs_after(0, filter, limit=10_000)
    assert [r.id for r in tail] == [r.id for r in reversed(everything)]
    invocations = all_pages(
        lambda before, n: populated.invocations(filter, before_id=before, limit=n), page_size
    )
    assert len(invocations) == populated.count_invocations(filter)

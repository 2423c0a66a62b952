"""The writer process builds a common finished record's rows straight from its journal line
(`rows.json_row`, queued as a `FinishedRow`): they are exactly the rows of the full path
(`InvocationRecord.from_json`, the redaction pass, `invocation_row`), secrets redacted the same way,
and whatever it does not take goes the full path. The redaction pass's quick "names nothing" check
answers as the full parse does."""

from __future__ import annotations

import dataclasses
import json
import socket
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_builders import failing_record, record

from studio.project.settings import StoreSettings
from studio.runtime.invocation import InvocationRecord, LogLine, ParityWarning
from studio.store import channel
from studio.store.ingester import Ingester
from studio.store.journal import journal_line, line_json
from studio.store.redact import REDACTED, Redactor
from studio.store.rows import ascii_json, invocation_row, json_row
from studio.store.writer import FinishedRow, FinishedWhole, _log_row, whole_event

CAP = 64
"""A small body cap, so that capped bodies are among the cases."""
REDACT, REDACT_BODY_FIELDS = ("X-Tenant", "straße"), ("password", "pin")
ODD_REDACT = (*REDACT, "a/b", 'say"')
"""Names a JSON text may spell with escapes (`a\\/b`): a return value is then always parsed."""
REDACTORS = [Redactor(), Redactor.from_settings(REDACT, REDACT_BODY_FIELDS),
             Redactor.from_settings(ODD_REDACT, REDACT_BODY_FIELDS)]
REDACTOR_IDS = ["default", "with settings", "with odd names"]
EDGEONE_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "21"),
                   ("eo-pages-inner-scf-status", "200"), ("Functions-Request-Id", "93e1deb4"))


def lines(request_id: str, *texts: str, level: str | None = None) -> tuple[LogLine, ...]:
    return tuple(LogLine(request_id, "api/hello", seq, 1_790_000_000.0 + seq, "platform", level, text)
                 for seq, text in enumerate(texts))


CASES = {
    "edgeone": dict(query_string="page=0", request_headers=(("Host", "127.0.0.1:8080"), ("Accept", "*/*")),
                    response_headers=EDGEONE_HEADERS, response_body=b"hello from a function",
                    return_value='{"statusCode": 200, "body": "hello from a function"}', handler_ms=1.1,
                    logs=lines("edgeone", "Pages request path: https://x/fn", "Pages response status: 200"),
                    log_count=2, init_ms=2.5, peak_memory_mb=28.1, code_version="ba28", instance_id="i1"),
    "secret request headers": dict(request_headers=(("Authorization", "Bearer s3cr3t"), ("Cookie", "a=s3cr3t"),
                                                    ("X-Session", "s3cr3t"), ("X-Tenant", "s3cr3t"),
                                                    ("Accept", "*/*"))),
    "secret response headers": dict(response_headers=(("Set-Cookie", "sid=s3cr3t"), ("X-Api-Key", "s3cr3t"),
                                                      *EDGEONE_HEADERS)),
    "secret query": dict(query_string="token=s3cr3t&page=2"),
    "escaped secret query": dict(query_string="%74oken=s3cr3t&page=2"),
    "plus query": dict(query_string="x+tenant=1&sess+ion=2&q=a+b"),
    "non-ascii query": dict(query_string="q=中文&ſession=s3cr3t"),
    "returned cookie": dict(return_value=json.dumps({"statusCode": 200, "body": '{"ok": true}', "headers": {
        "Set-Cookie": "sid=s3cr3t", "X-Auth-Token": "s3cr3t", "Content-Type": "text/plain"}})),
    "returned multi-value headers": dict(return_value=json.dumps({"multiValueHeaders": {
        "Set-Cookie": ["a=s3cr3t", "b=s3cr3t"]}, "cookies": ["c=s3cr3t"], "keys": [1, 2]})),
    "returned escaped name": dict(return_value='{"\\u0053et-\\u0063ookie": "s3cr3t", "ok": ["x"]}'),
    "returned folded name": dict(return_value='{"headers": {"\\u017fe\\u017f\\u017fion": "s3cr3t"}}'),
    "returned slash name": dict(return_value='{"a\\/b": "hidden-1", "say\\"": "hidden-1"}'),
    "returned repr": dict(return_value="{'headers': {'authorization': 'Bearer s3cr3t', 'accept': '*/*'}}"),
    "returned json in json": dict(return_value=json.dumps({"body": json.dumps({"ok": True}), "cookies": "s3cr3t"})),
    "returned plain text": dict(return_value="just words: nothing to hide"),
    "returned number text": dict(return_value="42"),
    "json body field": dict(request_body=b'{"user": "ada", "password": "s3cr3t"}',
                            request_headers=(("Content-Type", "application/json"),)),
    "form body field": dict(request_body=b"user=ada&pin=s3cr3t",
                            request_headers=(("Content-Type", "application/x-www-form-urlencoded"),)),
    "capped bodies": dict(request_body=b"q" * 200, response_body=b"r" * 300),
    "non-ascii everywhere": dict(path="/é/中文", params={"name": "ü"}, response_body="😀".encode(),
                                 logs=lines("non-ascii everywhere", "prix: 3 €", level="warning"), log_count=1),
    "lone surrogates": dict(path="/bad\udcff", logs=lines("lone surrogates", "printed \udcfe bytes"), log_count=1),
    "phases and app path": dict(app_path="/health", paused_ms=3.5, wait_ms=1.25, handler_ms=None),
    "fault and 5xx": dict(status=503, fault="timeout", logs_truncated=True, log_count=900),
    "no status": dict(status=None),
    "params": dict(params={"id": "7", "slug": "a b"}),
    "binary bodies": dict(request_body=bytes(range(256)), response_body=b"\xff\xfe"),
    "error": {},
    "warnings": dict(warnings=(ParityWarning("EO-X", "m", "f"),)),
    "outbox": dict(outbox=({"to": "a@b.c"},)),
}
FULL_PATH_ONLY = {"binary bodies", "error", "warnings", "outbox"}


def case_record(name: str) -> InvocationRecord:
    if name == "error":
        return failing_record(name)
    return record(name, **CASES[name])


def case_line(name: str, request_id: str | None = None) -> bytes:
    rec = case_record(name)
    if request_id is not None:
        rec = dataclasses.replace(rec, request_id=request_id)
    if name == "lone surrogates":  # as `\\udcff` escapes: raw, they are no UTF-8 a reader takes
        return json.dumps(rec.to_json()).encode()
    return journal_line(rec, CAP)


def full_row(data: dict, redactor: Redactor) -> tuple:
    """What the full path stores of `data`: the reference the quick path is held to."""
    rec = redactor.record(InvocationRecord.from_json(data))
    values = invocation_row(rec, CAP)
    return rec.request_id, tuple(values), tuple(values.values()), [_log_row(0, line)[1:] for line in rec.logs]


def assert_same_rows(line: bytes, redactor: Redactor) -> tuple | None:
    data = line_json(line)
    row = json_row(data, CAP, redactor, ascii_json(line))
    assert json_row(data, CAP, redactor) == row  # the ASCII shortcut changes nothing
    if row is not None:
        request_id, columns, values, log_rows = row
        assert (request_id, columns, values, log_rows) == full_row(data, redactor)
    return row


@pytest.mark.parametrize("redactor", REDACTORS, ids=REDACTOR_IDS)
@pytest.mark.parametrize("name", CASES)
def test_the_quick_rows_are_the_full_paths_rows(name, redactor):
    row = assert_same_rows(case_line(name), redactor)
    assert (row is None) == (name in FULL_PATH_ONLY)


@pytest.mark.parametrize("redactor", REDACTORS[1:], ids=REDACTOR_IDS[1:])
def test_secrets_are_redacted_on_the_quick_path(redactor):
    rows = {name: json_row(line_json(case_line(name)), CAP, redactor)
            for name in CASES if name not in FULL_PATH_ONLY}
    assert "s3cr3t" not in repr(rows)
    assert ("hidden-1" in repr(rows)) == (redactor is REDACTORS[1])
    values = dict(zip(rows["secret request headers"][1], rows["secret request headers"][2], strict=True))
    assert json.loads(values["request_headers"]) == [
        ["Authorization", REDACTED], ["Cookie", REDACTED], ["X-Session", REDACTED], ["X-Tenant", REDACTED],
        ["Accept", "*/*"]]
    values = dict(zip(rows["escaped secret query"][1], rows["escaped secret query"][2], strict=True))
    assert values["query_string"] == "token=%5Bredacted%5D&page=2"  # parsed, so the escape is seen through
    values = dict(zip(rows["json body field"][1], rows["json body field"][2], strict=True))
    assert json.loads(values["request_body"]) == {"user": "ada", "password": REDACTED}


# --- any record ------------------------------------------------------------------------------

NAMES = ["Authorization", "authorization", "X-Api-Key", "Cookie", "set-cookie", "X-Tenant", "x-tenant", "author",
         "Accept", "X-Trace", "Session", "a/b", "KEY", "token", "Cookies", "headers", "multiValueHeaders", "ſession"]
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
words = st.one_of(st.sampled_from([*NAMES, "%74oken", "t%6Fken", "to+ken", "中文", "\\u0074oken", "=", "&"]),
                  st.text(max_size=8))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(names, inner, max_size=4)), max_leaves=12)
return_values = st.one_of(
    st.none(), json_values.map(lambda value: json.dumps(value, ensure_ascii=False)),
    json_values.map(json.dumps), st.lists(words, max_size=6).map("".join),
    st.dictionaries(names, st.text(max_size=6), max_size=3).map(repr))
records = st.builds(
    lambda rid, query, req, resp, returned, body, status, extras: record(
        rid, query_string=query, request_headers=tuple(req), response_headers=tuple(resp), return_value=returned,
        request_body=body, status=status, **extras),
    st.text(min_size=1, max_size=8),
    st.lists(words, max_size=6).map("".join),
    st.lists(st.tuples(names, st.text(max_size=6)), max_size=4),
    st.lists(st.tuples(names, st.text(max_size=6)), max_size=4),
    return_values,
    st.one_of(st.binary(max_size=80), json_values.map(lambda value: json.dumps(value).encode())),
    st.one_of(st.none(), st.sampled_from([200, 404, 500, 503])),
    st.fixed_dictionaries({}, optional={"app_path": st.text(max_size=5), "paused_ms": st.floats(0, 5),
                                        "wait_ms": st.floats(0, 5), "fault": st.sampled_from(["timeout", None]),
                                        "params": st.dictionaries(st.text(max_size=4), st.text(max_size=4),
                                                                  max_size=2)}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.sampled_from(REDACTORS))
def test_any_record_gets_the_full_paths_rows_or_takes_it(rec, redactor):
    assert_same_rows(journal_line(rec, CAP), redactor)


class FullPass(Redactor):
    """The redaction pass without its quick check: every text parsed and walked."""

    def _names_nothing(self, text: str) -> bool:
        return False


@settings(max_examples=400, deadline=None)
@given(st.lists(words, max_size=8).map("".join), return_values, st.sampled_from(REDACTORS))
def test_the_quick_check_answers_as_the_full_pass(query, returned, redactor):
    full = FullPass(redactor.extra, redactor.body_fields)
    assert redactor.query(query) == full.query(query)
    if returned:
        assert redactor.text(returned) == full.text(returned)


# --- the writer process, real SQLite -----------------------------------------------------------


def stored(path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                for table in ("invocations", "logs", "frames")}
    finally:
        conn.close()


def test_the_writer_process_stores_what_the_full_path_stores(make_recorder, tmp_path):
    """Every case through the writer process's handling of a FINISHED_WHOLE frame, and the same lines
    as full-path events into another store: the same rows, secrets redacted in both."""
    settings_ = StoreSettings(body_cap_bytes=CAP, redact=REDACT, redact_body_fields=REDACT_BODY_FIELDS)
    journal = [case_line(name, f"r{index}") for index, name in enumerate(CASES)]
    quick, full = tmp_path / "quick" / "studio.db", tmp_path / "full" / "studio.db"
    ingester = Ingester(socket.socketpair()[0])
    ingester.recorder = recorder = make_recorder(settings_, path=quick, journal=False)
    events = [whole_event(line, settings_, recorder._redactor) for line in journal]
    assert {type(event) for event in events} == {FinishedRow, FinishedWhole}
    assert all(event.record == InvocationRecord.from_json(line_json(line))  # built when asked, the same
               for event, line in zip(events, journal, strict=True))
    for line in journal:
        ingester._handle(channel.FINISHED_WHOLE, line)
    assert recorder.flush()
    other = make_recorder(settings_, path=full, journal=False)
    for line in journal:
        other(FinishedWhole(InvocationRecord.from_json(line_json(line))))
    assert other.flush()
    assert recorder.skipped_events == other.skipped_events == 0
    assert stored(quick) == stored(full)
    assert len(stored(quick)["invocations"]) == len(CASES)
    recorder.close()
    other.close()
    raw = b"".join(path.read_bytes() for path in quick.parent.iterdir() if path.is_file())
    assert b"s3cr3t" not in raw


def test_the_writer_process_binds_none_and_bytes_as_sqlite3_does():
    """`bind_as_is` (the writer process's adapters for None and bytes, registered process-wide, so
    checked in a process of its own) binds NULL and BLOBs exactly as sqlite3's own path does."""
    check = ("import sqlite3, sys\n"
             "from studio.store.ingester import bind_as_is\n"
             "if sys.argv[1] == 'adapted':\n"
             "    bind_as_is()\n"
             "conn = sqlite3.connect(':memory:')\n"
             "values = (None, b'', b'\\x00\\xffbody', 'text', 3, 2.5, bytearray(b'ba'))\n"
             "row = conn.execute('SELECT ' + ', '.join('typeof(?), quote(?)' for _ in values),\n"
             "                   [v for value in values for v in (value, value)]).fetchone()\n"
             "print(row, conn.execute('SELECT ?, ?', (None, b'x')).fetchone())\n")
    answers = [subprocess.run([sys.executable, "-c", check, variant], capture_output=True, text=True, timeout=60,
                              check=True).stdout for variant in ("plain", "adapted")]
    assert answers[0] == answers[1]
    assert "'null', 'NULL', 'blob', \"X''\", 'blob', \"X'00FF626F6479'\"" in answers[0]


def test_a_batch_that_is_lost_counts_a_quick_rows_lines_as_the_full_path_does(make_recorder):
    recorder = make_recorder(journal=False)
    line = case_line("edgeone")
    quick = whole_event(line, recorder.settings, recorder._redactor)
    assert type(quick) is FinishedRow
    recorder._count_lost([quick, FinishedWhole(InvocationRecord.from_json(line_json(line)))])
    assert (recorder.dropped_invocations, recorder.dropped_lines) == (2, 4)

"""`funcstudio logs` and `funcstudio show`, driven as a user would: subprocesses on a real store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.project.settings import StoreSettings
from studio.runtime.events import (
    ErrorInfo,
    FrameInfo,
    InvocationFinished,
    InvocationRecord,
    InvocationStarted,
    LogLine,
    ParityWarning,
)
from studio.store.db import SCHEMA_VERSION, db_path
from studio.store.writer import Recorder

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
ENV.pop("NO_COLOR", None)
NOW = time.time()


def run(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
        env=env or ENV,
        cwd=REPO,
    )


def invocation(
    recorder: Recorder, request_id: str, function_id: str, status: int, lines: list[tuple], at: float, **extra
) -> None:
    recorder(InvocationStarted(request_id, function_id, "http", "GET", f"/{function_id}", at))
    for seq, (level, text) in enumerate(lines):
        recorder(
            LogLine(
                request_id, function_id, seq, at + seq / 100, "logging" if level else "stdout", level, text
            )
        )
    recorder(
        InvocationFinished(
            InvocationRecord(
                request_id,
                function_id,
                "edgeone",
                "http-function",
                "http",
                "GET",
                f"/{function_id}",
                status=status,
                started_at=at,
                duration_ms=4.25,
                log_count=len(lines),
                **extra,
            )
        )
    )


BOOM = ErrorInfo(
    "ZeroDivisionError",
    "division by zero",
    'Traceback (most recent call last):\n  File "cloud-functions/api/boom.py", line 4, in onRequest\n'
    "    return 1 / 0\nZeroDivisionError: division by zero\n",
    (FrameInfo("cloud-functions/api/boom.py", 4, "onRequest", "return 1 / 0", {"context": "{...}"}),),
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli-store")
    recorder = Recorder(db_path(folder), StoreSettings())
    invocation(recorder, "aaaa1111-old", "api/users", 200, [("INFO", "listing users from cache")], NOW - 7200)
    invocation(
        recorder,
        "bbbb2222-ok",
        "api/users",
        200,
        [(None, "plain print"), ("INFO", "user 42 found"), ("WARNING", "slow query 800ms")],
        NOW - 60,
        request_headers=(("Authorization", "Bearer s3cret"), ("Accept", "application/json")),
        request_body=b'{"q": 1}',
        response_body=b'{"id": 42}',
        return_value='{"id": 42}',
        wait_ms=0.5, init_ms=1.0, handler_ms=2.0,  # of duration_ms 4.25: the response took 0.75
    )
    invocation(
        recorder,
        "cccc3333-boom",
        "api/boom",
        500,
        [("ERROR", "about to fail"), (None, "bye")],
        NOW - 30,
        error=BOOM,
        warnings=(ParityWarning("EO-DICT-ENVELOPE", "a dict was returned", "return Response"),),
        response_body=b"\x89PNG\x00\x01",
    )
    invocation(recorder, "cccc4444-nf", "api/users", 404, [("INFO", "user 7 missing")], NOW - 10)
    assert recorder.flush()
    recorder.close()
    return folder


def test_logs_prints_lines_oldest_of_the_newest_first(project):
    result = run("logs", str(project))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert "listing users from cache" in lines[0] and "user 7 missing" in lines[-1]
    assert "bbbb2222" in lines[1] and "plain print" in lines[1]
    limited = run("logs", str(project), "-n", "2").stdout.splitlines()
    assert len(limited) == 2 and "bye" in limited[0] and "user 7 missing" in limited[1]


def test_logs_filters(project):
    def texts(*args: str) -> list[str]:
        result = run("logs", str(project), "--json", *args)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["text"] for line in result.stdout.splitlines()]

    assert texts("--function", "api/boom") == ["about to fail", "bye"]
    assert texts("--function", "boom") == ["about to fail", "bye"]  # a unique tail of the id is enough
    assert texts("--status", "5xx") == ["about to fail", "bye"]
    assert texts("--status", "404") == ["user 7 missing"]
    assert texts("--level", "warning") == ["slow query 800ms", "about to fail"]
    assert texts("--level", "ERROR") == ["about to fail"]
    assert texts("--grep", "user") == ["listing users from cache", "user 42 found", "user 7 missing"]
    assert texts("--grep", "42 found") == ["user 42 found"]
    assert texts("--grep", "list cache") == ["listing users from cache"]
    assert texts("--since", "1h") == [
        "plain print",
        "user 42 found",
        "slow query 800ms",
        "about to fail",
        "bye",
        "user 7 missing",
    ]
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(NOW - 45))
    assert texts("--since", iso) == ["about to fail", "bye", "user 7 missing"]
    assert texts("--request", "bbbb") == ["plain print", "user 42 found", "slow query 800ms"]
    assert texts("--errors") == ["about to fail", "bye"]


def test_an_unknown_function_says_what_was_recorded(project):
    result = run("logs", str(project), "--function", "api/nothing")
    assert result.returncode == 0 and result.stdout == ""
    assert "nothing recorded for function 'api/nothing'" in result.stderr and "api/boom" in result.stderr


def test_logs_json_lines_are_complete_objects(project):
    result = run("logs", str(project), "--json", "-n", "1")
    row = json.loads(result.stdout)
    assert row["request_id"] == "cccc4444-nf" and row["level"] == "INFO" and row["function_id"] == "api/users"
    assert set(row) >= {"id", "invocation_id", "seq", "time", "stream", "text"}


def test_logs_invocations_mode(project):
    result = run("logs", str(project), "--invocations")
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and "aaaa1111-old" in lines[0] and "cccc4444-nf" in lines[-1]
    assert "500" in lines[2] and "ZeroDivisionError: division by zero" in lines[2]
    rows = [
        json.loads(line)
        for line in run("logs", str(project), "-i", "--json", "--status", "2xx").stdout.splitlines()
    ]
    assert [r["request_id"] for r in rows] == ["aaaa1111-old", "bbbb2222-ok"]
    assert rows[1]["status"] == 200 and rows[1]["log_count"] == 3


def test_logs_without_a_store_says_so_and_exits_zero(tmp_path):
    result = run("logs", str(tmp_path), "--json")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "No recordings yet" in result.stderr and "funcstudio serve" in result.stderr
    assert not (tmp_path / ".funcstudio").exists()  # reading never creates the store


def test_bad_options_are_usage_errors(project, tmp_path):
    assert run("logs", str(project), "--status", "7xx").returncode == 2
    bad_level = run("logs", str(project), "--level", "loud")
    assert bad_level.returncode == 2 and "unknown level" in bad_level.stderr
    bad_since = run("logs", str(project), "--since", "yesterday-ish")
    assert bad_since.returncode == 2 and "--since" in bad_since.stderr
    missing = run("logs", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_a_newer_store_is_refused_clearly(tmp_path):
    Recorder(db_path(tmp_path)).close()
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    result = run("logs", str(tmp_path))
    assert result.returncode == 1 and "newer funcstudio" in result.stderr and "Traceback" not in result.stderr
    assert run("show", str(tmp_path), "x").returncode == 1


def test_show_prints_one_invocation_whole(project):
    result = run("show", str(project), "cccc3333")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("cccc3333-boom  GET /api/boom  500")
    for expected in (
        "Request",
        "Response",
        "body: binary, 6 bytes",
        "89 50 4e 47 00 01",
        "Error",
        "ZeroDivisionError: division by zero",
        'File "cloud-functions/api/boom.py", line 4',
        "cloud-functions/api/boom.py:4 in onRequest",
        "context = {...}",
        "[EO-DICT-ENVELOPE]",
        "fix: return Response",
        "Logs (2)",
        "about to fail",
    ):
        assert expected in out, expected
    assert "\x1b[" not in out  # not a terminal: no colour


def test_show_draws_the_timing_bar_with_its_numbers(project):
    out = run("show", str(project), "bbbb2222-ok").stdout
    line = next(line for line in out.splitlines() if line.strip().startswith("timing"))
    assert "wait 0.5 ms · cold start 1.0 ms · handler 2.0 ms · response 0.8 ms" in line
    bar = line.split()[1]
    assert set(bar) == {"░", "▒", "█", "▓"} and len(bar) == 40 and bar.count("█") > bar.count("▒")
    assert "timing" not in run("show", str(project), "cccc3333").stdout  # no phases recorded: no bar


def test_show_redacts_and_pretty_prints_json_bodies(project):
    out = run("show", str(project), "bbbb2222-ok").stdout
    assert "Authorization: [redacted]" in out and "s3cret" not in out
    assert '"q": 1' in out and "Return value" in out and "Accept: application/json" in out


def test_show_json(project):
    result = run("show", str(project), "bbbb", "--json")
    data = json.loads(result.stdout)
    assert data["request_id"] == "bbbb2222-ok" and data["status"] == 200
    assert data["request_headers"][0] == ["Authorization", "[redacted]"]
    assert data["body"] == '{"id": 42}' and data["body_size"] is None and data["stored"] is True
    assert [line["text"] for line in data["logs"]] == ["plain print", "user 42 found", "slow query 800ms"]


def test_show_highlights_the_trace_when_colour_is_wanted(project):
    coloured = run("show", str(project), "cccc3333", "--color", "always").stdout
    assert "\x1b[" in coloured and "ZeroDivisionError" in coloured
    no_color = run("show", str(project), "cccc3333", env={**ENV, "NO_COLOR": "1"}).stdout
    assert "\x1b[" not in no_color


def test_show_unknown_ambiguous_and_missing_store(project, tmp_path):
    unknown = run("show", str(project), "zzzz")
    assert unknown.returncode == 1 and "no invocation with request id 'zzzz'" in unknown.stderr
    ambiguous = run("show", str(project), "cccc")
    assert (
        ambiguous.returncode == 1
        and "cccc3333-boom" in ambiguous.stderr
        and "cccc4444-nf" in ambiguous.stderr
    )
    empty = run("show", str(tmp_path), "abc")
    assert empty.returncode == 1 and "No recordings yet" in empty.stderr


def test_clear_asks_first(tmp_path):
    recorder = Recorder(db_path(tmp_path))
    invocation(recorder, "r1", "api/x", 200, [("INFO", "hello")], NOW)
    recorder.close()
    declined = run("logs", str(tmp_path), "--clear", input="n\n")
    assert declined.returncode == 1 and "Delete 1 invocations and 1 log lines" in declined.stderr
    assert "hello" in run("logs", str(tmp_path)).stdout
    accepted = run("logs", str(tmp_path), "--clear", input="y\n")
    assert accepted.returncode == 0 and "Deleted 1 invocations" in accepted.stderr
    assert run("logs", str(tmp_path)).stdout == ""
    recorder = Recorder(db_path(tmp_path))
    invocation(recorder, "r2", "api/x", 200, [("INFO", "again")], NOW)
    recorder.close()
    assert run("logs", str(tmp_path), "--clear", "--yes").returncode == 0
    assert run("logs", str(tmp_path), "-i").stdout == ""


def read_lines(proc: subprocess.Popen, count: int, timeout: float = 30) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.decode().rstrip("\n"))
    return lines


def test_follow_tails_new_lines_until_ctrl_c(tmp_path):
    recorder = Recorder(db_path(tmp_path))
    invocation(recorder, "first", "api/x", 200, [("INFO", "before follow")], NOW)
    assert recorder.flush()
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "logs", str(tmp_path), "--follow", "--json", "--function", "api/x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=REPO,
    )
    try:
        assert [json.loads(line)["text"] for line in read_lines(proc, 1)] == ["before follow"]
        invocation(recorder, "other", "api/y", 200, [("INFO", "not mine")], NOW)
        invocation(recorder, "second", "api/x", 200, [("INFO", "live 1"), ("ERROR", "live 2")], NOW)
        assert recorder.flush()
        assert [json.loads(line)["text"] for line in read_lines(proc, 2)] == ["live 1", "live 2"]
    finally:
        recorder.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"Traceback" not in err


def test_follow_invocations_prints_each_once_when_it_finishes(tmp_path):
    recorder = Recorder(db_path(tmp_path))
    invocation(recorder, "done-1", "api/x", 200, [], NOW)
    recorder(InvocationStarted("slow-2", "api/x", "http", "GET", "/slow", NOW))  # still running
    assert recorder.flush()
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "logs", str(tmp_path), "-i", "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=REPO,
    )
    try:
        assert [json.loads(line)["request_id"] for line in read_lines(proc, 1)] == ["done-1"]
        invocation(recorder, "fast-3", "api/x", 201, [], NOW)
        assert recorder.flush()
        assert [json.loads(line)["request_id"] for line in read_lines(proc, 1)] == ["fast-3"]
        recorder(
            InvocationFinished(
                InvocationRecord(
                    "slow-2",
                    "api/x",
                    "edgeone",
                    "http-function",
                    "http",
                    "GET",
                    "/slow",
                    status=504,
                    fault="timeout",
                )
            )
        )
        assert recorder.flush()
        finished = [json.loads(line) for line in read_lines(proc, 1)]
        assert [(r["request_id"], r["status"], r["state"]) for r in finished] == [("slow-2", 504, "finished")]
    finally:
        recorder.close()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_logs_json_never_imports_textual_or_rich(project):
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in ('textual', 'rich', 'pygments') "
        "if m in sys.modules), file=sys.stderr))\n"
        "from studio.cli import main\n"
        f"main(['logs', {str(project)!r}, '--json'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=60
    )
    assert "LOADED []" in result.stderr, result.stderr


def test_follow_waits_for_a_store_that_does_not_exist_yet(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "logs", str(tmp_path), "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=REPO,
    )
    try:
        assert b"waiting for them" in proc.stderr.readline()
        recorder = Recorder(db_path(tmp_path))
        invocation(recorder, "first-ever", "api/x", 200, [("INFO", "hello from a new store")], NOW)
        assert recorder.flush()
        assert [json.loads(line)["text"] for line in read_lines(proc, 1)] == ["hello from a new store"]
        recorder.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0

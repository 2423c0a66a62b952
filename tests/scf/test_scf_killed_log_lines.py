"""A killed SCF instance still gets the platform's END and Report lines, after everything it streamed."""

from __future__ import annotations

import re
import textwrap

import pytest

KILLER = """
import os, sys, time


def main_handler(event, context):
    print("before", event["mode"])
    sys.stdout.flush()
    if event["mode"] == "sleep":
        time.sleep(60)
    if event["mode"] == "memory":
        blob = bytearray(300 * 1024 * 1024)
        for i in range(0, len(blob), 4096):
            blob[i] = 1
        time.sleep(60)
    if event["mode"] == "os_exit":
        os._exit(7)
    if event["mode"] == "sys_exit":
        sys.exit(3)
    return "ok"
"""

TOML = """
[functions."killer"]
platform = "scf"
src = "killer"
timeout_s = 1
memory_mb = 64
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    from studio.runtime.server import Runtime

    root = tmp_path_factory.mktemp("scfkill")
    (root / "killer").mkdir()
    (root / "killer" / "index.py").write_text(textwrap.dedent(KILLER).lstrip())
    (root / "funcstudio.toml").write_text(textwrap.dedent(TOML).lstrip())
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as rt:
        yield rt


@pytest.mark.parametrize("mode, status, fault", [
    ("sleep", 433, "timeout"),
    ("memory", 434, "memory"),
    ("os_exit", 439, "exit"),
    ("sys_exit", 439, "exit"),
])
def test_end_and_report_close_a_killed_invocation(runtime, mode, status, fault):
    record, logs = runtime.invoke_function("killer", {"mode": mode})
    assert record.status == status and record.fault == fault
    rid = record.request_id
    texts = [(line.stream, line.text) for line in logs]
    platform = [t for s, t in texts if s == "platform"]
    assert platform[:2] == [f"START RequestId: {rid}", f"Event RequestId: {rid}"]
    # exactly one END and one Report, last, after the user's streamed line
    assert platform.count(f"END RequestId: {rid}") == 1
    assert texts[-2] == ("platform", f"END RequestId: {rid}")
    match = re.fullmatch(
        rf"Report RequestId: {rid} Duration:(\d+)ms Memory:64MB "
        r"MaxMemoryUsed:(\d+\.\d{4})MB",
        texts[-1][1],
    )
    assert texts[-1][0] == "platform" and match, texts[-1]
    assert texts.index(("stdout", f"before {mode}")) < len(texts) - 2
    assert [line.seq for line in logs] == list(range(len(logs)))
    assert record.log_count == len(logs)
    if fault == "memory":
        assert float(match.group(2)) > 64
    healthy, _ = runtime.invoke_function("killer", {"mode": "ok"})
    assert healthy.status == 200

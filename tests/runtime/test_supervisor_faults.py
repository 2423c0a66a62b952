"""The fault suite at the gateway: each hostile function kills only its instance, is answered with a
clear error and recorded with the lines it streamed, and the next request to another function works."""

from __future__ import annotations

import threading

import pytest
from gw_helpers import request, serving, wait_until, write_files

from studio.runtime.events import InstanceExited

pytestmark = pytest.mark.slow

FILES = {
    "funcstudio.toml": """
        [limits]
        timeout_s = 2

        [functions."cloud-functions/eat"]
        memory_mb = 150

        # it hangs until killed either way: a short deadline keeps the test short
        [functions."cloud-functions/hang"]
        timeout_s = 1

        [runtime]
        max_instances = 2
        output_cap_bytes = 65536
    """,
    "cloud-functions/ok.py": """
        import os

        def handler(event, context):
            return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": str(os.getpid())}
    """,
    "cloud-functions/slow.py": """
        import os
        import time

        def handler(event, context):
            time.sleep(0.7)
            return {"statusCode": 200, "body": str(os.getpid())}
    """,
    "cloud-functions/hang.py": """
        import sys
        import time

        def handler(event, context):
            print("about to hang", flush=True)
            sys.stderr.write("stderr before hanging\\n")
            time.sleep(600)
    """,
    "cloud-functions/crash.py": """
        import ctypes

        def handler(event, context):
            print("about to segfault", flush=True)
            ctypes.string_at(0)
    """,
    "cloud-functions/exit.py": """
        import sys

        def handler(event, context):
            print("exiting with 3", flush=True)
            sys.exit(3)
    """,
    "cloud-functions/osexit.py": """
        import os

        def handler(event, context):
            print("os._exit(7)", flush=True)
            os._exit(7)
    """,
    "cloud-functions/eat.py": """
        def handler(event, context):
            print("eating memory", flush=True)
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024 * 1024))
    """,
    "cloud-functions/boom.py": """
        def handler(event, context):
            print("about to raise", flush=True)
            raise KeyError("missing")
    """,
    "cloud-functions/flood.py": """
        def handler(event, context):
            line = "x" * 1000
            for _ in range(20000):
                print(line)
            return {"statusCode": 200, "body": "flooded"}
    """,
    "cloud-functions/fdflood.py": """
        import os

        def handler(event, context):
            chunk = b"y" * 4096 + b"\\n"
            for _ in range(5000):
                os.write(1, chunk)
            return {"statusCode": 200, "body": "fd flooded"}
    """,
}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("faults"), FILES)
    with serving(root) as runtime:
        yield runtime


def call(rt, path):
    reply = request(rt.port, "GET", path, timeout=60)
    rid = reply.headers["x-funcstudio-request-id"]
    record = wait_until(lambda: rt.events.finished(rid), 10)
    return reply, record


def healthy(rt):
    reply, record = call(rt, "/ok")
    assert reply.status == 200, reply.body
    assert record.fault is None
    return int(reply.text)


def texts(rt, record):
    return [line.text for line in rt.events.logs(record.request_id)]


def error_lines(rt, record):
    """The ERROR-level lines of this invocation: what an errors-only log view shows for it."""
    return [line for line in rt.events.logs(record.request_id) if line.level == "ERROR"]


def test_uncaught_exception_is_an_error_line(faulty):
    reply, record = call(faulty, "/boom")
    assert reply.status >= 500 and record.error is not None
    [line] = error_lines(faulty, record)
    assert line.stream == "platform" and "KeyError" in line.text
    assert "about to raise" in texts(faulty, record)


def test_timeout_kills_only_that_instance_and_keeps_streamed_lines(faulty):
    ok_pid = healthy(faulty)
    reply, record = call(faulty, "/hang")
    assert record.fault == "timeout"
    assert reply.status >= 500
    assert "timed out" in reply.text
    assert any("about to hang" in t for t in texts(faulty, record))
    assert any("stderr before hanging" in t for t in texts(faulty, record))
    [line] = error_lines(faulty, record)
    assert "timed out" in line.text
    exits = [e for e in faulty.events.of(InstanceExited) if e.function_id == "cloud-functions/hang"]
    assert exits and exits[-1].reason == "timeout"
    assert healthy(faulty) == ok_pid  # the other function's warm instance survived


def test_segfault_is_a_crash(faulty):
    reply, record = call(faulty, "/crash")
    assert record.fault == "crash"
    assert reply.status >= 500
    assert any("about to segfault" in t for t in texts(faulty, record))
    [line] = error_lines(faulty, record)
    assert "crashed" in line.text
    healthy(faulty)


def test_sys_exit_is_an_exit(faulty):
    reply, record = call(faulty, "/exit")
    assert record.fault == "exit"
    assert reply.status >= 500
    assert any("exiting with 3" in t for t in texts(faulty, record))
    healthy(faulty)


def test_os_exit_is_an_exit(faulty):
    reply, record = call(faulty, "/osexit")
    assert record.fault in ("exit", "crash")
    assert reply.status >= 500
    assert any("os._exit(7)" in t for t in texts(faulty, record))
    healthy(faulty)


def test_memory_eater_is_killed_at_its_limit(faulty):
    reply, record = call(faulty, "/eat")
    assert record.fault == "memory"
    assert reply.status >= 500
    assert any("eating memory" in t for t in texts(faulty, record))
    [line] = error_lines(faulty, record)
    assert "memory limit" in line.text
    healthy(faulty)


@pytest.mark.parametrize("path", ["/flood", "/fdflood"])
def test_output_flood_is_truncated_not_buffered(faulty, path):
    reply, record = call(faulty, path)
    lines = faulty.events.logs(record.request_id)
    captured = sum(len(line.text) for line in lines)
    assert captured <= 2 * 65536  # the cap (plus one marker line), not 20 MB
    assert record.logs_truncated or record.fault == "output-flood"
    healthy(faulty)


def test_instances_are_reused_and_capped_per_function(faulty):
    pids: list[int] = []
    lock = threading.Lock()

    def hit():
        reply = request(faulty.port, "GET", "/slow", timeout=60)
        assert reply.status == 200
        with lock:
            pids.append(int(reply.text))

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(pids) == 4
    assert len(set(pids)) <= 2  # max_instances = 2: the others waited for a free one
    live = [i for i in faulty.supervisor.instances() if i["function_id"] == "cloud-functions/slow"]
    assert 1 <= len(live) <= 2


def test_retire_kills_idle_instances_and_next_call_starts_fresh(faulty):
    before = healthy(faulty)
    retired = faulty.supervisor.retire(["cloud-functions/ok"])
    assert retired == ("cloud-functions/ok",)
    reply, record = call(faulty, "/ok")
    assert int(reply.text) != before
    assert record.init_ms is not None

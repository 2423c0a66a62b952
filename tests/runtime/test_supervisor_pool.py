"""Warm-pool housekeeping: idle eviction, the global LRU cap, shutdown, interpreter choice."""

from __future__ import annotations

import os
import sys

import pytest
from gw_helpers import EventLog, request, wait_until, write_files

from studio.project.settings import RuntimeSettings, Settings
from studio.runtime.events import InstanceExited, InstanceStarted
from studio.runtime.server import Runtime
from studio.runtime.supervisor import choose_interpreter

pytestmark = pytest.mark.slow

FUNCTION = """
    import os

    def handler(event, context):
        return {"statusCode": 200, "body": str(os.getpid())}
"""


def project(tmp_path, names):
    return write_files(tmp_path / "proj", {f"cloud-functions/{n}.py": FUNCTION for n in names})


def start(root, **runtime_settings):
    settings = Settings(runtime=RuntimeSettings(**runtime_settings))
    runtime = Runtime(root, settings, host="127.0.0.1", port=0, reload=False)
    events = EventLog()
    runtime.bus.subscribe(events)
    runtime.start()
    return runtime, events


def pid_of(rt, path):
    reply = request(rt.port, "GET", path)
    assert reply.status == 200, reply.body
    return int(reply.text)


def gone(pid):
    """Reaped by the zygote. Not "a zombie": a thread-group leader shows Z while its other threads
    (the worker has a few) are still exiting and still hold its files, the channel included, so the
    runtime cannot see the death yet (a request racing a kill -9 that closely gets the crash)."""
    return not os.path.exists(f"/proc/{pid}")


def test_idle_instances_are_evicted(tmp_path):
    rt, events = start(project(tmp_path, ["a"]), idle_timeout_s=0.5)
    try:
        pid = pid_of(rt, "/a")
        exited = wait_until(lambda: [e for e in events.of(InstanceExited) if e.pid == pid], 15)
        assert exited[0].reason == "idle"
        wait_until(lambda: gone(pid), 10)
        assert rt.supervisor.instances() == []
        assert pid_of(rt, "/a") != pid  # a fresh instance serves the next call
    finally:
        rt.stop()


def test_global_cap_evicts_least_recently_used(tmp_path):
    rt, events = start(project(tmp_path, ["a", "b", "c"]), max_total_instances=2)
    try:
        pid_a = pid_of(rt, "/a")
        pid_b = pid_of(rt, "/b")
        assert pid_of(rt, "/a") == pid_a  # a is now more recent than b
        pid_c = pid_of(rt, "/c")
        exited = wait_until(lambda: [e for e in events.of(InstanceExited) if e.reason == "idle"], 10)
        assert [e.pid for e in exited] == [pid_b]
        live = {i["pid"] for i in rt.supervisor.instances()}
        assert live == {pid_a, pid_c}
    finally:
        rt.stop()


def test_shutdown_kills_every_worker(tmp_path):
    rt, events = start(project(tmp_path, ["a", "b"]))
    pids = [pid_of(rt, "/a"), pid_of(rt, "/b")]
    started = {e.pid for e in events.of(InstanceStarted)}
    assert set(pids) <= started
    rt.stop()
    reasons = {e.pid: e.reason for e in events.of(InstanceExited)}
    assert all(reasons.get(p) == "shutdown" for p in pids)
    wait_until(lambda: all(gone(p) for p in pids), 10)


def test_interpreter_choice(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    assert choose_interpreter(root, Settings()) == sys.executable
    venv_python = root / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    os.symlink(sys.executable, venv_python)
    assert choose_interpreter(root, Settings()) == str(venv_python)
    assert choose_interpreter(root, Settings(python="tools/py")) == str(root / "tools" / "py")
    assert choose_interpreter(root, Settings(python="/usr/bin/python3")) == "/usr/bin/python3"


def test_bad_interpreter_is_a_clear_500_and_the_server_keeps_serving(tmp_path):
    root = project(tmp_path, ["a"])
    settings = Settings(python="/nonexistent/python")
    rt = Runtime(root, settings, host="127.0.0.1", port=0, reload=False)
    events = EventLog()
    rt.bus.subscribe(events)
    rt.start()
    try:
        reply = request(rt.port, "GET", "/a")
        assert reply.status == 500
        assert b"cannot start /nonexistent/python" in reply.body
        record = wait_until(lambda: events.finished(reply.headers["x-funcstudio-request-id"]), 10)
        assert record.fault in ("internal", "load-error")
        assert record.error is not None and "/nonexistent/python" in record.error.message
        assert request(rt.port, "GET", "/__funcstudio/health").status == 200
    finally:
        rt.stop()


def test_instance_killed_while_idle_is_replaced_not_handed_out(tmp_path):
    import signal

    rt, events = start(project(tmp_path, ["a"]))
    try:
        pid = pid_of(rt, "/a")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: gone(pid), 10)
        reply = request(rt.port, "GET", "/a")
        assert reply.status == 200  # a fresh instance, not a fault from the dead one
        assert int(reply.text) != pid
        assert any(e.pid == pid and e.reason == "crash" for e in events.of(InstanceExited))
    finally:
        rt.stop()

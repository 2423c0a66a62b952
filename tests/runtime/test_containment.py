"""Nothing a function starts outlives its instance or funcstudio (Linux: subreapers + PDEATHSIG).

Each function below starts three processes: one in its own process group, one in a new session,
and one orphaned at once by a shell that exits (a double fork). Every case checks with real
processes that all three are gone after the instance or funcstudio ends, and that the record
names what was killed (pid and command).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from gw_helpers import EventLog, request, wait_until, write_files
from helpers import serve_process

from studio.project.settings import RuntimeSettings, Settings
from studio.runtime.events import InstanceExited, LogLine
from studio.runtime.server import Runtime

SPAWN = """
    import json, subprocess, time

    def start_three():
        same_group = subprocess.Popen(["sleep", "300"])
        new_session = subprocess.Popen(["sleep", "301"], start_new_session=True, stdout=subprocess.DEVNULL)
        shell = subprocess.run(["sh", "-c", "sleep 302 >/dev/null 2>&1 & echo $!"], capture_output=True,
                               text=True, start_new_session=True)
        return [same_group.pid, new_session.pid, int(shell.stdout.strip())]

    def handler(event, context):
        pids = start_three()
        if "hang" in (event.get("path") or ""):
            print("PIDS " + json.dumps(pids), flush=True)
            time.sleep(60)
        return {"statusCode": 200, "body": json.dumps(pids)}
"""


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


def all_gone(pids, timeout: float = 15.0) -> bool:
    try:
        wait_until(lambda: all(gone(p) for p in pids), timeout)
    except AssertionError:
        return False
    return True


@pytest.fixture
def spawner(tmp_path):
    return write_files(tmp_path / "proj", {"cloud-functions/spawn.py": SPAWN, "cloud-functions/hang.py": SPAWN})


def start(root, settings: Settings) -> tuple[Runtime, EventLog]:
    runtime = Runtime(root, settings, host="127.0.0.1", port=0, reload=False)
    events = EventLog()
    runtime.bus.subscribe(events)
    runtime.start()
    return runtime, events


def test_an_idle_instance_takes_everything_it_started_with_it(spawner):
    runtime, events = start(spawner, Settings(runtime=RuntimeSettings(idle_timeout_s=0.5)))
    pids: list[int] = []
    try:
        reply = request(runtime.port, "GET", "/spawn")
        assert reply.status == 200, reply.body
        pids = json.loads(reply.text)
        assert not any(gone(p) for p in pids)
        exited = wait_until(lambda: [e for e in events.of(InstanceExited) if e.leftovers], 20)
        assert exited[0].reason == "idle"
        assert all_gone(pids), [p for p in pids if not gone(p)]
        text = "\n".join(exited[0].leftovers)
        for pid in pids:
            assert f"killed pid {pid} (sleep 30" in text, text
    finally:
        runtime.stop()
        _kill(pids)


def test_a_timed_out_invocation_names_the_processes_killed_with_its_instance(spawner):
    (spawner / "funcstudio.toml").write_text("[limits]\ntimeout_s = 2\n")  # discovery reads the file
    runtime, events = start(spawner, Settings())
    pids: list[int] = []
    try:
        reply = request(runtime.port, "GET", "/hang")
        request_id = reply.headers.get("x-funcstudio-request-id")
        lines = [e for e in events.of(LogLine) if e.request_id == request_id]
        printed = next(line.text for line in lines if line.text.startswith("PIDS "))
        pids = json.loads(printed[5:])
        assert all_gone(pids), [p for p in pids if not gone(p)]
        platform = "\n".join(line.text for line in lines if line.stream == "platform")
        for pid in pids:
            assert f"killed pid {pid} (sleep 30" in platform, platform
    finally:
        runtime.stop()
        _kill(pids)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_nothing_outlives_serve_whatever_ends_it(spawner, tmp_path, sig):
    pids: list[int] = []
    try:
        with serve_process(spawner, tmp_path, "--no-reload") as served:
            reply = request(served.port, "GET", "/spawn")
            assert reply.status == 200, reply.body
            pids = json.loads(reply.text)
            assert not any(gone(p) for p in pids)
            served.proc.send_signal(sig)
            served.proc.wait(timeout=30)
        assert all_gone(pids), [p for p in pids if not gone(p)]
    finally:
        _kill(pids)


@pytest.mark.parametrize("how", ["kill -9", "ctrl+q"])
def test_nothing_outlives_the_studio_whatever_ends_it(spawner, how):
    """The studio in a real terminal (a pty): its functions' processes end with it."""
    import pty
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "TERM": "xterm-256color",
           "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "studio", str(spawner), "--port", str(port)],
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    stop = threading.Event()

    def drain() -> None:  # the studio draws continuously; a full pty would block it
        while not stop.is_set():
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    pids: list[int] = []
    try:
        def answering():
            try:
                return request(port, "GET", "/spawn", timeout=5)
            except OSError:
                return None

        reply = wait_until(answering, 60, interval=0.2)
        assert reply.status == 200, reply.body
        pids = json.loads(reply.text)
        assert not any(gone(p) for p in pids)
        if how == "kill -9":
            proc.kill()
        else:
            os.write(master, b"\x11")  # ctrl+q
        proc.wait(timeout=30)
        assert all_gone(pids), [p for p in pids if not gone(p)]
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        _kill(pids)


def _kill(pids) -> None:
    """Leave nothing behind even when the test failed."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

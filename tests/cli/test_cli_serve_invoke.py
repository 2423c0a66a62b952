"""`funcstudio serve` and `funcstudio invoke` as a user runs them: real subprocesses, real HTTP."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def funcstudio(*args, cwd=None, timeout=120, input=None):
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd or ROOT, capture_output=True,
                          timeout=timeout, input=input)


@pytest.fixture(scope="module")
def showcase(sample_copy):
    return sample_copy("pages-showcase")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Served:
    def __init__(self, proc):
        self.proc = proc
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))

    def expect(self, pattern, timeout=60.0):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r}; saw {seen!r}")


@pytest.fixture()
def served(showcase):
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(showcase), "--port", "0", "--no-reload"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    server = Served(proc)
    yield server
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_serve_prints_url_routes_and_one_line_per_invocation_then_stops_cleanly(served):
    url = served.expect(r"serving .* at (http://127\.0\.0\.1:\d+)").group(1)
    served.expect(r"/api/users/:id\s+cloud-functions/api/users/\[id\]")
    with urllib.request.urlopen(url + "/api/users/42", timeout=60) as resp:
        assert resp.status == 200
        assert json.loads(resp.read())["user"]["id"] == "42"
    line = served.expect(r"GET\s+/api/users/42\s+200\s+[\d.]+ms\s+cloud-functions/api/users/\[id\]").group(0)
    assert "ms" in line
    with urllib.request.urlopen(url + "/__funcstudio/health", timeout=30) as resp:
        pids = [i["pid"] for i in json.loads(resp.read())["instances"]]
    assert pids and all(alive(p) for p in pids)
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids), "a worker outlived `serve`"


def test_serve_port_in_use_is_a_clear_message(showcase):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = funcstudio("serve", str(showcase), "--port", str(port), "--no-reload", timeout=60)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"port {port}" in err and "already in use" in err
    assert "Traceback" not in err


def test_serve_non_loopback_host_warns_and_ctrl_c_stops(showcase):
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(showcase), "--host", "0.0.0.0",
                             "--port", "0", "--no-reload"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    try:
        Served(proc).expect(r"serving .* at http://", 60)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    err = proc.stderr.read()
    assert code == 0
    assert b"warning: serving on 0.0.0.0" in err
    assert b"Traceback" not in err


def test_invoke_path_ok_prints_status_body_and_logs(showcase):
    result = funcstudio("invoke", str(showcase), "/api/logs?x=1")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith("HTTP 200")
    assert "logged 4 lines" in out
    assert "this is a warning" in out and "-- logs" in out


def test_invoke_failure_exits_1_with_trace(showcase):
    result = funcstudio("invoke", str(showcase), "/api/boom")
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.startswith("HTTP 500")
    assert "ValueError" in out and "-- error" in out


def test_invoke_json_has_every_field(showcase):
    result = funcstudio("invoke", str(showcase), "/api/hello", "-X", "POST", "-H", "Content-Type: application/json",
                        "-d", '{"name": "Ada"}', "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("request_id", "status", "headers", "body", "return_value", "logs", "error", "warnings",
                "duration_ms"):
        assert key in data, key
    assert data["status"] == 201
    assert json.loads(data["body"])["received"] == {"name": "Ada"}
    assert data["error"] is None


def test_invoke_data_from_file_and_function_id(showcase, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"httpMethod": "POST", "path": "/api/event", "body": "12345"}))
    result = funcstudio("invoke", str(showcase), "cloud-functions/api/event", "-d", f"@{event}", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert json.loads(data["body"])["body_length"] == 5


def test_invoke_warning_is_reported(showcase):
    result = funcstudio("invoke", str(showcase), "/api/plain-dict", "--json")
    data = json.loads(result.stdout)
    assert [w["id"] for w in data["warnings"]] == ["EO-DICT-ENVELOPE"]


@pytest.mark.parametrize("args, message", [
    (("cloud-functions/api/nope",), "no function"),
    (("/api/hello", "-H", "no colon here"), "bad header"),
    (("/api/hello", "-d", "@/does/not/exist.json"), "cannot read"),
    (("a", "b", "c"), "expected [PROJECT] TARGET"),
])
def test_invoke_usage_errors_exit_2(showcase, args, message):
    if args[0] in ("a",):
        result = funcstudio("invoke", *args)
    else:
        result = funcstudio("invoke", str(showcase), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_invoke_404_path_exits_1(showcase):
    result = funcstudio("invoke", str(showcase), "/no/such/route")
    assert result.returncode == 1
    assert result.stdout.decode().startswith("HTTP 404")


def test_cli_commands_do_not_import_textual_or_rich():
    code = ("import sys; from studio.cli import serve_cmd, invoke_cmd; import studio.runtime.server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=60)
    assert out.stdout.decode().strip() == "[]", out.stderr


def test_serve_line_formats():
    from studio.cli.serve_cmd import format_invocation, format_reload
    from studio.runtime.events import InvocationRecord, ParityWarning, ProjectChanged

    record = InvocationRecord(request_id="r", function_id="cloud-functions/api/hello", platform="edgeone",
                              kind="handler-class", trigger="http", method="GET", path="/api/hello",
                              query_string="name=Ada", status=200, duration_ms=12.34, started_at=0.0,
                              warnings=(ParityWarning("EO-X", "m"), ParityWarning("EO-Y", "m")))
    line = format_invocation(record)
    assert "GET" in line and "/api/hello?name=Ada" in line and " 200 " in line and "12.3ms" in line
    assert "cloud-functions/api/hello" in line and "2 warnings" in line
    missing = format_invocation(InvocationRecord(request_id="r", function_id=None, platform=None, kind=None,
                                                 trigger="http", method="GET", path="/x", status=404,
                                                 fault=None))
    assert "(no route)" in missing and "warning" not in missing
    event = ProjectChanged(changed=("cloud-functions/a.py",), time=0.0, function_count=1,
                           retired=("cloud-functions/a",), reload_ms=4.0)
    assert format_reload(event).endswith("reload  cloud-functions/a.py  (1 function, 4ms; retired cloud-functions/a)")

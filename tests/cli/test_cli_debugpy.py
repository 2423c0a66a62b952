"""`funcstudio serve --debugpy`: a DAP client (a small one here, speaking the protocol over loopback
as VS Code does) attaches, follows the zygote and the instance as child processes, and stops at a
breakpoint in the function; without debugpy installed, one clear message."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import write_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


class DapSession:
    """One DAP connection to debugpy's adapter; child processes announced with `debugpyAttach` get
    their own session (what VS Code does with `subProcess: true`)."""

    def __init__(self, port: int, config: dict, name: str, events: queue.Queue, breakpoint: tuple[str, int]):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.port, self.name, self.events, self.breakpoint = port, name, events, breakpoint
        self.buffer = b""
        self.seq = 0
        self.send("initialize", adapterID="funcstudio-test", clientID="funcstudio-test", linesStartAt1=True,
                  columnsStartAt1=True, pathFormat="path")
        self.send("attach", **config)
        threading.Thread(target=self.pump, daemon=True).start()

    def send(self, command: str, **arguments) -> None:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def read(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def pump(self) -> None:
        while True:
            try:
                message = self.read()
            except (OSError, ConnectionError, ValueError):
                return
            kind = message.get("event") or message.get("command")
            self.events.put((self.name, kind, message))
            if kind == "initialized":
                path, line = self.breakpoint
                self.send("setBreakpoints", source={"path": path}, breakpoints=[{"line": line}])
                self.send("configurationDone")
            elif kind == "debugpyAttach":
                body = message["body"]
                DapSession(self.port, body, body["name"], self.events, self.breakpoint)
            elif kind == "stopped":
                self.send("stackTrace", threadId=message["body"]["threadId"])
            elif kind == "stackTrace" and message.get("success"):
                top = message["body"]["stackFrames"][0]
                self.events.put((self.name, "top-frame", (top["name"], top["line"])))
                self.send("continue", threadId=0)


def serve(project: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio", "serve", str(project), "--port", "0", "--no-reload",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


@pytest.fixture()
def project(tmp_path):
    return write_files(tmp_path / "proj", {"cloud-functions/api/calc.py": (
        "def handler(event, context):\n"
        "    value = 21\n"
        "    return {'statusCode': 200, 'body': str(value * 2)}\n")})


def test_a_dap_client_attaches_and_stops_at_a_breakpoint_in_an_instance(project):
    proc = serve(project, "--debugpy", "0")
    try:
        url = adapter = None
        while url is None or adapter is None:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            found = re.search(r"serving \S+ at (http://\S+)", line)
            url = url or (found and found.group(1))
            found = re.search(r"attach a DAP client to 127\.0\.0\.1:(\d+)", line)
            adapter = adapter or (found and int(found.group(1)))
        events: queue.Queue = queue.Queue()
        entry = os.path.realpath(project / "cloud-functions/api/calc.py")
        DapSession(adapter, {"subProcess": True}, "serve", events, (entry, 2))
        seen: list = []
        deadline = time.monotonic() + 60
        while not any(kind == "configurationDone" for _n, kind, _m in seen):  # the root session is ready
            assert time.monotonic() < deadline, seen
            seen.append(events.get(timeout=60))
        answer: dict = {}
        caller = threading.Thread(target=lambda: answer.update(body=urllib.request.urlopen(
            f"{url}/api/calc", timeout=120).read()), daemon=True)
        caller.start()
        while caller.is_alive() and time.monotonic() < deadline + 60:
            try:
                seen.append(events.get(timeout=1))
            except queue.Empty:
                pass
        caller.join(5)
        initialize = next(m for n, kind, m in seen if n == "serve" and kind == "initialize")
        assert initialize["success"] and initialize["body"]["supportsConditionalBreakpoints"]
        children = {n for n, kind, _m in seen if kind == "debugpyAttach"}
        assert len(children) >= 2, children  # the zygote, then the instance forked from it
        stops = [m for _n, kind, m in seen if kind == "top-frame"]
        assert stops == [("handler", 2)]
        assert answer["body"] == b"42"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_without_debugpy_one_clear_message(project, tmp_path):
    blocker = write_files(tmp_path / "no-debugpy", {
        "debugpy/__init__.py": "raise ImportError(\"No module named 'debugpy'\")\n"})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    proc = serve(project, "--debugpy", env=env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip() == ("Error: --debugpy needs debugpy, which is not installed: "
                           "pip install 'funcstudio[debug]'")
    assert "serving" not in out

"""Starting worker processes: through a zygote (fork server) per interpreter, or spawned.

A zygote is `python worker/boot.py zygote <fd>` under the worker interpreter. It pre-imports the
worker runtime and the project's frameworks once; each instance is then a fork of it that gets a
frame channel and two pipes (its fds 1 and 2) passed over the control socket. The supervisor reads
those pipes itself, so fd-level output is never lost with the instance. Where fork or fd passing is
unavailable the instance is spawned as a fresh interpreter with the same channel and pipes.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from studio.runtime.worker import protocol

BOOT = str(Path(__file__).resolve().parent / "worker" / "boot.py")
HELLO_TIMEOUT_S = 60.0
FORK_TIMEOUT_S = 10.0


class WorkerStartError(RuntimeError):
    """The worker interpreter could not be started."""


def fork_supported() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform != "win32"


class WorkerProcess:
    """One running instance process: its pid, frame channel and output pipes."""

    contained = False
    """True when whatever it starts is killed and reported when it ends (a Linux zygote's fork)."""

    def __init__(self, pid: int, channel: socket.socket, out_fd: int, err_fd: int) -> None:
        self.pid = pid
        self.channel = channel
        self.out_fd = out_fd
        self.err_fd = err_fd

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code (negative: the signal), or None if it has not exited within `timeout`."""
        raise NotImplementedError

    def poll(self) -> int | None:
        return self.wait_exit(0)

    def leftovers(self) -> list[tuple[int, str]]:
        """(pid, command) of the processes it left running that were killed when it ended."""
        return []


class _ForkedProcess(WorkerProcess):
    def __init__(self, zygote: Zygote, pid: int, channel, out_fd: int, err_fd: int) -> None:
        super().__init__(pid, channel, out_fd, err_fd)
        self._zygote = zygote
        self.contained = zygote.subreaper

    def wait_exit(self, timeout: float) -> int | None:
        return self._zygote.wait_exit(self.pid, timeout)

    def leftovers(self) -> list[tuple[int, str]]:
        return self._zygote.take_leftovers(self.pid)


class _SpawnedProcess(WorkerProcess):
    def __init__(self, popen: subprocess.Popen, channel, out_fd: int, err_fd: int) -> None:
        super().__init__(popen.pid, channel, out_fd, err_fd)
        self._popen = popen

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=timeout) if timeout else self._popen.poll()
        except subprocess.TimeoutExpired:
            return None


def _pipes() -> tuple[int, int, int, int]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    return out_r, out_w, err_r, err_w


def spawn_process(python: str, config: dict, env: dict | None = None) -> WorkerProcess:
    """A fresh interpreter running one instance (no zygote)."""
    parent, child = socket.socketpair()
    out_r, out_w, err_r, err_w = _pipes()
    try:
        popen = subprocess.Popen(
            [python, BOOT, "instance", str(child.fileno())], pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, start_new_session=True,
            env=env, close_fds=True,
        )
    except OSError as exc:
        for fd in (out_r, err_r):
            os.close(fd)
        parent.close()
        raise WorkerStartError(f"cannot start {python}: {exc}") from exc
    finally:
        child.close()
        os.close(out_w)
        os.close(err_w)
    try:
        protocol.send_frame(parent, {"type": "load", "config": config})
    except OSError:
        pass  # it died at once; the instance reports that (and its stderr) as the load error
    return _SpawnedProcess(popen, parent, out_r, err_r)


class Zygote:
    """The client side of one fork server."""

    def __init__(self, python: str, preload: Sequence[str] = ()) -> None:
        self.python = python
        self._tokens = itertools.count(1)
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._replies: dict[int, dict] = {}
        self._exits: dict[int, int] = {}
        self._leftovers: dict[int, list[tuple[int, str]]] = {}
        self._dead = False
        parent, child = socket.socketpair()
        try:
            self._popen = subprocess.Popen(
                [python, BOOT, "zygote", str(child.fileno())], pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            parent.close()
            raise WorkerStartError(f"cannot start {python}: {exc}") from exc
        finally:
            child.close()
        self._control = parent
        try:
            protocol.send_frame(parent, {"type": "config", "preload": list(preload)})
            parent.settimeout(HELLO_TIMEOUT_S)
            hello, _ = protocol.recv_frame(parent)
            parent.settimeout(None)
        except (OSError, protocol.ProtocolError) as exc:
            self.close()
            raise WorkerStartError(f"the zygote under {python} did not start: {exc}") from exc
        self.pid = int(hello.get("pid") or self._popen.pid)
        self.version = tuple(hello.get("version") or ())
        self.preloaded = list(hello.get("preloaded") or [])
        self.failed = list(hello.get("failed") or [])
        self.subreaper = bool(hello.get("subreaper"))
        self._reader = threading.Thread(target=self._read, name=f"zygote-{self.pid}", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._dead and self._popen.poll() is None

    def _read(self) -> None:
        try:
            while True:
                message, _ = protocol.recv_frame(self._control)
                with self._cond:
                    if message["type"] == "forked":
                        self._replies[int(message.get("token") or 0)] = message
                    elif message["type"] == "exited":
                        if len(self._exits) > 4096:  # exits nobody asked about (pids are reused anyway)
                            for pid in list(self._exits)[:2048]:
                                del self._exits[pid]
                        self._exits[int(message["pid"])] = int(message["returncode"])
                        if message.get("leftovers"):
                            if len(self._leftovers) > 256:  # reports nobody took
                                self._leftovers.clear()
                            self._leftovers[int(message["pid"])] = [
                                (int(pid), str(command)) for pid, command in message["leftovers"]
                            ]
                    self._cond.notify_all()
        except (OSError, protocol.ProtocolError):
            pass
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def fork(self, config: dict) -> WorkerProcess:
        parent, child = socket.socketpair()
        out_r, out_w, err_r, err_w = _pipes()
        token = next(self._tokens)
        try:
            with self._send_lock:
                protocol.send_frame_with_fds(self._control, {"type": "fork", "token": token, "config": config},
                                             [child.fileno(), out_w, err_w])
        except OSError as exc:
            parent.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise WorkerStartError(f"the zygote is gone: {exc}") from exc
        finally:
            child.close()
            os.close(out_w)
            os.close(err_w)
        with self._cond:
            if not self._cond.wait_for(lambda: token in self._replies or self._dead, FORK_TIMEOUT_S):
                reply = {"error": "the zygote did not answer"}
            else:
                reply = self._replies.pop(token, {"error": "the zygote exited"})
        if "pid" not in reply:
            parent.close()
            for fd in (out_r, err_r):
                os.close(fd)
            raise WorkerStartError(f"fork failed: {reply.get('error')}")
        return _ForkedProcess(self, int(reply["pid"]), parent, out_r, err_r)

    def wait_exit(self, pid: int, timeout: float) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: pid in self._exits or self._dead, timeout)
            return self._exits.get(pid)

    def take_leftovers(self, pid: int) -> list[tuple[int, str]]:
        with self._cond:
            return self._leftovers.pop(pid, [])

    def close(self) -> None:
        self._dead = True
        try:
            self._control.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._control.close()
        except OSError:
            pass
        try:  # it kills every instance and what they left running, then exits
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait(timeout=2)

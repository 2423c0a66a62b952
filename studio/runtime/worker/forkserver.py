"""The zygote: pre-import the runtime and the project's frameworks once, then fork instances.

Speaks the fork-server frames of protocol.py on its control socket. It stays single-threaded
(forking a threaded process is unsafe), reaps its children and reports their exit status, since
the supervisor is not their parent.

Containment (Linux): the zygote and every instance are child subreapers, so whatever a function
starts, at any depth and in its own session or not, stays below its instance while the instance
lives (a daemon that double-forks is adopted by the instance, not by init). When an instance ends,
for any reason, what it left running is adopted by the zygote; the zygote SIGKILLs it (and whatever
that leaves in turn) and reports each one's pid and command in the instance's `exited` frame. When
the control socket closes (funcstudio ended, even by SIGKILL), the zygote kills every instance and
everything below them before it exits. Instances also die with the zygote (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import gc
import importlib
import os
import selectors
import signal
import socket
import sys
import time
import traceback

from . import protocol

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
LEFTOVER_ROUNDS = 200
"""Kill-and-reap rounds at most: each round kills what the previous round's victims left behind."""

RUNTIME_MODULES = ("serve", "capture", "adapters", "loader", "httpreq", "edgeone", "eo_function",
                   "handler_class", "wsgi", "asgi", "cocopot_compat")


def preload(names) -> tuple[list[str], list[str]]:
    package = __package__
    for name in RUNTIME_MODULES:
        importlib.import_module(f"{package}.{name}")
    from . import cocopot_compat

    cocopot_compat.install()
    done, failed = [], []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except BaseException:  # noqa: BLE001 - a framework that fails to import is simply not preloaded
            failed.append(name)
    if "flask" in sys.modules:
        from . import eo_function

        try:
            eo_function.FlaskRequestContext.prepare()
        except Exception:  # noqa: BLE001 - a broken flask just means a slower first request
            pass
    return done, failed


def main(control_fd: int) -> int:
    control = socket.socket(fileno=control_fd)
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    first, _blob, _fds = protocol.recv_frame_with_fds(control)
    done, failed = preload(first.get("preload") or [])
    # Keep the preloaded objects out of the children's garbage collections: collecting them would
    # touch (and so copy) every page the forks share with the zygote.
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    protocol.send_frame(control, {"type": "hello", "pid": os.getpid(), "python": sys.executable,
                                  "version": list(sys.version_info[:3]), "preloaded": done, "failed": failed,
                                  "subreaper": subreaper})
    instances: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    while True:
        for key, _ in selector.select():
            if key.data == "wake":
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                _reap(control, instances)
                continue
            try:
                message, _blob, fds = protocol.recv_frame_with_fds(control)
            except (protocol.ProtocolError, OSError):
                _end_everything(instances)
                return 0
            if message.get("type") != "fork" or len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            pid = _fork(control, message, fds, (wake_r, wake_w))
            if pid:
                instances.add(pid)
        _reap(control, instances)


def _reap(control: socket.socket, instances: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in instances:
            continue  # an adoptee that ended by itself
        instances.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        frame = {"type": "exited", "pid": pid, "returncode": code}
        leftovers = _end_leftovers(instances)
        if leftovers:
            frame["leftovers"] = leftovers
        try:
            protocol.send_frame(control, frame)
        except OSError:
            return


def _end_everything(instances: set[int]) -> None:
    """funcstudio is gone: kill every instance (its process group first) and all below them."""
    for pid in instances:
        _sigkill(pid, group=True)
    _wait_all(instances)
    _end_leftovers(set())


def _end_leftovers(instances: set[int]) -> list[list]:
    """SIGKILL and reap every child of the zygote that is not a live instance: what ended instances
    left running (the zygote is their subreaper). Returns [pid, command] of each one killed."""
    killed: list[list] = []
    signalled: set[int] = set()  # one kill and one bounded wait each: a stuck one must not stall us
    for _ in range(LEFTOVER_ROUNDS):
        strays = [pid for pid in _children(os.getpid()) if pid not in instances and pid not in signalled]
        if not strays:
            break
        for pid in strays:
            state, command = _describe(pid)
            if state not in ("Z", "X", ""):
                killed.append([pid, command])
            _sigkill(pid)
        signalled.update(strays)
        _wait_all(strays)
    return killed


def _sigkill(pid: int, group: bool = False) -> None:
    for kill in (os.killpg, os.kill) if group else (os.kill,):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _wait_all(pids, timeout: float = 2.0) -> None:
    """Reap `pids` (SIGKILLed), waiting at most `timeout`: a process stuck in the kernel (D state)
    must not stall the zygote; it is reaped later with the other exits."""
    waiting = set(pids)
    deadline = time.monotonic() + timeout
    while waiting:
        for pid in list(waiting):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                waiting.discard(pid)
        if waiting:
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)


def _children(parent: int) -> list[int]:
    """Pids whose parent is `parent` (a scan of /proc; empty where there is no /proc)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(name))
    return found


def _describe(pid: int) -> tuple[str, str]:
    """(state letter, command line) of a process, ("", "") once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            head, rest = stat.read().rsplit(b")", 1)
        state = rest.split()[0].decode("ascii", "replace")
    except (OSError, IndexError, ValueError):
        return "", ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        command = ""
    if not command:
        command = "[" + head.split(b"(", 1)[-1].decode("utf-8", "replace") + "]"
    return state, command[:300]


def _prctl(option: int, value: int) -> bool:
    """Linux prctl(2); False elsewhere or when refused."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the instance is SIGKILLed when the zygote goes, and adopts what its function's
    processes orphan (so nothing it started escapes to init while it lives)."""
    if not _prctl(PR_SET_PDEATHSIG, signal.SIGKILL):
        return
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if os.getppid() != parent_pid:  # the zygote died before prctl took effect
        os._exit(70)


def _fork(control: socket.socket, message: dict, fds: list[int], wake: tuple[int, int]) -> int | None:
    channel_fd, out_fd, err_fd = fds
    zygote_pid = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        protocol.send_frame(control, {"type": "forked", "token": message.get("token"), "error": str(exc)})
        return None
    if pid == 0:
        code = 70
        try:
            os.setsid()
            _die_with_parent(zygote_pid)
            os.set_inheritable(channel_fd, False)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            for fd in wake:
                os.close(fd)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            os.close(out_fd)
            os.close(err_fd)
            from . import serve

            code = serve.run(socket.socket(fileno=channel_fd), message["config"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - report on the instance's stderr pipe, then exit
            try:
                os.write(2, traceback.format_exc().encode("utf-8", "replace"))
            except OSError:
                pass
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    protocol.send_frame(control, {"type": "forked", "token": message.get("token"), "pid": pid})
    return pid

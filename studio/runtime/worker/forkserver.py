"""The zygote: pre-import the runtime and the project's frameworks once, then fork instances.

Speaks the fork-server frames of protocol.py on its control socket. It stays single-threaded
(forking a threaded process is unsafe), reaps its children and reports their exit status, since
the supervisor is not their parent. It exits when the control socket closes, killing nothing:
instances live in their own sessions and are the supervisor's to kill.
"""

from __future__ import annotations

import gc
import importlib
import os
import selectors
import signal
import socket
import sys
import traceback

from . import protocol

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
                                  "version": list(sys.version_info[:3]), "preloaded": done, "failed": failed})
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
                _reap(control)
                continue
            try:
                message, _blob, fds = protocol.recv_frame_with_fds(control)
            except (protocol.ProtocolError, OSError):
                return 0
            if message.get("type") != "fork" or len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            _fork(control, message, fds, (wake_r, wake_w))
        _reap(control)


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        try:
            protocol.send_frame(control, {"type": "exited", "pid": pid, "returncode": code})
        except OSError:
            return


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the instance is SIGKILLed when the zygote goes, so a dead studio leaves no orphans."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the zygote died before prctl took effect
        os._exit(70)


def _fork(control: socket.socket, message: dict, fds: list[int], wake: tuple[int, int]) -> None:
    channel_fd, out_fd, err_fd = fds
    zygote_pid = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        protocol.send_frame(control, {"type": "forked", "token": message.get("token"), "error": str(exc)})
        return
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

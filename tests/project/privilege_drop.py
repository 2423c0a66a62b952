"""Helpers for permission tests: tests may run as root, who reads any file regardless of its mode.

`run_unprivileged(fn)` runs `fn` in a forked child that dropped to `nobody` (no exec needed), so
a chmod 000 file really is unreadable; as an ordinary user it simply calls `fn`.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def run_unprivileged(fn):
    """Run `fn()` as an ordinary user and return its result.

    Tests may run as root, who reads any file regardless of its mode. When they do, a forked child
    drops to `nobody` (no exec needed) so the permission checks are real; otherwise `fn` runs here.
    """
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            data = pickle.dumps(fn())
        except BaseException as exc:  # report, never escape into pytest's loop
            data = pickle.dumps(RuntimeError(repr(exc)))
            code = 1
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 30  # bounded: a child stuck on a lock inherited at fork is killed
    with os.fdopen(read_end, "rb", buffering=0) as inp:
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([inp], [], [], max(remaining, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise TimeoutError("the unprivileged child did not answer within 30 s")
            chunk = inp.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    data = b"".join(chunks)
    result = pickle.loads(data)
    if isinstance(result, RuntimeError):
        raise result
    return result


@contextmanager
def shared_folder():
    """A temporary folder an unprivileged user can enter (pytest's tmp_path is private to its
    owner); every mode is restored before it is removed."""
    folder = Path(tempfile.mkdtemp(prefix="funcstudio-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)

"""Nothing is lost in silence: a store deleted, replaced or overwritten under a running `serve`, a
read-only `.funcstudio/` (a read-only bind mount), a full disk (a small tmpfs) that gets room again.

Real processes and real file systems throughout (tests and CI run as root, so `mount` works).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import serve_process, write_files

from studio.store.db import db_path, open_store

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"


def get(port: int, path: str) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("X-Funcstudio-Request-Id"), response.read()
    finally:
        conn.close()


def health(port: int) -> dict:
    return json.loads(get(port, "/__funcstudio/health")[2])


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s")


def stored_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT request_id FROM invocations")}
    finally:
        conn.close()


def all_stored(path: Path, ids: list[str]) -> bool:
    """Answered means journaled; the writer commits within its batch window, so wait for it."""
    def check() -> bool:
        try:
            return set(ids) <= stored_ids(path)
        except sqlite3.Error:
            return False  # between the deletion and the fresh store
    try:
        return bool(wait_for(check, 30))
    except AssertionError:
        return False


@contextlib.contextmanager
def serving(project: Path, tmp_path: Path):
    """`funcstudio serve` in a real process: (port, stderr file); SIGTERM at the end."""
    with serve_process(project, tmp_path, "--no-reload") as served:
        yield served.port, served.err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_files(tmp_path / "proj", {"cloud-functions/hello.py": HELLO})


def answered(port: int, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        status, request_id, _body = get(port, "/hello")
        assert status == 200
        ids.append(request_id)
    return ids


def test_a_deleted_store_is_started_afresh_and_said_once(project, tmp_path):
    store = db_path(project)
    followed = tmp_path / "follow.out"
    with serving(project, tmp_path) as (port, err), open(followed, "wb") as follow_out:
        before = answered(port, 3)
        assert all_stored(store, before)
        follower = subprocess.Popen([sys.executable, "-m", "studio", "logs", str(project), "-i", "--follow"],
                                    stdout=follow_out, stderr=subprocess.STDOUT, env=ENV, cwd=REPO)
        try:
            wait_for(lambda: before[-1] in followed.read_text())
            store.unlink()  # as `rm studio.db` does: its -wal and -shm stay
            time.sleep(0.5)  # the follower sees the store gone and waits, as `tail -F` does
            after = answered(port, 20)
            assert all_stored(store, after), "answered invocations vanished"
            status = health(port)
            assert status["recording"] == "on" and "was deleted" in status["store_notice"]
            assert get(port, f"/__funcstudio/invocations/{after[-1]}")[0] == 200  # the lookup reads the new file
            wait_for(lambda: after[-1] in followed.read_text())  # and `logs --follow` goes on in it
        finally:
            follower.kill()
            follower.wait()
    said = err.read_text()
    assert said.count("was deleted while recording") == 1, said


def test_a_deleted_store_folder_gets_a_fresh_store_and_journal(project, tmp_path):
    import shutil

    store = db_path(project)
    with serving(project, tmp_path) as (port, err):
        assert all_stored(store, answered(port, 3))
        shutil.rmtree(store.parent)  # `rm -rf .funcstudio` while serving
        after = answered(port, 10)
        assert all_stored(store, after)
        # the serving process opens a new journal on its writer's next message; a commit can be in
        # the store a moment before that message is read (and `rm -rf` may still have been deleting
        # when an earlier one came)
        deadline = time.monotonic() + 10
        while not list((store.parent / "journal").glob("*.jsonl")) and time.monotonic() < deadline:
            answered(port, 1)
            time.sleep(0.1)
        assert list((store.parent / "journal").glob("*.jsonl")), "answered invocations are journaled again"
        assert "was deleted" in health(port)["store_notice"]


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_store_overwritten_with_garbage_is_kept_aside_untouched(project, tmp_path, how):
    store = db_path(project)
    garbage = os.urandom(64 * 1024)
    with serving(project, tmp_path) as (port, err):
        answered(port, 3)
        if how == "in place":  # same inode: only the SQLite magic tells
            with open(store, "r+b") as handle:
                handle.write(garbage)
                handle.truncate()
        else:
            (tmp_path / "garbage").write_bytes(garbage)
            os.replace(tmp_path / "garbage", store)
        after = answered(port, 20)
        assert all_stored(store, after)
        assert "not a database" in health(port)["store_notice"] or "replaced" in health(port)["store_notice"]
    # after the shutdown: the garbage was never checkpointed into, and the fresh store is whole
    [aside] = store.parent.glob("studio.db.unusable-*[0-9]")
    assert aside.read_bytes() == garbage
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert err.read_text().count("while recording") == 1


@contextlib.contextmanager
def read_only(folder: Path):
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("contents", ["empty", "with a store"])
def test_a_read_only_funcstudio_folder_turns_recording_off_and_serving_goes_on(project, tmp_path, contents):
    folder = project / ".funcstudio"
    folder.mkdir()
    if contents == "with a store":
        open_store(db_path(project)).close()
    with read_only(folder), serving(project, tmp_path) as (port, err):
        answered(port, 3)
        status = health(port)
        assert status["recording"] == "off" and status["dropped_invocations"] == 3
        assert str(folder) in status["recording_reason"]
    said = [line for line in err.read_text().splitlines() if "recording is off" in line]
    assert len(said) == 1, err.read_text()


def test_after_a_full_disk_recording_comes_back_and_says_what_was_dropped(project, tmp_path):
    from studio.runtime.server import Runtime
    from studio.store.wiring import record_runtime

    folder = project / ".funcstudio"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], check=True)
    runtime = recording = None
    try:
        runtime = Runtime(project, host="127.0.0.1", port=0, reload=False)
        recording = record_runtime(runtime)
        runtime.start()
        port = runtime.port
        first = answered(port, 2)
        filler = folder / "filler"
        with open(filler, "wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        while health(port)["recording"] == "on":  # each answer tries a write until one fails
            answered(port, 1)
        assert "full" in health(port)["recording_reason"]
        dropped_while_full = answered(port, 7)
        assert health(port)["dropped_invocations"] >= 7
        filler.unlink()
        wait_for(lambda: health(port)["recording"] == "on", 60)
        later = answered(port, 2)
        assert recording.recorder.flush()
        stored = stored_ids(db_path(project))
        assert set(first + later) <= stored and not set(dropped_while_full) & stored
        dropped = health(port)["dropped_invocations"]
        logs = subprocess.run([sys.executable, "-m", "studio", "logs", str(project)], capture_output=True, text=True,
                              env=ENV, cwd=REPO, timeout=60)
        # "N invocations were not recorded", or "N invocations and M log lines were not recorded" when
        # the failed batch held the lines of an invocation too
        assert re.search(rf"\b{dropped} invocations( and \d+ log lines)? were not recorded", logs.stdout), (
            logs.stdout + logs.stderr)
        assert "full" in logs.stdout
    finally:
        if runtime is not None:
            runtime.stop()
        if recording is not None:
            recording.close()
        subprocess.run(["umount", "-l", str(folder)], check=False)

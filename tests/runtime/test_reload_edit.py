"""Reload through the real watcher: edit -> new code, syntax error -> the last good version serves ->
fixed -> works, an in-place save hammered under load never 404s,
helper modules retire their importers, new files get routes, and requests never fail meanwhile."""

from __future__ import annotations

import os
import threading
import time

import pytest
from gw_helpers import request, serving, wait_until, write_files

from studio.runtime.events import ProjectChanged
from studio.runtime.reloader import is_watched

pytestmark = pytest.mark.slow

FILES = {
    "cloud-functions/api/version.py": """
        def handler(event, context):
            return {"statusCode": 200, "body": "v1"}
    """,
    "cloud-functions/api/shared.py": """
        GREETING = "hello"
    """,
    "cloud-functions/api/greet.py": """
        from api import shared

        def handler(event, context):
            return {"statusCode": 200, "body": shared.GREETING}
    """,
    "cloud-functions/api/other.py": """
        import os

        def handler(event, context):
            return {"statusCode": 200, "body": str(os.getpid())}
    """,
}


@pytest.fixture()
def live(tmp_path):
    root = write_files(tmp_path / "proj", FILES)
    with serving(root, reload=True) as runtime:
        yield runtime


def body(rt, path):
    reply = request(rt.port, "GET", path)
    return reply.status, reply.body.decode("utf-8", "replace")


def save(path, text):
    # a new mtime even on coarse-timestamp filesystems
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_edit_runs_new_code_and_other_instances_survive(live):
    root = live.root
    assert body(live, "/api/version") == (200, "v1")
    other_pid = body(live, "/api/other")[1]
    save(root / "cloud-functions/api/version.py",
         'def handler(event, context):\n    return {"statusCode": 200, "body": "v2"}\n')
    wait_until(lambda: body(live, "/api/version") == (200, "v2"), 20)
    changed = wait_until(lambda: [e for e in live.events.of(ProjectChanged)
                                  if "cloud-functions/api/version.py" in e.changed], 10)
    assert "cloud-functions/api/version" in changed[-1].retired
    assert body(live, "/api/other")[1] == other_pid  # untouched function kept its warm instance


def test_helper_module_change_retires_its_importers(live):
    root = live.root
    assert body(live, "/api/greet") == (200, "hello")
    save(root / "cloud-functions/api/shared.py", 'GREETING = "bonjour"\n')
    wait_until(lambda: body(live, "/api/greet") == (200, "bonjour"), 20)


def test_a_file_that_stops_parsing_keeps_its_last_good_version_until_fixed(live):
    root = live.root
    path = root / "cloud-functions/api/version.py"
    assert body(live, "/api/version") == (200, "v1")
    save(path, "def handler(event, context)\n    return {'statusCode': 200, 'body': 'broken'}\n")
    wait_until(lambda: any(p.code == "last-good-version" and p.file == "cloud-functions/api/version.py"
                           for p in live.project.problems), 20)
    assert any(p.code == "syntax-error" and p.file == "cloud-functions/api/version.py"
               for p in live.project.problems)  # the load error is shown beside it
    assert body(live, "/api/version") == (200, "v1")  # the warm instance keeps serving its code
    save(path, 'def handler(event, context):\n    return {"statusCode": 200, "body": "fixed"}\n')
    wait_until(lambda: body(live, "/api/version") == (200, "fixed"), 20)
    assert not any(p.code == "last-good-version" for p in live.project.problems)


def test_a_file_that_never_loaded_answers_its_load_error(live):
    root = live.root
    save(root / "cloud-functions/api/fresh.py", "def handler(event, context)\n    return {}\n")

    def load_error():
        reply = request(live.port, "GET", "/api/fresh")
        return reply if reply.status == 500 and b"SyntaxError" in reply.body else None

    reply = wait_until(load_error, 20)
    record = wait_until(lambda: live.events.finished(reply.headers["x-funcstudio-request-id"]), 10)
    assert record.fault == "load-error"
    assert record.error is not None and record.error.type == "SyntaxError"
    assert body(live, "/api/other")[0] == 200  # the server never stopped


def test_hammer_in_place_saves_under_load_never_404(live):
    """An editor saving in place truncates the file, then writes it (here in two halves, the first
    not even valid Python): requests meanwhile keep getting an answer from the function, never 404,
    and every save ends up serving."""
    root = live.root
    path = root / "cloud-functions/api/version.py"
    assert body(live, "/api/version") == (200, "v1")
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            seen.append(body(live, "/api/version"))

    clients = [threading.Thread(target=client) for _ in range(2)]
    for thread in clients:
        thread.start()
    try:
        for n in range(2, 22):
            text = f'def handler(event, context):\n    return {{"statusCode": 200, "body": "v{n}"}}\n'
            with open(path, "w", encoding="utf-8") as handle:  # O_TRUNC: the file is empty now
                handle.write(text[:25])  # half a line: does not parse
                handle.flush()
                os.fsync(handle.fileno())
                time.sleep(0.003)  # long enough for the watcher to see the broken state
                handle.write(text[25:])
            wait_until(lambda n=n: body(live, "/api/version") == (200, f"v{n}"), 20)
    finally:
        stop.set()
        for thread in clients:
            thread.join(30)
    assert seen, "the clients got no answer at all"
    # Every answer comes from a loaded version: an instance forked while a save is half written gets
    # the entry's source the supervisor last saw parse, never the half-written file (no 404, no 500).
    odd = [(status, text) for status, text in seen if not (status == 200 and text.startswith("v"))]
    assert not odd, (len(odd), len(seen), odd[:3])


def test_new_file_gets_a_route_and_removed_file_loses_it(live):
    root = live.root
    assert body(live, "/api/fresh")[0] == 404
    save(root / "cloud-functions/api/fresh.py",
         'def handler(event, context):\n    return {"statusCode": 200, "body": "new"}\n')
    wait_until(lambda: body(live, "/api/fresh") == (200, "new"), 20)
    (root / "cloud-functions/api/fresh.py").unlink()
    wait_until(lambda: body(live, "/api/fresh")[0] == 404, 20)


def test_requests_during_reloads_never_fail(live):
    root = live.root
    statuses: list[int] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            statuses.append(request(live.port, "GET", "/api/other").status)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for i in range(5):
            save(root / "cloud-functions/api/version.py",
                 f'def handler(event, context):\n    return {{"statusCode": 200, "body": "r{i}"}}\n')
            time.sleep(0.15)
        wait_until(lambda: body(live, "/api/version") == (200, "r4"), 20)
    finally:
        stop.set()
        worker.join(30)
    assert statuses and set(statuses) == {200}


def test_ignored_paths():
    from pathlib import Path

    root = Path("/p")
    assert is_watched("/p/cloud-functions/a.py", root)
    for ignored in ("/p/.funcstudio/studio.db", "/p/.git/index", "/p/.venv/lib/x.py",
                    "/p/cloud-functions/__pycache__/a.cpython-311.pyc", "/p/cloud-functions/.#a.py",
                    "/p/http-requests/users.http", "/p/http-client.env.json",
                    "/p/http-requests/http-client.private.env.json"):
        assert not is_watched(ignored, root), ignored


def test_new_top_level_folder_is_watched_and_venv_is_not(live):
    from studio.runtime.events import ProjectChanged

    root = live.root
    venv_file = root / ".venv" / "lib" / "site.py"
    venv_file.parent.mkdir(parents=True)
    save(venv_file, "x = 1\n")
    # a new top-level platform folder: its first function is discovered and served
    (root / "cocobase").mkdir()
    save(root / "cocobase" / "ping.py", 'def main():\n    return "pong"\n')
    reply = wait_until(lambda: (r := request(live.port, "GET", "/functions/ping/execute")).status == 200 and r, 20)
    assert reply.json()["result"] == "pong"
    # and later edits inside it are seen too
    save(root / "cocobase" / "ping.py", 'def main():\n    return "pong2"\n')
    wait_until(lambda: request(live.port, "GET", "/functions/ping/execute").json()["result"] == "pong2", 20)
    changed = [p for e in live.events.of(ProjectChanged) for p in e.changed]
    assert not any(p.startswith(".venv") for p in changed)

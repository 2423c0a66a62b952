"""Hostile project trees: a symlink to `/`, a 50 MB source file, a file name holding a newline.

Each case runs the real commands in their own processes, bounded by a timeout (a hang fails the
test, not the suite) and measured for peak memory with `os.wait4`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import serve_process, write_files

from studio.project import files
from studio.project.loader import load_project

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
HELLO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"
BOUND_S = 60


# Measures its one child: a process forked from pytest itself would count pytest's pages as its own.
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_measured(*args: str) -> tuple[int, str, float]:
    """(exit code, stdout + stderr, peak RSS in MB) of `funcstudio ARGS`; fails past BOUND_S."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = os.path.join(scratch, "peak")
        proc = subprocess.Popen([sys.executable, "-c", MEASURE, peak_file, sys.executable, "-m", "studio", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV, cwd=REPO,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"`funcstudio {' '.join(args)}` still running after {BOUND_S} s") from None
        with open(peak_file) as handle:
            peak_kb = int(handle.read())
    return proc.returncode, out.decode("utf-8", "replace"), peak_kb / 1024


def test_a_symlink_to_root_is_one_problem_and_never_walked(tmp_path):
    project = write_files(tmp_path / "proj", {"cloud-functions/hello.py": HELLO})
    (project / "cloud-functions" / "everything").symlink_to("/")
    (project / "cloud-functions" / "passwd.py").symlink_to("/etc/passwd")
    code, out, peak = run_measured("check", str(project))
    outside = [line for line in out.splitlines() if "symlink-outside" in line]
    assert len(outside) == 2, out
    assert any(line.startswith("cloud-functions/everything:") for line in outside), out
    assert peak < 400, f"check peaked at {peak:.0f} MB"
    code, out, _ = run_measured("routes", str(project))
    assert code == 0 and "/hello" in out
    # the reloader does not follow it either
    from studio.runtime.reloader import Reloader

    watched = Reloader(project, lambda paths: None).tree_dirs()
    assert watched == [str(project / "cloud-functions")]


def test_serve_and_its_reloader_start_beside_a_symlink_to_root(tmp_path):
    project = write_files(tmp_path / "proj", {"cloud-functions/hello.py": HELLO})
    (project / "cloud-functions" / "everything").symlink_to("/")
    with serve_process(project, tmp_path, timeout=BOUND_S) as served:
        deadline = time.monotonic() + BOUND_S
        while "watching for changes" not in served.err.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "watching for changes" in served.err.read_text(), served.err.read_text()
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=BOUND_S)
        conn.request("GET", "/hello")
        assert conn.getresponse().status == 200
        conn.close()


def test_a_source_file_above_the_cap_is_reported_not_read(tmp_path):
    project = write_files(tmp_path / "proj", {"cloud-functions/hello.py": HELLO})
    with open(project / "cloud-functions" / "huge.py", "w") as handle:
        line = "x = 'padding padding padding padding padding padding padding padding'\n"
        handle.write(line * (50 * 1024 * 1024 // len(line)))
    code, out, peak = run_measured("routes", str(project))
    assert code == 0 and "/hello" in out and "/huge" not in out
    assert peak < 200, f"routes peaked at {peak:.0f} MB on a 50 MB file"
    _code, checked, _ = run_measured("check", str(project))
    [too_large] = [line for line in checked.splitlines() if "too-large" in line]
    assert too_large.startswith("cloud-functions/huge.py") and "5.0 MB" in too_large


def test_the_source_cap_is_a_setting(tmp_path):
    project = write_files(tmp_path / "proj", {
        "cloud-functions/hello.py": HELLO,
        "cloud-functions/big.py": HELLO + "# " + "x" * 3000 + "\n",
        "funcstudio.toml": "max_source_bytes = 2048\n",
    })
    try:
        loaded = load_project(project)
        assert [p.code for p in loaded.problems if p.file == "cloud-functions/big.py"] == ["too-large"]
        assert [r.path for r in loaded.routes] == ["/hello"]
        (project / "funcstudio.toml").write_text("max_source_bytes = 1048576\n")
        assert sorted(r.path for r in load_project(project).routes) == ["/big", "/hello"]
    finally:
        files.set_source_cap(files.MAX_SOURCE_BYTES)


def test_a_file_name_with_a_newline_is_printed_escaped(tmp_path):
    project = write_files(tmp_path / "proj", {"cloud-functions/a\nb.py": HELLO, "cloud-functions/ok.py": HELLO})
    _code, out, _ = run_measured("routes", str(project))
    assert "/a\\nb" in out and "cloud-functions/a\\nb" in out
    assert not any(line.startswith("b") for line in out.splitlines()), out
    from studio.cli.serve_cmd import format_route_table

    table = format_route_table(load_project(project))
    assert len(table) == 2 and any("/a\\nb" in row for row in table)


def test_the_studio_route_tree_shows_such_a_name_on_one_line():
    from studio.tui.route_index import Entry
    from studio.tui.widgets.route_tree import entry_label

    label = entry_label(Entry("route", "ANY /a\nb", detail="http-function", error="bad\x1b[31m"))
    assert "\n" not in label.plain and "\x1b" not in label.plain and "/a\\nb" in label.plain

"""Defects found by walking through every command as a new user: each test runs the real command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def funcstudio(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def scf(sample_copy):
    return sample_copy("scf-demo")


def test_invoke_accepts_the_end_of_an_id_and_suggests_close_ones(sample_copy):
    showcase = sample_copy("pages-showcase")
    short = funcstudio("invoke", str(showcase), "api/hello", "--json")
    assert short.returncode == 0, short.stderr
    assert json.loads(short.stdout)["function_id"] == "cloud-functions/api/hello"
    typo = funcstudio("invoke", str(showcase), "api/helo")
    assert typo.returncode == 2 and "Traceback" not in typo.stderr
    assert "did you mean cloud-functions/api/hello" in typo.stderr
    several = funcstudio("invoke", str(showcase), "index")  # cloud-functions/index and django-site/index ...
    assert several.returncode == 2 and "matches several functions" in several.stderr


def test_invoke_help_names_its_arguments():
    shown = funcstudio("invoke", "--help")
    assert shown.returncode == 0
    assert "[PROJECT] TARGET" in shown.stdout and "ARGS..." not in shown.stdout
    assert "--event timer" in shown.stdout  # an example of every form


def test_invoke_timer_event_carries_the_declared_trigger(scf):
    fired = funcstudio("invoke", str(scf), "tick", "--event", "timer", "--json")
    assert fired.returncode == 0, fired.stderr
    record = json.loads(fired.stdout)
    texts = " ".join(line["text"] for line in record["logs"])
    assert "timer every_five_minutes fired" in texts  # serverless.yml names the trigger so
    assert "nightly-report" in record["body"]  # ... and gives its argument as the Message
    named = funcstudio("invoke", str(scf), "tick", "--event", "timer", "--set", "TriggerName=manual", "--json")
    assert "timer manual fired" in " ".join(line["text"] for line in json.loads(named.stdout)["logs"])


def test_unknown_command_is_named_as_such(tmp_path):
    typo = funcstudio("rutes", cwd=tmp_path)
    assert typo.returncode == 2 and "no command and no project folder named 'rutes'" in typo.stderr
    assert "routes" in typo.stderr and "Traceback" not in typo.stderr


def test_logs_says_when_nothing_matches_and_why(sample_copy):
    showcase = sample_copy("pages-showcase")
    assert funcstudio("invoke", str(showcase), "/api/boom").returncode == 1
    # an uncaught exception is an ERROR line tied to its invocation, so the level filter finds it
    errors = funcstudio("logs", str(showcase), "--level", "error")
    assert errors.returncode == 0 and "ERROR" in errors.stdout and "ValueError" in errors.stdout
    nothing = funcstudio("logs", str(showcase), "--level", "critical")
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert "no recorded log lines match" in nothing.stderr and "--errors -i" in nothing.stderr
    failed = funcstudio("logs", str(showcase), "--errors", "-i")
    assert "/api/boom" in failed.stdout and "ValueError" in failed.stdout


def test_db_seed_twice_points_at_reset(sample_copy):
    coco = sample_copy("cocobase-demo")
    seed = str(coco / "seed.json")
    assert funcstudio("db", str(coco), "seed", seed).returncode == 0
    again = funcstudio("db", str(coco), "seed", seed)
    assert again.returncode == 1 and "--reset" in again.stderr and "nothing was written" in again.stderr
    assert funcstudio("db", str(coco), "seed", seed, "--reset").returncode == 0


def _serve_until(project: Path, pattern: str, *extra: str, timeout: float = 60.0):
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(project), "--port", "0", "--no-reload",
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            seen.append(line)
            if re.search(pattern, line) or time.monotonic() > deadline:
                break
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    return "".join(seen) + rest, proc.returncode


def test_serve_on_a_project_without_functions_says_why(tmp_path):
    (tmp_path / "README.md").write_text("nothing here\n")
    output, code = _serve_until(tmp_path, r"Ctrl-C stops")
    assert code == 0
    assert "(no routes)" in output and "no functions found" in output


def test_serve_bad_host_message_is_not_repeated(sample_copy):
    result = funcstudio("serve", str(sample_copy("scf-demo")), "--host", "999.1.1.1", "--port", "0", timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("cannot listen") == 1


def test_serve_line_clips_a_huge_method_and_names_a_405():
    from studio.cli.serve_cmd import format_invocation
    from studio.runtime.events import InvocationRecord

    huge = InvocationRecord(request_id="r", function_id=None, platform=None, kind=None, trigger="http",
                            method="X" * 10_000, path="/" + "p" * 70_000, status=405)
    line = format_invocation(huge)
    assert len(line) < 600 and "(no route for this method)" in line and "70001 chars" in line


def _raw(port: int, payload: bytes, *, half_close: bool = True, wait: float = 30.0) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_gateway_rejects_a_bogus_method_and_drops_a_stalled_client(sample_copy):
    from studio.runtime.http_protocol import HttpLimits
    from studio.runtime.server import Runtime

    runtime = Runtime(sample_copy("scf-demo"), host="127.0.0.1", port=0, reload=False, preload=[])
    runtime.http_limits = HttpLimits(stall_timeout_s=1.0)
    runtime.start()
    try:
        bogus = _raw(runtime.port, b"X" * 5000 + b" /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert bogus.startswith(b"HTTP/1.1 400") and b"Invalid method" in bogus
        # Content-Length 100, five bytes sent, connection left open: the gateway gives up and closes it
        # (before the fix the read waited forever and this recv hit the 30 s socket timeout).
        stalled = _raw(runtime.port, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nshort",
                       half_close=False)
        assert stalled.startswith(b"HTTP/1.1 408")
        healthy = _raw(runtime.port, b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert healthy.startswith(b"HTTP/1.1 200")
    finally:
        runtime.stop()


def test_a_declared_scf_function_is_not_hidden_by_a_folder_of_the_same_name(sample_copy):
    scf = sample_copy("scf-demo")
    config = (scf / "serverless.yml").read_text()
    (scf / "serverless.yml").write_text(config.replace("codeUri: ./hello", "codeUri: ./nowhere"))
    checked = funcstudio("check", str(scf))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "serverless.yml:" in checked.stdout and "nowhere/index.py does not exist" in checked.stdout
    listed = json.loads(funcstudio("routes", str(scf), "--json").stdout)
    functions = {r["function"] for r in listed}
    assert "hello/index" in functions and "nowhere/index" in functions  # both kept, each under its own id


def test_deps_write_does_what_the_scf_hint_promises(sample_copy):
    scf = sample_copy("scf-demo")
    entry = scf / "echo" / "index.py"
    entry.write_text("import requests\n" + entry.read_text())
    before = funcstudio("check", str(scf))
    assert "funcstudio deps --write does it" in before.stdout
    wrote = funcstudio("deps", str(scf), "--write")
    assert wrote.returncode == 0, wrote.stderr
    assert (scf / "echo" / "requirements.txt").read_text().splitlines()[-1] == "requests"
    assert "SCF-UNDECLARED-DEP" not in funcstudio("check", str(scf)).stdout
    again = funcstudio("deps", str(scf), "--write")
    assert again.returncode == 0 and "nothing to write" in again.stdout


def test_serve_line_names_the_exception_even_when_the_status_is_200():
    from studio.cli.serve_cmd import format_invocation
    from studio.runtime.events import ErrorInfo, InvocationRecord

    record = InvocationRecord(request_id="r", function_id="hello/index", platform="scf", kind="scf-event",
                              trigger="http", method="GET", path="/hello", status=200,
                              error=ErrorInfo(type="ValueError", message="broken", traceback=""))
    assert format_invocation(record).endswith("hello/index  ValueError")


def test_logs_and_show_label_a_405_and_clip_a_huge_method():
    from studio.cli._store_common import format_invocation
    from studio.store.queries import InvocationSummary

    fields = InvocationSummary.__dataclass_fields__
    values = {name: None for name in fields}
    values.update(id=1, request_id="r" * 36, state="finished", method="X" * 10_000, path="/", status=405,
                  duration_ms=0.2, started_at=0.0, trigger="http", has_error=False, log_count=0)
    line = format_invocation(InvocationSummary(**values), False)
    assert "(no route for this method)" in line and len(line) < 400


def test_non_utf8_settings_name_the_line(sample_copy):
    scf = sample_copy("scf-demo")
    (scf / "funcstudio.toml").write_bytes(b"port = 1\n# caf\xe9\n")
    (scf / ".env").write_bytes(b"A=1\nB=\xff\n")
    checked = funcstudio("check", str(scf))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "funcstudio.toml:2: error invalid-config not valid UTF-8: byte 0xe9 at line 2" in checked.stdout
    assert ".env:2: error invalid-config not valid UTF-8: byte 0xff at line 2" in checked.stdout


def test_a_serverless_yml_without_scf_components_is_not_silently_ignored(sample_copy):
    scf = sample_copy("scf-demo")
    (scf / "serverless.yml").write_text("hello:\n  inputs:\n    name: hello\n    timeout: abc\n")
    checked = funcstudio("check", str(scf))
    assert "Traceback" not in checked.stderr
    assert "serverless.yml: warning invalid-config declares no SCF function" in checked.stdout


def test_check_flags_a_python_setting_that_cannot_run(sample_copy):
    scf = sample_copy("scf-demo")
    (scf / "funcstudio.toml").write_text('# workers\npython = "/nonexistent/python"\n')
    checked = funcstudio("check", str(scf))
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "funcstudio.toml:2: error invalid-config `python`: /nonexistent/python does not exist" in checked.stdout


def test_symlink_loops_as_project_settings_and_cocobase_files_are_named(sample_copy, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for command in ("routes", "check", "deps"):
        result = funcstudio(command, str(loop))
        assert result.returncode == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert "broken symbolic link (or a link loop)" in result.stdout + result.stderr
    coco = sample_copy("cocobase-demo")
    (coco / "funcstudio.toml").unlink()
    (coco / "funcstudio.toml").symlink_to("funcstudio.toml")
    (coco / "cocobase" / "ghost.py").symlink_to("ghost.py")
    checked = funcstudio("check", str(coco))
    assert "Traceback" not in checked.stderr
    assert "funcstudio.toml: error invalid-config funcstudio.toml is a broken symbolic link" in checked.stdout
    assert "cocobase/ghost.py: error not-a-file" in checked.stdout
    assert "6 functions" in checked.stdout  # the others are still found


def test_an_scf_code_folder_that_does_not_exist_answers_437(sample_copy):
    scf = sample_copy("scf-demo")
    config = (scf / "serverless.yml").read_text()
    (scf / "serverless.yml").write_text(config.replace("codeUri: ./hello", "codeUri: ./nowhere"))
    result = funcstudio("invoke", str(scf), "hello", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == 437 and "HandlerNotFound" in record["body"]  # was 430 "exited with code 70"


def test_an_scf_code_folder_that_loops_is_a_config_error_not_a_traceback(sample_copy):
    scf = sample_copy("scf-demo")
    (scf / "loopdir").symlink_to("loopdir")
    config = (scf / "serverless.yml").read_text()
    (scf / "serverless.yml").write_text(config.replace("codeUri: ./hello", "codeUri: ./loopdir"))
    for command in ("check", "routes", "deps"):
        result = funcstudio(command, str(scf))
        assert "Traceback" not in result.stderr, (command, result.stderr)
    assert "SCF-HANDLER-NOT-FOUND" in funcstudio("check", str(scf)).stdout


def test_invoke_in_a_folder_without_functions_says_so(tmp_path):
    """`invoke /x` outside a project answered the platform's 404 and nothing else."""
    (tmp_path / "notes.txt").write_text("not a project\n")
    result = funcstudio("invoke", str(tmp_path), "/x")
    assert result.returncode == 1
    assert "no functions found in" in result.stderr and "funcstudio check" in result.stderr

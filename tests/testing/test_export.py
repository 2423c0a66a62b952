"""`funcstudio export REQUEST_ID --pytest`: what the written test checks and leaves out, and that it
passes on the code it was recorded from and fails once the function answers differently."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import plugin_args, run_funcstudio

from studio.runtime.invocation import InvocationRecord
from studio.testing.compare import masked, volatile_paths, without
from studio.testing.export import ExportError, pytest_function, pytest_module

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def record(**fields) -> InvocationRecord:
    base = dict(request_id="5a5da9b2-0000", function_id="cloud-functions/api/x", platform="edgeone",
                kind="http-function", trigger="http", method="GET", path="/api/x", status=200,
                response_headers=(("Content-Type", "application/json"),), response_body=b"{}", started_at=1.0)
    base.update(fields)
    return InvocationRecord(**base)


def test_volatile_values_are_found_with_their_reason_and_left_out():
    data = {"id": "42", "created_at": "2024-01-02T03:04:05Z", "items": [{"id": UUID, "n": 1}, {"ts": 1733500000}],
            "request_id": "abc", "took_ms": 3.5, "count": 1733500000, "hex": "deadbeefdeadbeef00"}
    found = volatile_paths(data)
    assert found == [(("created_at",), "a date"), (("items", 0, "id"), "a generated id"),
                     (("items", 1, "ts"), "a time"), (("request_id",), "a request id"),
                     (("took_ms",), "a duration"), (("hex",), "a generated id")]
    assert without(data, [p for p, _ in found]) == {"id": "42", "items": [{"n": 1}, {}], "count": 1733500000}
    assert without([1, 2, 3], [(0,), (2,), (9,)]) == [2]
    assert masked(f"id {UUID} at 2024-01-02T03:04:05.12+02:00, Mon, 02 Jan 2024 10:00:00 GMT, 2024-01-02") == (
        "id <uuid> at <datetime>, <date>, 2024-01-02")


def test_a_json_answer_is_compared_structurally_without_its_volatile_values():
    source, used = pytest_function(record(
        query_string="q=1", request_headers=(("Host", "h"), ("Authorization", "[redacted]"), ("X-A", "1")),
        response_body=json.dumps({"user": "ada", "at": "2024-01-02T03:04:05"}).encode()))
    assert used == {"without"}
    assert "funcstudio.invoke('/api/x?q=1', method='GET', headers={'X-A': '1'})" in source
    assert "# Not replayed: the Authorization header (the store keeps secrets redacted)" in source
    assert "# Left out (they change from run to run): ['at'] (a date)." in source
    assert "volatile = [('at',)]" in source and "expected = {'user': 'ada'}" in source
    compile(source, "exported", "exec")


def test_text_is_masked_binary_is_hashed_and_events_are_replayed_as_events():
    text, used = pytest_function(record(response_headers=(("Content-Type", "text/plain"),),
                                        response_body=f"made {UUID}".encode()))
    assert used == {"masked"} and "expected = 'made <uuid>'" in text
    binary, used = pytest_function(record(response_body=b"\xff\x00"))
    assert used == {"hashlib"} and "hashlib.sha256(response.content).hexdigest() ==" in binary
    event, _ = pytest_function(record(kind="scf-event", trigger="invoke", function_id="hello/index",
                                      request_body=b'{"k": [1, 2]}'))
    assert "funcstudio.invoke('hello/index', event={'k': [1, 2]})" in event
    module = pytest_module([record(), record(), record(response_body=b"\xff")], "funcstudio export a b c --pytest")
    assert "def test_get_api_x(" in module and "def test_get_api_x_2(" in module and "import hashlib" in module
    compile(module, "exported", "exec")


def test_what_cannot_be_replayed_says_why():
    with pytest.raises(ExportError, match="kept only part of the request body"):
        pytest_function(record(request_body=b"x", request_body_size=10_000_000))
    with pytest.raises(ExportError, match="no answer to compare with"):
        pytest_function(record(status=None, fault="crash"))


@pytest.mark.slow
def test_an_exported_test_passes_then_fails_when_the_answer_changes(sample_copy):
    root = sample_copy("pages-showcase")
    invoked = run_funcstudio("invoke", str(root), "/api/users/42", "-H", "User-Agent: recorder", "--json")
    assert invoked.returncode == 0, invoked.stderr
    request_id = json.loads(invoked.stdout)["request_id"]
    target = root / "tests" / "test_users.py"
    exported = run_funcstudio("export", str(root), request_id[:8], "--pytest", "-o", str(target), "--force")
    assert exported.returncode == 0, exported.stderr
    assert "expected = {'user': {'id': '42', 'name': 'Ada Lovelace'}, 'agent': 'recorder'}" in target.read_text()
    again = run_funcstudio("export", str(root), request_id[:8], "--pytest", "-o", str(target))
    assert again.returncode == 2 and "exists; pass --force" in again.stderr

    def run_tests():
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args(),
                               str(target)], cwd=root, capture_output=True, text=True, timeout=240)

    passed = run_tests()
    assert passed.returncode == 0 and "1 passed" in passed.stdout, passed.stdout + passed.stderr
    function = root / "cloud-functions" / "api" / "users" / "[id].py"
    function.write_text(function.read_text().replace('"Ada Lovelace"', '"Ada King"'))
    failed = run_tests()
    assert failed.returncode == 1 and "1 failed" in failed.stdout
    assert "Ada King" in failed.stdout


def test_export_errors(sample_copy, tmp_path):
    assert run_funcstudio("export", str(tmp_path), "abc").returncode == 2  # --pytest is required
    result = run_funcstudio("export", str(tmp_path), "abc", "--pytest")
    assert result.returncode == 1 and "No recordings yet" in result.stderr


@pytest.mark.slow
def test_an_event_functions_record_keeps_its_event_as_the_request_body(sample_copy):
    root = sample_copy("scf-demo")
    result = run_funcstudio("invoke", str(root), "echo", "-d", '{"ping": [1, "x"]}', "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["request_body"]) == {"ping": [1, "x"]}

"""The SCF sample as a new user meets it: events show, invoke with a template/file/stdin, sync and async."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import run_funcstudio as run


@pytest.fixture(scope="module")
def demo(sample_copy):
    return sample_copy("scf-demo")


def test_events_show_then_invoke_with_the_file(demo, tmp_path):
    shown = run("events", "show", "apigw", "--set", "queryString.name=Ada")
    assert shown.returncode == 0, shown.stderr
    event_file = tmp_path / "apigw.json"
    event_file.write_text(shown.stdout)
    out = run("invoke", str(demo), "hello", "--event", str(event_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Hello, Ada!" in out.stdout and "START RequestId:" in out.stdout and "Report RequestId:" in out.stdout


def test_invoke_timer_template_and_stdin(demo):
    out = run("invoke", str(demo), "tick", "--event", "timer", "--set", "Message=nightly", "--json")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["trigger"] == "timer" and json.loads(record["body"])["message"] == "nightly"
    assert not any("2019-02-21" in line["text"] for line in record["logs"])  # Time is the firing time, now
    out = run("invoke", str(demo), "echo", "--event", "-", stdin='{"k": [1, 2]}')
    assert out.returncode == 0 and '{"echo": {"k": [1, 2]}}' in out.stdout


def test_async_invoke_reports_202_then_the_recorded_result(demo):
    out = run("invoke", str(demo), "echo", "--event", "direct", "--async", "--json")
    assert out.returncode == 0, out.stderr
    assert "HTTP 202 Accepted" in out.stderr
    record = json.loads(out.stdout)
    # An async caller gets the request id only; the return value is in the log, as the platform logs it.
    assert record["trigger"] == "async" and record["status"] == 202
    assert record["body"] == "" and record["return_value"] is None
    assert any(line["text"].startswith(f"Return value RequestId: {record['request_id']} ")
               for line in record["logs"])


def test_http_path_and_a_broken_function(demo):
    out = run("invoke", str(demo), "/hello?name=Bo")
    assert out.returncode == 0 and '"message": "Hello, Bo!"' in out.stdout
    broken = demo.parent / "broken-demo"
    shutil.copytree(demo, broken)
    index = broken / "hello" / "index.py"
    index.write_text(index.read_text().replace('name = (event.get("queryString") or {}).get("name", "world")',
                                              'name = event["nope"]'))
    out = run("invoke", str(broken), "/hello?name=Bo", "--json")
    record = json.loads(out.stdout)
    body = json.loads(record["body"])
    assert out.returncode == 1 and record["status"] == 200  # behind API Gateway: HTTP 200 with the error object
    assert body["statusCode"] == 430 and "KeyError: 'nope'" in body["stackTrace"]
    assert body["stackTrace"].startswith('Traceback (most recent call last):\n  File "/var/user/index.py"')


@pytest.mark.parametrize("args, words", [
    (("--event", "nosuch"), "neither a file"),
    (("--event", "timer", "--set", "nokey"), "key=value"),
])
def test_bad_event_arguments_are_usage_errors(demo, args, words):
    out = run("invoke", str(demo), "echo", *args)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr


def test_event_file_that_is_not_json(demo, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    out = run("invoke", str(demo), "echo", "--event", str(bad))
    # the platform's answer to a non-JSON event (400 InvalidParameterValue), not a usage error
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "InvalidParameterValue" in out.stdout + out.stderr and "not JSON: line 1" in out.stdout + out.stderr

"""What an invocation prints, logs, returns and raises reaches the supervisor, line by line."""

from __future__ import annotations

import json

import pytest
from worker_helpers import http, invoke, spawn

from studio.runtime.instance import InstanceFactory


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory()
    yield factory
    factory.close()


NOISY = """
import logging, os, subprocess, sys
log = logging.getLogger("app")
log.setLevel(logging.DEBUG)
print("at import")

def handler(event):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    sys.stdout.write("partial")
    log.debug("debug %d", 1)
    log.error("bad thing")
    os.write(1, b"fd one\\n")
    os.write(2, b"fd two\\n")
    subprocess.run([sys.executable, "-c", "print('from child')"], check=True)
    sys.stdout.buffer.write("bytes ü\\n".encode())
    return {"statusCode": 200, "body": "done"}
"""


def test_every_kind_of_output_is_captured(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/n.py": NOISY}, "n.py")
    assert [t for _s, _l, _w, t in instance.load_logs] == ["at import"]
    result, logs = invoke(instance, http("/n"))
    assert result.status == 200
    lines = [(s, level, t) for s, level, _w, t in logs]
    assert ("stdout", None, "at import") in lines
    assert ("stdout", None, "to stdout") in lines
    assert ("stderr", None, "to stderr") in lines
    assert ("logging", "DEBUG", "debug 1") in lines
    assert ("logging", "ERROR", "bad thing") in lines
    assert ("stdout", None, "fd one") in lines
    assert ("stderr", None, "fd two") in lines
    assert ("stdout", None, "from child") in lines
    assert ("stdout", None, "partialbytes ü") in lines
    assert all(isinstance(w, float) for _s, _l, w, _t in logs)
    again, logs2 = invoke(instance, http("/n"))
    assert "at import" not in logs2.texts()  # load output belongs to the first invocation only
    instance.kill("shutdown")


def test_output_cap_truncates_with_a_marker(factory, tmp_path):
    source = """
    import os
    def handler(event):
        for i in range(5000):
            print("x" * 100, i)
        os.write(1, b"y" * 300000 + b"\\n")
        return "finished"
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/f.py": source}, "f.py", output_cap_bytes=20000)
    result, logs = invoke(instance, http("/f"))
    assert result.status == 200 and result.body == b"finished"
    assert result.output_truncated
    markers = [t for t in logs.texts("platform") if "output truncated" in t]
    assert len(markers) == 1
    assert sum(len(t) for t in logs.texts("stdout")) <= 20000
    ok, logs = invoke(instance, http("/f"))
    assert ok.status == 200 and len([t for t in logs.texts("platform") if "truncated" in t]) == 1
    instance.kill("shutdown")


TRACE = """
import helper

def handler(event):
    items = [1, 2, 3]
    return helper.divide(len(items), 0)
"""
HELPER = """
def divide(a, b):
    big = "z" * 5000
    return a / b
"""


def test_traceback_has_user_frames_locals_and_no_runtime_frames(factory, tmp_path):
    files = {"cloud-functions/t.py": TRACE, "cloud-functions/helper.py": HELPER}
    instance = spawn(factory, tmp_path, files, "t.py")
    result, _ = invoke(instance, http("/t"))
    assert result.status == 500
    error = result.error
    assert error.type == "ZeroDivisionError" and error.message == "division by zero"
    assert [f.function for f in error.frames] == ["handler", "divide"]
    handler, divide = error.frames
    assert handler.is_user and divide.is_user
    assert handler.locals["items"] == "[1, 2, 3]" and handler.source == "return helper.divide(len(items), 0)"
    assert divide.locals["a"] == "3" and len(divide.locals["big"]) < 400
    assert divide.file == str((tmp_path / "cloud-functions" / "helper.py").resolve())
    assert "_funcstudio_worker" not in error.traceback and "worker/" not in error.traceback
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert result.body.decode().endswith(error.traceback)
    assert str((tmp_path / "cloud-functions" / "helper.py").resolve()) in instance.modules
    instance.kill("shutdown")


def test_library_frames_are_not_user_frames(factory, tmp_path):
    source = """
    import json
    def handler(event):
        return json.loads("{not json")
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/j.py": source}, "j.py")
    result, _ = invoke(instance, http("/j"))
    frames = result.error.frames
    assert frames[0].is_user and frames[0].function == "handler"
    assert frames[-1].is_user is False and "json" in frames[-1].file
    instance.kill("shutdown")


def test_return_value_is_json_or_repr(factory, tmp_path):
    source = """
    class Thing:
        def __repr__(self):
            return "<Thing>"
    def handler(event):
        if event["queryStringParameters"]:
            return {"statusCode": 200, "body": "x", "extra": Thing()}
        return {"statusCode": 200, "body": {"ü": [1, None]}}
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/v.py": source}, "v.py")
    as_json, _ = invoke(instance, http("/v"))
    assert json.loads(as_json.return_value) == {"statusCode": 200, "body": {"ü": [1, None]}}
    as_repr, _ = invoke(instance, http("/v", query="r=1"))
    assert as_repr.return_value == "{'statusCode': 200, 'body': 'x', 'extra': <Thing>}"
    instance.kill("shutdown")


def test_load_error_carries_the_trace_and_output(factory, tmp_path):
    source = """
    print("before the error")
    def handler(event)
        return 1
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/s.py": source}, "s.py")
    assert instance.load_error is not None and instance.load_error.type == "SyntaxError"
    assert instance.load_error.frames[-1].line == 3 and instance.load_error.frames[-1].is_user
    assert not instance.alive
    raising = "import os\nVALUE = os.environ['MISSING_KEY_FOR_TEST']\ndef handler(e):\n    return 1\n"
    broken = spawn(factory, tmp_path, {"cloud-functions/k.py": raising}, "k.py")
    assert broken.load_error.type == "KeyError"
    assert [f.line for f in broken.load_error.frames if f.is_user] == [2]


def test_env_reaches_the_function(factory, tmp_path):
    source = """
    import os
    VALUE = os.environ["API_KEY"]
    def handler(event):
        return VALUE + os.environ["_LAMBDA_RUNTIME_REQUEST_ID"][:0]
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/e.py": source}, "e.py", env={"API_KEY": "dev-key"})
    result, _ = invoke(instance, http("/e"))
    assert result.body == b"dev-key"
    instance.kill("shutdown")


def test_a_logged_exception_is_the_error_only_when_the_response_failed(factory, tmp_path):
    source = """
    import logging
    def handler(event):
        try:
            {}["missing"]
        except KeyError:
            logging.getLogger("app").exception("recovered")
        return "fine"
    """
    instance = spawn(factory, tmp_path, {"cloud-functions/l.py": source}, "l.py")
    result, logs = invoke(instance, http("/l"))
    assert result.status == 200 and result.error is None
    assert any(s == "logging" and lvl == "ERROR" and "KeyError" in t for s, lvl, _w, t in logs)
    instance.kill("shutdown")


def test_lines_reach_on_log_while_the_invocation_is_still_running(factory, tmp_path):
    # The handler waits until the test has SEEN its lines: only live streaming lets it finish.
    source = """
    import os, time
    def handler(event):
        print("first")
        os.write(2, b"second\\n")
        while not os.path.exists(os.environ["SEEN_MARK"]):
            time.sleep(0.01)
        return "end"
    """
    mark = tmp_path / "seen"
    instance = spawn(factory, tmp_path, {"cloud-functions/w.py": source}, "w.py", env={"SEEN_MARK": str(mark)})
    seen = set()

    def on_log(stream, level, when, text):
        seen.add(text)
        if {"first", "second"} <= seen:
            mark.touch()

    result = instance.invoke(http("/w"), b"", 10.0, on_log)
    assert (result.fault, result.body) == (None, b"end")
    instance.kill("shutdown")

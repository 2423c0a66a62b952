"""One line per logging call: what the user's handler printed, tagged `logging` with the record's level."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from worker_helpers import http, invoke, spawn

from studio.runtime.instance import InstanceFactory

SAMPLE_LOGS = Path(__file__).resolve().parents[2] / "sample_projects/pages-showcase/cloud-functions/api/logs.py"


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory()
    yield factory
    factory.close()


def test_basic_config_records_appear_once_as_the_handler_formatted_them(factory, tmp_path):
    target = tmp_path / "cloud-functions" / "api" / "logs.py"
    target.parent.mkdir(parents=True)
    shutil.copyfile(SAMPLE_LOGS, target)
    instance = spawn(factory, tmp_path, {}, "api/logs.py")
    try:
        for _ in range(2):  # the second call runs on the warm instance: still one line per call
            result, logs = invoke(instance, http("/api/logs", query="x=1", route_path="/api/logs"))
            assert result.status == 200
            lines = [(s, level, t) for s, level, _w, t in logs]
            info = [line for line in lines if "query parameters" in line[2]]
            warning = [line for line in lines if "this is a warning" in line[2]]
            assert info == [("logging", "INFO", "INFO showcase.logs: query parameters: {'x': '1'}")]
            assert warning == [("logging", "WARNING", "WARNING showcase.logs: this is a warning")]
            assert [line for line in lines if "this goes to stderr" in line[2]] == [
                ("stderr", None, "this goes to stderr")]
            assert ("stdout", None, "handling GET /api/logs") in lines
    finally:
        instance.kill("shutdown")


HANDLERS = """
import logging, sys

plain = logging.getLogger("plain")          # no handler anywhere: Python's last resort
plain.propagate = False
to_file = logging.getLogger("to_file")      # a handler that prints nothing
to_file.propagate = False
to_file.addHandler(logging.FileHandler("app.log"))
both = logging.getLogger("both")            # two printing handlers: two lines, as production shows
both.propagate = False
for fmt in ("A %(message)s", "B %(message)s"):
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(logging.Formatter(fmt))
    both.addHandler(h)
multi = logging.getLogger("multi")
multi.propagate = False
multi.addHandler(logging.StreamHandler())

def handler(event):
    plain.error("last resort %d", 1)
    to_file.warning("into the file")
    both.warning("twice")
    try:
        {}["k"]
    except KeyError:
        multi.exception("with trace")
    print("after")
    return "ok"
"""


def test_records_no_handler_printed_are_captured_from_the_record(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/h.py": HANDLERS}, "h.py")
    try:
        result, logs = invoke(instance, http("/h"))
        assert result.status == 200
        lines = [(s, level, t) for s, level, _w, t in logs]
        assert [line for line in lines if "last resort" in line[2]] == [("logging", "ERROR", "last resort 1")]
        assert [line for line in lines if "into the file" in line[2]] == [("logging", "WARNING", "into the file")]
        assert "into the file" in (tmp_path / "cloud-functions" / "app.log").read_text()
        assert [line for line in lines if "twice" in line[2]] == [
            ("logging", "WARNING", "A twice"), ("logging", "WARNING", "B twice")]
        trace = [line for line in lines if line[0] == "logging" and line[1] == "ERROR" and line[2] != "last resort 1"]
        assert trace[0][2] == "with trace" and any("KeyError" in t for _s, _l, t in trace)
        assert not [line for line in lines if line[0] == "stderr"]  # the traceback lines are tagged too
        assert ("stdout", None, "after") in lines  # tagging ends with the record
    finally:
        instance.kill("shutdown")


ORIGINAL_STREAM = """
import logging, sys

early = logging.getLogger("early")
early.propagate = False
handler = logging.StreamHandler(sys.__stderr__)  # the process's own stderr, not the captured one
handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
early.addHandler(handler)

def handler(event):
    early.warning("from a handler made on the original stream")
    return "ok"
"""


def test_a_handler_on_the_original_stderr_is_one_tagged_line(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/o.py": ORIGINAL_STREAM}, "o.py")
    try:
        result, logs = invoke(instance, http("/o"))
        assert result.status == 200
        hits = [(s, level, t) for s, level, _w, t in logs if "original stream" in t]
        assert hits == [("logging", "WARNING", "[WARNING] from a handler made on the original stream")]
    finally:
        instance.kill("shutdown")


SANIC_APP = """
from sanic import Sanic
from sanic.log import logger
from sanic.response import text

app = Sanic("funcstudio_logging_lines")


@app.get("/hi")
async def hi(request):
    logger.info("sanic says hi")
    return text("ok")
"""


def test_sanic_preloaded_by_the_zygote_logs_each_record_once(tmp_path):
    # Sanic's default logging config holds the stdout of the process that imported it: the zygote.
    from gw_helpers import write_files

    from studio.runtime.server import Runtime

    root = write_files(tmp_path / "proj", {"cloud-functions/s/index.py": SANIC_APP})
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as rt:
        assert "sanic" in rt.supervisor.preload
        for _ in range(2):
            record, logs = rt.invoke_function("cloud-functions/s/index", {"path": "/s/hi"})
            assert record.status == 200 and record.response_body == b"ok"
            hits = [(line.stream, line.level) for line in logs if "sanic says hi" in line.text]
            assert hits == [("logging", "INFO")]

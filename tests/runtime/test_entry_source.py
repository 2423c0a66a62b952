"""A new instance compiles the entry source the supervisor read and checked, not the file.

One that starts while an editor's in-place save has the file half written runs the last version that
parsed, on every platform, as the module it always was (`__file__`, `sys.modules`), with that
version's lines in its tracebacks; an entry that never parsed still answers its own SyntaxError."""

from __future__ import annotations

import json

import pytest
from gw_helpers import request, serving, write_files

from studio.runtime.last_good import EntrySources

HANDED_LINE = 'raise ValueError("from the handed source")  # the running line'

EDGEONE = f"""
import json
import sys


def handler(event, context):
    if (event["queryStringParameters"] or {{}}).get("fail"):
        {HANDED_LINE}
    spec = sys.modules[__name__].__spec__
    return {{"statusCode": 200, "body": json.dumps({{
        "version": "good", "file": __file__, "origin": spec.origin,
        "registered": sys.modules[__name__].__dict__ is globals()}})}}
"""

SCF = f"""
import sys


def main_handler(event, context):
    if event.get("fail"):
        {HANDED_LINE}
    return {{"version": "good", "file": __file__, "registered": sys.modules[__name__].__dict__ is globals()}}
"""

COCOBASE = f"""
def main():
    if request.get("fail"):
        {HANDED_LINE}
    return {{"version": "good", "file": __file__}}
"""

HALF_SAVED = "# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7: the disk's line, not the running one\ndef handler(event, context)\n"
"""What an in-place save has written so far: does not parse, and its line 7 is not the running line."""

FILES = {
    "cloud-functions/api/eo.py": EDGEONE,
    "sc/index.py": SCF,
    "cocobase/cb.py": COCOBASE,
    "cloud-functions/api/never.py": "def handler(event, context)\n    return {}\n",
    "funcstudio.toml": """
        [functions."sc"]
        platform = "scf"
        src = "sc"
    """,
}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("entry-source") / "proj", FILES)
    with serving(root) as runtime:
        yield runtime


def half_save(path) -> None:
    with open(path, "w", encoding="utf-8") as handle:  # in place: truncated, then partly written
        handle.write(HALF_SAVED)


def restart_mid_save(runtime, function_id: str, entry: str, call) -> None:
    """A loaded instance, then none (retired) while the entry is half saved: the next call starts one."""
    assert call()[0] == 200
    runtime.supervisor.retire([function_id])
    half_save(runtime.root / entry)


def running_line_shown(runtime, reply) -> None:
    record = runtime.events.finished(reply.headers["x-funcstudio-request-id"])
    assert record is not None and record.error is not None and record.error.type.endswith("ValueError")
    assert record.error.frames[-1].source == HANDED_LINE  # linecache has the running version's lines
    assert HANDED_LINE in record.error.traceback


def test_edgeone_instance_started_mid_save_runs_the_last_version_that_parsed(live):
    root = live.root
    entry = "cloud-functions/api/eo.py"

    def call(query=""):
        reply = request(live.port, "GET", "/api/eo" + query)
        return reply.status, reply

    restart_mid_save(live, "cloud-functions/api/eo", entry, call)
    status, reply = call()
    assert status == 200, reply.body
    answer = json.loads(reply.body)
    path = str((root / entry).resolve())
    assert answer == {"version": "good", "file": path, "origin": path, "registered": True}
    status, reply = call("?fail=1")
    assert status == 500
    running_line_shown(live, reply)
    # the bytecode cache is keyed by the file's mtime and size: never written for other bytes
    assert not list((root / "cloud-functions/api/__pycache__").glob("eo.*.pyc"))


def test_scf_instance_started_mid_save_runs_the_last_version_that_parsed(live):
    def call(event=None):
        record, _logs = live.invoke_function("sc", event or {})
        return record.status, record

    restart_mid_save(live, "sc", "sc/index.py", call)
    status, record = call()
    assert status == 200, record.response_body
    answer = json.loads(record.response_body)
    assert answer == {"version": "good", "file": str((live.root / "sc/index.py").resolve()), "registered": True}
    _status, record = call({"fail": 1})
    assert record.error is not None and record.error.frames[-1].source == HANDED_LINE
    assert HANDED_LINE in record.error.traceback


def test_cocobase_instance_started_mid_save_runs_the_last_version_that_parsed(live):
    def call(query=""):
        reply = request(live.port, "GET", "/functions/cb/execute" + query)
        return reply.status, reply

    restart_mid_save(live, "cocobase/cb", "cocobase/cb.py", call)
    status, reply = call()
    assert status == 200 and reply.json()["result"]["version"] == "good", reply.body
    _status, reply = call("?fail=1")
    running_line_shown(live, reply)


def test_an_entry_that_never_parsed_answers_its_syntax_error(live):
    reply = request(live.port, "GET", "/api/never")
    assert reply.status == 500 and b"SyntaxError" in reply.body
    record = live.events.finished(reply.headers["x-funcstudio-request-id"])
    assert record.fault == "load-error" and record.error.type == "SyntaxError"


# -- which source a new instance gets ------------------------------------------------------------


def test_entry_sources_hand_the_file_when_it_parses_else_its_last_good_version(tmp_path):
    path = tmp_path / "entry.py"
    sources = EntrySources()
    path.write_bytes(b"def f(:\n")
    assert sources.for_instance(str(path)) is None  # never parsed: the worker reads it and reports
    path.write_bytes(b"x = 1\n")
    assert sources.for_instance(str(path)) == b"x = 1\n"
    for unfinished in (b"", b"x = (", b"  \n"):
        path.write_bytes(unfinished)
        assert sources.for_instance(str(path)) == b"x = 1\n"
    path.unlink()  # an editor that deletes, then writes
    assert sources.for_instance(str(path)) == b"x = 1\n"
    path.write_bytes(b"x = 2\n")
    assert sources.for_instance(str(path)) == b"x = 2\n"
    # bytes checked before keep their verdict, new bytes are checked
    for text, verdict in ((b"x = 2\n", True), (b"x = (", False), (b"x = (", False), (b"x = (1)\n", True)):
        path.write_bytes(text)
        assert sources.parses(str(path)) is verdict, text


def test_a_reload_forgets_a_last_good_version_unless_its_function_keeps_it(tmp_path):
    kept, dropped, fresh = (tmp_path / f"{name}.py" for name in ("kept", "dropped", "fresh"))
    sources = EntrySources()
    for path in (kept, dropped):
        path.write_bytes(b"x = 1\n")
        sources.for_instance(str(path))
    for path in (kept, dropped, fresh):
        path.write_bytes(b"x = (")
    sources.reloaded([str(kept), str(dropped), str(fresh)], keep=[str(kept)])
    assert sources.for_instance(str(kept)) == b"x = 1\n"  # its last good version serves
    assert sources.for_instance(str(dropped)) is None  # the project has it broken: its error shows
    assert sources.for_instance(str(fresh)) is None
    # a reload that finds a newer good version hands that one even when the file breaks again
    dropped.write_bytes(b"x = 1\n")
    sources.for_instance(str(dropped))
    dropped.write_bytes(b"x = 3\n")
    sources.reloaded([str(dropped)])
    dropped.write_bytes(b"")
    assert sources.for_instance(str(dropped)) == b"x = 3\n"

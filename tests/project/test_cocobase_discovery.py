"""CocoBase discovery: one function per cocobase/*.py, its two endpoints, and CB-* problems."""

from __future__ import annotations

from pathlib import Path

from helpers import write_file as write

from studio.project.cocobase import discover_cocobase
from studio.project.settings import CocoBaseSettings, FunctionSettings, Settings


def test_each_file_is_a_function_with_two_endpoints(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/send-otp.py", "def main():\n    return {'sent': True}\n")
    write(tmp_path, "cocobase/hello.py", "result = {'hi': 1}\n")
    write(tmp_path, "cocobase/__init__.py", "")
    write(tmp_path, "cocobase/notes.txt", "not code")
    settings = Settings(cocobase=CocoBaseSettings(project_id="shop"))
    result = discover_cocobase(tmp_path, settings)
    assert result.problems == ()
    assert [fn.id for fn in result.functions] == ["cocobase/hello", "cocobase/send-otp"]
    otp = result.functions[1]
    assert (otp.platform, otp.kind, otp.name, otp.aliases, otp.entry) == (
        "cocobase", "cocobase", "send-otp", ("send-otp",), "cocobase/send-otp.py")
    assert otp.limits.timeout_s == 20.0 and otp.limits.memory_mb is None
    assert otp.code_root == "cocobase"
    assert [(r.path, r.methods, r.src) for r in otp.routes] == [
        ("/functions/send-otp/execute", ("GET", "POST"), r"^/functions/send\-otp/execute$"),
        ("/functions/shop/func/send-otp", ("GET", "POST"), r"^/functions/shop/func/send\-otp$"),
    ]
    assert len(result.routes) == 4


def test_folder_and_timeout_come_from_settings(tmp_path: Path) -> None:
    write(tmp_path, "functions-cb/a.py", "def main():\n    return 1\n")
    settings = Settings(cocobase=CocoBaseSettings(dir="functions-cb", timeout=5.0),
                        functions={"a": FunctionSettings(timeout_s=2.0)})
    [fn] = discover_cocobase(tmp_path, settings).functions
    assert fn.id == "functions-cb/a" and fn.limits.timeout_s == 2.0
    assert discover_cocobase(tmp_path, Settings()).functions == ()


def test_await_in_sync_main_is_cb_await(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/page.py", "def main():\n    html = await render.render_template('x.html')\n    return html\n")
    write(tmp_path, "cocobase/ok.py", "async def main():\n    return await render.render_template('x.html')\n")
    result = discover_cocobase(tmp_path, Settings())
    [problem] = result.problems
    assert (problem.code, problem.severity, problem.file, problem.line) == ("CB-AWAIT", "error", "cocobase/page.py", 2)
    page = next(fn for fn in result.functions if fn.name == "page")
    assert page.load_problem == problem


def test_imports_outside_the_approved_set_warn(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/f.py", "import json, requests\nfrom datetime import timedelta\nimport os.path\n"
                                     "def main():\n    import numpy as np\n    return 1\n")
    problems = discover_cocobase(tmp_path, Settings()).problems
    assert [(p.code, p.severity, p.line) for p in problems] == [
        ("CB-IMPORT", "warning", 1), ("CB-IMPORT", "warning", 3), ("CB-IMPORT", "warning", 5)]
    assert "`import requests`" in problems[0].message and "`import os`" in problems[1].message


def test_syntax_error_and_undecodable_file_keep_the_others(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/broken.py", "def main(:\n    pass\n")
    write(tmp_path, "cocobase/latin.py", b"def main():\n    return '\xe9'\n")
    write(tmp_path, "cocobase/good.py", "def main():\n    return 1\n")
    result = discover_cocobase(tmp_path, Settings())
    assert [fn.name for fn in result.functions] == ["broken", "good", "latin"]
    codes = {p.file: p.code for p in result.problems}
    assert codes == {"cocobase/broken.py": "syntax-error", "cocobase/latin.py": "not-utf8"}
    assert next(p for p in result.problems if p.code == "syntax-error").line == 1


def test_no_main_and_no_result_warns(tmp_path: Path) -> None:
    write(tmp_path, "cocobase/nothing.py", "x = 1\n")
    [problem] = discover_cocobase(tmp_path, Settings()).problems
    assert problem.code == "CB-NO-MAIN" and problem.severity == "warning"

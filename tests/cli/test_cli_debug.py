"""`funcstudio invoke --break/--pdb/--profile`: the pdb-style prompt driven through stdin, as a script would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from debug_helpers import BOOM, write_debug_project

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_debug_project(tmp_path_factory.mktemp("clidebug") / "proj", BOOM)


def invoke(project, *args, stdin: str = ""):
    done = subprocess.run([sys.executable, "-m", "studio", "invoke", str(project), *args], cwd=project,
                          input=stdin.encode(), capture_output=True, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_printf_p_value_then_c_prints_the_live_local_then_the_response(project):
    code, out, err = invoke(project, "/api/calc", "--break", "cloud-functions/api/calc.py:8", stdin="p value\nc\n")
    assert code == 0, err
    assert "> cloud-functions/api/calc.py(8)handler()\n-> result = double(value)\n" in out
    assert "(Pdb) p value\n21\n(Pdb) c\n" in out
    assert out.index("21\n") < out.index("HTTP 200 OK") < out.index("result=42")
    assert re.search(r"-- request .*, paused \d+\.\d s in the debugger", out)  # the record says how long


def test_step_next_return_up_down_where_list_and_a_statement(project):
    script = "s\nw\nu\np value\nd\nn\npp {'twice': twice}\nr\nn\nl\nresult = 100\nc\n"
    code, out, err = invoke(project, "/api/calc", "--break", "cloud-functions/api/calc.py:8", stdin=script)
    assert code == 0, err
    assert "> cloud-functions/api/calc.py(2)double()\n-> twice = n * 2" in out
    assert "  cloud-functions/api/calc.py(8)handler()\n-> result = double(value)\n> cloud-functions/api/calc.py(2)double()" in out
    assert "(Pdb) p value\n21\n" in out  # evaluated in the frame `u` selected
    assert "> cloud-functions/api/calc.py(3)double()" in out
    assert "{'twice': 42}" in out
    assert "--Return--\n> cloud-functions/api/calc.py(3)double()->42" in out
    assert "> cloud-functions/api/calc.py(9)handler()" in out
    assert "   8 B   " in out and "   9  ->" in out  # `l` marks the breakpoint and the current line
    assert "result=100" in out  # the assignment took effect in the paused frame


def test_pdb_opens_at_the_raising_frame_with_its_locals(project):
    code, out, err = invoke(project, "/api/boom", "--pdb", stdin="p missing\np items\nc\n")
    assert code == 1, err
    assert "*** post-mortem: KeyError: 'zzz'\n> cloud-functions/api/boom.py(4)handler()" in out
    assert "(Pdb) p missing\n'zzz'\n(Pdb) p items\n{'a': 1, 'b': [1, 2, 3]}\n" in out
    assert "HTTP 500" in out and "KeyError" in out


def test_end_of_input_lets_the_invocation_finish(project):
    code, out, err = invoke(project, "/api/calc", "--break", "cloud-functions/api/calc.py:2",
                            "--break", "cloud-functions/api/calc.py:8", stdin="p value\n")
    assert code == 0, err
    assert "end of input" in out and "result=42" in out
    assert out.count("(Pdb) p value") == 1  # the second breakpoint no longer stops


def test_quit_ends_the_invocation_as_debugger_quit(project):
    code, out, err = invoke(project, "cloud-functions/api/calc", "--break", "cloud-functions/api/calc.py:8",
                            "--json", stdin="q\n")
    assert code == 1
    assert '"fault": "debugger-quit"' in out
    assert "> cloud-functions/api/calc.py(8)handler()" in err  # with --json the prompt talks on stderr


@pytest.mark.parametrize("spec, message", [
    ("cloud-functions/api/nope.py:3", "no such file"),
    ("cloud-functions/api/calc.py:99", "has 9 lines"),
    ("cloud-functions/api/calc.py:5", "blank or comment"),
    ("cloud-functions/api/calc.py", "expected FILE:LINE"),
])
def test_bad_breakpoints_are_usage_errors(project, spec, message):
    code, _out, err = invoke(project, "/api/calc", "--break", spec)
    assert code == 2 and message in err


def test_profile_prints_the_top_functions(project):
    code, out, err = invoke(project, "/api/calc", "--profile")
    assert code == 0, err
    table = out[out.index("-- profile"):]
    assert "handler  cloud-functions/api/calc.py:6" in table
    assert "double  cloud-functions/api/calc.py:1" in table

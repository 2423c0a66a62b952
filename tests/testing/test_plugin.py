"""funcstudio's pytest plugin, run by pytester in its own pytest process: the `funcstudio` fixture
serves the project once per session and answers with `invoke --json`'s fields; the project comes
from --funcstudio-project, the `funcstudio_project` ini option or the rootdir."""

from __future__ import annotations

import shutil

import pytest
from helpers import SAMPLES_DIR, plugin_args

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

INNER_TESTS = '''
import json, subprocess, sys
import pytest
from studio.testing.client import FuncstudioError

URLS = []

def test_the_same_fields_as_invoke_json(funcstudio):
    response = funcstudio.invoke("/api/users/:id", params={"id": "42"}, query={"x": "1"},
                                 headers={"User-Agent": "pt"})
    cli = subprocess.run([sys.executable, "-m", "studio", "invoke", str(funcstudio.root), "/api/users/42?x=1",
                          "-H", "User-Agent: pt", "--json"], capture_output=True, text=True)
    expected = json.loads(cli.stdout)
    assert set(response) == set(expected)
    for key in ("status", "headers", "body", "function_id", "method", "path", "query_string", "params"):
        if key != "headers":
            assert response[key] == expected[key], key
    assert response.status == 200 and response.json()["agent"] == "pt"
    assert response.content_type == "application/json; charset=utf-8"
    URLS.append(funcstudio.url)

def test_one_runtime_for_the_session(funcstudio):
    assert URLS == [funcstudio.url]

def test_json_body_and_method(funcstudio):
    response = funcstudio.invoke("/api/hello", method="POST", body={"name": "Zed"})
    assert (response.status, response.json()["received"]) == (201, {"name": "Zed"})

def test_a_function_id_with_an_event(funcstudio):
    response = funcstudio.invoke("api/event", event={"httpMethod": "PUT", "body": "hi"})
    assert response["trigger"] == "invoke" and response.json()["method"] == "PUT"

def test_errors_are_clear(funcstudio):
    with pytest.raises(FuncstudioError, match="no function 'nope'"):
        funcstudio.invoke("nope")
    with pytest.raises(FuncstudioError, match="event= goes with a function id"):
        funcstudio.invoke("/api/hello", event={})
    with pytest.raises(FuncstudioError, match="name no placeholder"):
        funcstudio.invoke("/api/hello", params={"id": "1"})
'''


def _project(into):
    shutil.copytree(SAMPLES_DIR / "pages-showcase", into, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".funcstudio", "__pycache__", "tests", "pytest.ini"))


def test_the_fixture_serves_the_rootdir_once_and_answers_like_invoke_json(pytester):
    _project(pytester.path)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=5)


def test_the_project_comes_from_the_ini_option_or_the_command_line(pytester):
    _project(pytester.path / "app")
    pytester.makeini("[pytest]\nfuncstudio_project = app\n")
    pytester.makepyfile(test_where='''
from pathlib import Path

def test_where(funcstudio, pytestconfig):
    assert funcstudio.root == (Path(str(pytestconfig.inipath)).parent / "app").resolve()
    assert funcstudio.invoke("/api/users/list").json() == {"users": ["42", "7"]}
''')
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=1)


def test_a_folder_that_is_no_project_is_a_clear_error(tmp_path):
    from studio.testing.client import FuncStudio, FuncstudioError

    with pytest.raises(FuncstudioError, match=r"project folder .*nowhere does not exist"):
        FuncStudio(tmp_path / "nowhere").start()
    (tmp_path / "notes.txt").write_text("no functions here")
    with pytest.raises(FuncstudioError, match=r"no functions in .*`funcstudio check` explains why"):
        FuncStudio(tmp_path).start()


def test_without_an_ini_file_the_project_above_the_rootdir_is_served(pytester):
    _project(pytester.path)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_up.py").write_text('''
def test_up(funcstudio, pytestconfig):
    assert pytestconfig.rootpath.name == "tests" and funcstudio.root == pytestconfig.rootpath.parent
    assert funcstudio.invoke("/api/users/list").status == 200
''')
    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", "--rootdir", "tests",
                                           "tests/test_up.py", timeout=240)
    result.assert_outcomes(passed=1)

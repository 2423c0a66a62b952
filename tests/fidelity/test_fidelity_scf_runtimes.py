"""A mixed-language SCF repository (issue: fidelity item 1): the declared runtime decides what runs.

Shaped after Tencent's scf-demo-repo: one folder per demo, each with its own serverless.yaml or
template.yaml, in Python 3, Python 2.7, Node.js, PHP and Go, three of them named `helloworld`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_file

from studio.cli import cli as main
from studio.project.check import check_project
from studio.project.loader import load_project

PY3_HANDLER = "def main_handler(event, context):\n    return {'runtime': 'py3', 'region': context['tencentcloud_region']}\n"
PY2_HANDLER = "def main_handler(event, context):\n    print 'hello'\n    return 'py2'\n"


def serverless(name: str, handler: str, runtime: str, extra: str = "") -> str:
    return (f"component: scf\nname: ap-guangzhou_default_{name}\ninputs:\n  name: {name}\n  src: ./\n"
            f"  handler: {handler}\n  runtime: {runtime}\n  region: ap-chengdu\n  timeout: 7\n{extra}")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed-scf")
    write_file(root, "Python3.6-helloworld/index.py", PY3_HANDLER)
    write_file(root, "Python3.6-helloworld/serverless.yaml", serverless("helloworld", "index.main_handler", "Python3.6"))
    write_file(root, "Python2.7-helloworld/index.py", PY2_HANDLER)
    write_file(root, "Python2.7-helloworld/serverless.yaml", serverless("helloworld", "index.main_handler", "Python2.7"))
    write_file(root, "Php7.2-helloworld/index.php", "<?php function main_handler($e, $c) { return 'php'; } ?>\n")
    write_file(root, "Php7.2-helloworld/serverless.yaml", serverless(
        "helloworld", "index.main_handler", "Php7",
        "  events:\n    - apigw:\n        parameters:\n          endpoints:\n            - path: /\n              method: GET\n"))
    write_file(root, "Nodejs12.16-helloworld/index.js", "exports.main_handler = async () => 'node'\n")
    write_file(root, "Nodejs12.16-helloworld/template.yaml", (
        "Resources:\n  default:\n    Type: TencentCloud::Serverless::Namespace\n    hellonode:\n"
        "      Type: TencentCloud::Serverless::Function\n      Properties:\n        CodeUri: ./\n"
        "        Handler: index.main_handler\n        Timeout: 3\n"
        "Globals:\n  Function:\n    Runtime: Nodejs12.16\n"))
    write_file(root, "Go1-helloworld/serverless.yaml", serverless("gohello", "main", "Go1"))
    return root


def test_only_python3_functions_are_built_and_routed(mixed: Path) -> None:
    project = load_project(mixed)
    assert [fn.id for fn in project.functions] == ["Python3.6-helloworld/index"]
    fn = project.functions[0]
    assert fn.runtime == "Python3.6" and fn.aliases == ("helloworld",)
    assert fn.limits.timeout_s == 7  # the Python function keeps its declared settings
    assert fn.region == "ap-chengdu"
    # The PHP function's GET / is not a route: nothing answers it with a 437.
    assert all(r.function_id == fn.id for r in project.routes)
    listed = {(n.name, n.runtime) for n in project.not_run}
    assert listed == {("helloworld", "Python2.7"), ("helloworld", "Php7"), ("hellonode", "Nodejs12.16"),
                      ("gohello", "Go1")}


def test_problems_name_the_runtime_and_the_files(mixed: Path) -> None:
    problems = check_project(load_project(mixed))
    by_code: dict[str, list] = {}
    for p in problems:
        by_code.setdefault(p.code, []).append(p)
    eol = by_code["SCF-RUNTIME-EOL"]
    assert len(eol) == 1 and eol[0].severity == "error"
    assert "Python2.7" in eol[0].message and "2020-01-01" in eol[0].message
    assert eol[0].file == "Python2.7-helloworld/serverless.yaml"
    other = by_code["SCF-RUNTIME-OTHER"]
    assert {p.file for p in other} == {"Php7.2-helloworld/serverless.yaml", "Nodejs12.16-helloworld/template.yaml",
                                       "Go1-helloworld/serverless.yaml"}
    assert all(p.severity == "info" for p in other)
    # No syntax error for the Python 2 code, no "create index.py" for the others.
    assert "syntax-error" not in by_code and "SCF-HANDLER-NOT-FOUND" not in by_code
    duplicates = by_code["SCF-DUPLICATE-NAME"]
    assert duplicates and all(p.severity == "warning" for p in duplicates)
    for p in duplicates:
        assert "Python3.6-helloworld/serverless.yaml" in p.message
        assert p.file in p.message and p.file != "Python3.6-helloworld/serverless.yaml"


def test_check_exits_1_for_the_end_of_life_runtime_and_routes_lists_the_rest(mixed: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(mixed)])
    assert result.exit_code == 1, result.output
    assert "SCF-RUNTIME-EOL" in result.output
    routes = runner.invoke(main, ["routes", str(mixed)])
    assert routes.exit_code == 0, routes.output
    assert "does not run" in routes.output
    assert "hellonode  Nodejs12.16  Nodejs12.16-helloworld/template.yaml" in routes.output


def test_undeclared_python2_code_is_named_as_python2(tmp_path: Path) -> None:
    write_file(tmp_path, "legacy/index.py", PY2_HANDLER)  # convention function: no declared runtime
    project = load_project(tmp_path)
    problem = project.functions[0].load_problem
    assert problem is not None and problem.code == "syntax-error"
    assert problem.message.startswith("Python 2 syntax") and "2020-01-01" in problem.hint


# -- the door: what SCF answers before a function runs (fidelity items 11 and 12) ----------------


def test_door_errors_are_the_platforms_results(mixed: Path) -> None:
    import json

    from helpers import run_funcstudio

    unknown = run_funcstudio("invoke", str(mixed), "no-such-function", "-d", "{}", "--json")
    assert unknown.returncode == 1, unknown.stderr
    body = json.loads(json.loads(unknown.stdout)["body"])
    assert body["statusCode"] == 435 and body["errorMessage"].startswith("FunctionNotFound")
    not_json = run_funcstudio("invoke", str(mixed), "helloworld", "-d", "{oops", "--json")
    assert not_json.returncode == 1, not_json.stderr
    record = json.loads(not_json.stdout)
    body = json.loads(record["body"])
    assert record["status"] == 400 and body["statusCode"] == 400
    assert body["errorMessage"].startswith("InvalidParameterValue")
    assert "_funcstudio_worker" not in not_json.stdout + unknown.stdout
    event_file = mixed.parent / "not-json-event.txt"
    event_file.write_text("{oops", encoding="utf-8")
    from_file = run_funcstudio("invoke", str(mixed), "helloworld", "--event", str(event_file), "--json")
    assert from_file.returncode == 1, from_file.stderr
    record = json.loads(from_file.stdout)
    assert record["status"] == 400 and json.loads(record["body"])["errorMessage"].startswith("InvalidParameterValue")


def test_cos_event_is_recorded_as_a_cos_trigger_and_region_reaches_the_context(mixed: Path) -> None:
    import json

    from helpers import run_funcstudio

    out = run_funcstudio("invoke", str(mixed), "helloworld", "--event", "cos", "--json")
    record = json.loads(out.stdout)
    assert record["trigger"] == "cos", out.stderr
    assert json.loads(record["body"])["region"] == "ap-chengdu"


def test_apigw_template_headers_are_lower_case() -> None:
    from studio.runtime.templates import load_template

    headers = load_template("apigw")["headers"]
    assert headers and all(name == name.lower() for name in headers)

"""SCF discovery: serverless.yml (both component forms), template.yaml, the convention, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_file
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from studio.project.scf import discover_scf, path_template_regex
from studio.project.settings import Settings, load_settings

HANDLER = "def main_handler(event, context):\n    return {'ok': True}\n"


def write(root: Path, name: str, text: str) -> None:
    write_file(root, name, text, dedent=True)


def scan(root: Path, settings: Settings | None = None):
    if settings is None:
        settings, problems = load_settings(root)
        assert problems == ()
    return discover_scf(root, settings)


def test_component_scf_form_with_src_and_events(tmp_path: Path) -> None:
    write(tmp_path, "hello/src/index.py", HANDLER)
    write(tmp_path, "hello/serverless.yml", """\
        component: scf
        name: hello-app
        inputs:
          name: hello
          src:
            src: ./src
            exclude: [.env]
          handler: index.main_handler
          runtime: Python3.9
          namespace: demo
          timeout: 10
          memorySize: 256
          environment:
            variables:
              GREETING: hi
              RETRIES: 3
          events:
            - apigw:
                parameters:
                  environment: test
                  endpoints:
                    - path: /hello
                      method: get
                      function:
                        isIntegratedResponse: true
                    - path: /users/{id}
            - timer:
                parameters:
                  name: every5
                  cronExpression: "0 */5 * * * * *"
                  enable: false
                  argument: ping
            - cos:
                parameters:
                  bucket: photos-1250000000.cos.ap-guangzhou.myqcloud.com
                  events: "cos:ObjectCreated:*"
        """)
    result = scan(tmp_path)
    assert result.problems == ()
    [fn] = result.functions
    assert fn.id == "hello/src/index"
    assert fn.entry == "hello/src/index.py" and fn.code_root == "hello/src"
    assert fn.platform == "scf" and fn.kind == "scf-event"
    assert fn.name == "hello" and fn.aliases == ("hello",)
    assert fn.handler == "index.main_handler" and fn.runtime == "Python3.9" and fn.namespace == "demo"
    assert (fn.limits.timeout_s, fn.limits.memory_mb) == (10.0, 256)
    assert fn.env == {"GREETING": "hi", "RETRIES": "3"}
    apigw = [t for t in fn.triggers if t.type == "apigw"]
    assert [(t.path, t.method, t.integrated_response, t.stage) for t in apigw] == [
        ("/hello", "GET", True, "test"),
        ("/users/{id}", "ANY", False, "test"),
    ]
    [timer] = [t for t in fn.triggers if t.type == "timer"]
    assert (timer.name, timer.cron, timer.enabled, timer.message) == ("every5", "0 */5 * * * * *", False, "ping")
    [cos] = [t for t in fn.triggers if t.type == "cos"]
    assert cos.options["bucket"].startswith("photos-")
    assert [(r.path, r.src, r.methods, r.params) for r in result.routes] == [
        ("/hello", "^/hello$", ("GET",), ()),
        ("/users/{id}", "^/users/([^/]+)$", (), ("id",)),
    ]
    assert all(r.platform == "scf" and r.kind == "scf-event" and r.function_id == fn.id for r in result.routes)


def test_older_component_form_with_code_uri(tmp_path: Path) -> None:
    write(tmp_path, "code/index.py", HANDLER)
    write(tmp_path, "ticker/index.py", "def tick(event, context):\n    return 1\n")
    write(tmp_path, "serverless.yml", """\
        MyFunction:
          component: '@serverless/tencent-scf'
          inputs:
            name: myFunction
            codeUri: ./code
            handler: index.main_handler
            events:
              - apigw:
                  name: serverless
                  parameters:
                    endpoints:
                      - path: /
                        method: POST
        Ticker:
          component: '@serverless/tencent-scf'
          inputs:
            codeUri: ./ticker
            handler: index.tick
            events:
              - timer:
                  name: timer
                  parameters:
                    cronExpression: '*/5 * * * *'
                    enable: true
        Website:
          component: '@serverless/tencent-website'
          inputs: {}
        """)
    result = scan(tmp_path)
    assert result.problems == ()
    by_name = {fn.name: fn for fn in result.functions}
    assert set(by_name) == {"myFunction", "Ticker"}
    assert by_name["myFunction"].id == "code/index"
    assert (by_name["myFunction"].limits.timeout_s, by_name["myFunction"].limits.memory_mb) == (3.0, 128)
    assert [(r.path, r.src, r.methods) for r in result.routes] == [("/", "^/?$", ("POST",))]
    [timer] = by_name["Ticker"].triggers
    assert (timer.type, timer.name, timer.cron, timer.enabled) == ("timer", "timer", "*/5 * * * *", True)
    assert by_name["Ticker"].handler == "index.tick" and by_name["Ticker"].routes == ()


def test_template_yaml_namespaces_globals_and_events(tmp_path: Path) -> None:
    write(tmp_path, "fn/main.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "other/index.py", HANDLER)
    write(tmp_path, "template.yaml", """\
        Globals:
          Function:
            Timeout: 7
            MemorySize: 256
            Environment:
              Variables:
                FROM_GLOBALS: g
        Resources:
          prod:
            Type: TencentCloud::Serverless::Namespace
            worker:
              Type: TencentCloud::Serverless::Function
              Properties:
                CodeUri: ./fn
                Handler: main.handler
                Runtime: Python3.6
                Timeout: 20
                Environment:
                  Variables:
                    OWN: o
                Events:
                  every-minute:
                    Type: timer
                    Properties:
                      CronExpression: "0 * * * * * *"
                      Enable: True
                  api:
                    Type: APIGW
                    Properties:
                      StageName: prepub
                      HttpMethod: POST
            beside:
              Type: TencentCloud::Serverless::Function
              Properties:
                CodeUri: other/index.py
                Handler: index.main_handler
                Runtime: Python3.10
              Events:
                queue:
                  Type: Ckafka
                  Properties:
                    Name: kafka-1
                    Topic: orders
        """)
    result = scan(tmp_path)
    assert result.problems == ()
    by_name = {fn.name: fn for fn in result.functions}
    worker, beside = by_name["worker"], by_name["beside"]
    assert worker.id == "fn/main" and worker.namespace == "prod"
    assert (worker.limits.timeout_s, worker.limits.memory_mb) == (20.0, 256)  # own Timeout beats Globals
    assert worker.env == {"FROM_GLOBALS": "g", "OWN": "o"}
    assert [(t.type, t.name) for t in worker.triggers] == [("timer", "every-minute"), ("apigw", "api")]
    api = worker.triggers[1]
    assert (api.path, api.method, api.stage, api.integrated_response) == ("/worker", "POST", "prepub", False)
    assert beside.id == "other/index" and beside.limits.timeout_s == 7.0  # inherited
    [kafka] = beside.triggers
    assert kafka.type == "ckafka" and kafka.options["Topic"] == "orders"


def test_convention_finds_main_handler_folders_outside_other_platforms(tmp_path: Path) -> None:
    write(tmp_path, "orders/index.py", HANDLER)
    write(tmp_path, "nested/deep/index.py", HANDLER)
    write(tmp_path, "plain/index.py", "def handler(event, context):\n    return 1\n")
    write(tmp_path, "cloud-functions/api/index.py", HANDLER)
    write(tmp_path, "cocobase/index.py", HANDLER)
    write(tmp_path, "tests/index.py", HANDLER)
    write(tmp_path, "scripts/job/index.py", HANDLER)
    write(tmp_path, "venv/index.py", HANDLER)
    result = scan(tmp_path)
    assert sorted(fn.id for fn in result.functions) == ["nested/deep/index", "orders/index"]
    orders = next(fn for fn in result.functions if fn.id == "orders/index")
    assert orders.name == "orders" and orders.aliases == ("orders",)
    assert orders.handler == "index.main_handler" and orders.runtime == "Python3.10"
    assert (orders.limits.timeout_s, orders.limits.memory_mb) == (3.0, 128)
    [trigger] = orders.triggers
    assert (trigger.type, trigger.path, trigger.method, trigger.integrated_response, trigger.stage) == (
        "apigw", "/orders", "ANY", True, "release")
    assert [(r.path, r.methods) for r in orders.routes] == [("/orders", ())]


def test_configured_function_is_not_found_twice_by_convention(tmp_path: Path) -> None:
    write(tmp_path, "hello/index.py", HANDLER)
    write(tmp_path, "serverless.yml", "component: scf\nname: greeter\ninputs:\n  src: ./hello\n")
    result = scan(tmp_path)
    assert [(fn.id, fn.name) for fn in result.functions] == [("hello/index", "greeter")]


def test_settings_declare_and_override_functions(tmp_path: Path) -> None:
    write(tmp_path, "orders/index.py", HANDLER)
    write(tmp_path, "billing/app.py", "def run(event, context):\n    return 1\n")
    write(tmp_path, "funcstudio.toml", """\
        [functions."orders"]
        platform = "scf"
        timeout_s = 10
        memory_mb = 256
        env = { DB_HOST = "localhost" }
        triggers = [ { type = "apigw", path = "/orders", method = "post", integrated_response = false },
                     { type = "timer", cron = "0 */5 * * * * *" } ]
        [functions."billing"]
        platform = "scf"
        src = "billing"
        handler = "app.run"
        runtime = "Python3.9"
        """)
    result = scan(tmp_path)
    assert result.problems == ()
    orders = next(fn for fn in result.functions if fn.name == "orders")
    assert (orders.limits.timeout_s, orders.limits.memory_mb) == (10.0, 256)
    assert orders.env == {"DB_HOST": "localhost"}
    assert [(t.type, t.path, t.method, t.cron) for t in orders.triggers] == [
        ("apigw", "/orders", "POST", None), ("timer", None, "ANY", "0 */5 * * * * *")]
    billing = next(fn for fn in result.functions if fn.name == "billing")
    assert (billing.id, billing.handler, billing.runtime) == ("billing/app", "app.run", "Python3.9")
    assert [r.path for r in billing.routes] == ["/billing"]


def test_handler_pointing_to_missing_file_or_function(tmp_path: Path) -> None:
    write(tmp_path, "a/index.py", "def other(event, context):\n    return 1\n")
    write(tmp_path, "serverless.yml", """\
        first:
          component: '@serverless/tencent-scf'
          inputs: {name: first, codeUri: ./a, handler: index.main_handler}
        second:
          component: '@serverless/tencent-scf'
          inputs: {name: second, codeUri: ./missing, handler: index.main_handler}
        third:
          component: '@serverless/tencent-scf'
          inputs: {name: third, codeUri: ./a, handler: nodot}
        """)
    result = scan(tmp_path)
    problems = sorted(result.problems, key=lambda p: p.message)
    assert [p.code for p in problems] == ["SCF-HANDLER-NOT-FOUND"] * 3
    assert all(p.severity == "error" for p in problems)
    first = next(p for p in problems if "of first" in p.message)
    assert first.file == "a/index.py" and "defines no `main_handler`" in first.message
    second = next(p for p in problems if "of second" in p.message)
    assert second.file == "serverless.yml" and "missing/index.py does not exist" in second.message
    assert second.line is not None
    # the functions are still listed, each carrying its load problem
    assert {fn.name for fn in result.functions} == {"first", "second", "third"}
    assert all(fn.load_problem is not None for fn in result.functions)


def test_entry_with_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, "broken/index.py", "def main_handler(event, context):\n    return (\n")
    result = scan(tmp_path)
    [fn] = result.functions
    assert fn.load_problem is not None and fn.load_problem.code == "syntax-error"
    assert fn.load_problem.file == "broken/index.py" and fn.load_problem.line is not None


def test_invalid_yaml_names_file_and_line_and_keeps_other_functions(tmp_path: Path) -> None:
    write(tmp_path, "conv/index.py", HANDLER)
    write(tmp_path, "serverless.yml", "component: scf\ninputs:\n  src: [unclosed\n  handler: x\n")
    result = scan(tmp_path)
    [problem] = result.problems
    assert problem.code == "invalid-config" and problem.file == "serverless.yml"
    assert problem.line is not None and "invalid YAML" in problem.message
    assert [fn.id for fn in result.functions] == ["conv/index"]


def test_env_names_and_limits_are_validated(tmp_path: Path) -> None:
    write(tmp_path, "f/index.py", HANDLER)
    write(tmp_path, "serverless.yml", """\
        component: scf
        name: f
        inputs:
          src: ./f
          timeout: 901
          memorySize: 200
          environment:
            variables:
              GOOD_NAME: 1
              SCF_OWN: x
              TENCENTCLOUD_REGION: y
              9lives: z
        """)
    result = scan(tmp_path)
    env_problems = [p for p in result.problems if p.code == "SCF-ENV-NAME"]
    assert sorted(p.message.split("'")[1] for p in env_problems) == ["9lives", "SCF_OWN", "TENCENTCLOUD_REGION"]
    assert all(p.file == "serverless.yml" and p.line for p in env_problems)
    limit_problems = [p for p in result.problems if p.code == "invalid-config"]
    assert len(limit_problems) == 2
    assert {p.line for p in limit_problems} == {5, 6}
    [fn] = result.functions
    assert (fn.limits.timeout_s, fn.limits.memory_mb) == (3.0, 128)  # defaults used


@pytest.mark.parametrize("memory", [64, 128, 1536, 3072])
def test_valid_memory_sizes(tmp_path: Path, memory: int) -> None:
    write(tmp_path, "f/index.py", HANDLER)
    write(tmp_path, "serverless.yml", f"component: scf\nname: f\ninputs:\n  src: ./f\n  memorySize: {memory}\n")
    result = scan(tmp_path)
    assert result.problems == ()
    assert result.functions[0].limits.memory_mb == memory


def test_path_templates() -> None:
    assert path_template_regex("/") == ("^/?$", ())
    assert path_template_regex("/a/{x}/b/{y}") == ("^/a/([^/]+)/b/([^/]+)$", ("x", "y"))
    assert path_template_regex("/v1.0") == (r"^/v1\.0$", ())


def test_reserved_env_key_from_settings_names_the_settings_file(tmp_path: Path) -> None:
    write(tmp_path, "orders/index.py", HANDLER)
    write(tmp_path, "funcstudio.toml", '[functions."orders"]\nenv = { SCF_DEBUG = "1", OK = "2" }\n')
    settings, _ = load_settings(tmp_path)
    result = discover_scf(tmp_path, settings)
    [problem] = result.problems
    assert (problem.code, problem.file) == ("SCF-ENV-NAME", "funcstudio.toml")
    assert result.functions[0].env == {"SCF_DEBUG": "1", "OK": "2"}


# Any shape of YAML must give problems, never an exception.
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=8),
                     st.sampled_from(["scf", "apigw", "timer", "index.main_handler", "./", "/x/{id}", "Timer"]))
_keys = st.sampled_from(["component", "inputs", "name", "src", "codeUri", "handler", "timeout", "memorySize",
                         "environment", "variables", "events", "apigw", "timer", "parameters", "endpoints",
                         "path", "method", "Resources", "Globals", "Function", "Type", "Properties", "Events",
                         "CodeUri", "Handler", "Timeout", "MemorySize", "Environment", "Variables", "type"])
_yaml_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_yaml_values, name=st.sampled_from(["serverless.yml", "template.yaml"]))
def test_any_yaml_shape_is_a_problem_not_an_exception(tmp_path: Path, value: object, name: str) -> None:
    import yaml

    (tmp_path / name).write_text(yaml.safe_dump(value), encoding="utf-8")
    result = discover_scf(tmp_path, Settings())
    assert all(p.severity in ("error", "warning", "info") for p in result.problems)
    for fn in result.functions:
        assert fn.platform == "scf" and fn.limits.timeout_s > 0


def test_limits_from_settings_are_validated_against_scf_and_name_the_settings_file(tmp_path: Path) -> None:
    write(tmp_path, "a/index.py", HANDLER)
    write(tmp_path, "b/index.py", HANDLER)
    write(tmp_path, "funcstudio.toml", '[limits]\nmemory_mb = 100\n[functions."b"]\ntimeout_s = 1000\nmemory_mb = 256\n')
    result = scan(tmp_path)
    assert sorted((p.file, p.message.split(" ")[0]) for p in result.problems) == [
        ("funcstudio.toml", "memory"), ("funcstudio.toml", "timeout")]
    limits = {fn.name: (fn.limits.timeout_s, fn.limits.memory_mb) for fn in result.functions}
    assert limits == {"a": (3.0, 128), "b": (3.0, 256)}

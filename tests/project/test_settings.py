"""load_settings: funcstudio.toml / [tool.funcstudio], .env, FUNCSTUDIO_* overrides, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write_file as write
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from studio.project.settings import FunctionSettings, Settings, load_settings


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def test_no_settings_file_gives_defaults_and_no_problems(tmp_path: Path) -> None:
    settings, problems = load_settings(tmp_path)
    assert settings == Settings()
    assert settings.source is None
    assert problems == ()


def test_funcstudio_toml_values_are_typed(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", """
python = ".venv/bin/python"
port = 0
quirks = "fixed"
[limits]
timeout_s = 12
memory_mb = 512
[env]
API_KEY = "dev"
RETRIES = 3
DEBUG = true
[functions."scf/hello"]
timeout_s = 3
memory_mb = 128
env = { DB = "localhost" }
[functions."orders"]
platform = "scf"
src = "orders"
triggers = [ { type = "timer", cron = "0 */5 * * * * *" } ]
[cocobase]
dir = "cb"
strict = true
project_id = "shop"
[keymap]
"invoke.send" = "f9"
""")
    settings, problems = load_settings(tmp_path)
    assert problems == ()
    assert settings.source == "funcstudio.toml"
    assert settings.python == ".venv/bin/python"
    assert settings.port == 0
    assert settings.quirks == "fixed"
    assert settings.limits.timeout_s == 12.0 and isinstance(settings.limits.timeout_s, float)
    assert settings.limits.memory_mb == 512
    assert settings.env == {"API_KEY": "dev", "RETRIES": "3", "DEBUG": "true"}
    assert settings.functions["scf/hello"] == FunctionSettings(timeout_s=3.0, memory_mb=128, env={"DB": "localhost"})
    assert settings.functions["orders"].platform == "scf"
    assert settings.functions["orders"].triggers == ({"type": "timer", "cron": "0 */5 * * * * *"},)
    assert settings.cocobase.dir == "cb" and settings.cocobase.strict is True
    assert settings.cocobase.project_id == "shop"
    assert settings.keymap == {"invoke.send": "f9"}


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.funcstudio]\nport = 9100\n[tool.funcstudio.env]\nA = "1"\n')
    settings, problems = load_settings(tmp_path)
    assert problems == ()
    assert settings.port == 9100
    assert settings.env == {"A": "1"}
    assert settings.source == "pyproject.toml"


def test_pyproject_without_our_table_is_not_a_settings_file(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    settings, problems = load_settings(tmp_path)
    assert settings.source is None and problems == ()


def test_funcstudio_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.funcstudio]\nport = 1111\n")
    write(tmp_path, "funcstudio.toml", "port = 2222\n")
    settings, _ = load_settings(tmp_path)
    assert settings.port == 2222 and settings.source == "funcstudio.toml"


def test_invalid_toml_names_file_and_line_and_keeps_defaults(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", 'port = 9000\n\n[env\nA = "x"\n')
    settings, problems = load_settings(tmp_path)
    assert settings.port == 8088  # nothing of the broken file is used
    [problem] = problems
    assert problem.code == "invalid-config" and problem.severity == "error"
    assert problem.file == "funcstudio.toml"
    assert problem.line == 3
    assert "invalid TOML" in problem.message


def test_wrong_types_fall_back_per_key_and_name_the_key(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", 'port = "eighty"\nhost = "localhost"\n[limits]\ntimeout_s = true\nmemory_mb = 256\n')
    settings, problems = load_settings(tmp_path)
    assert settings.port == 8088 and settings.host == "localhost"
    assert settings.limits.timeout_s is None and settings.limits.memory_mb == 256
    by_key = {p.message.split("`")[1]: p for p in problems}
    assert set(by_key) == {"port", "limits.timeout_s"}
    assert by_key["port"].line == 1 and by_key["port"].file == "funcstudio.toml"
    assert by_key["limits.timeout_s"].line == 4
    assert "expected an integer" in by_key["port"].message
    assert all(p.severity == "error" and p.code == "invalid-config" for p in problems)


def test_unknown_quirks_value_is_an_error_and_defaults(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", 'quirks = "loose"\n')
    settings, problems = load_settings(tmp_path)
    assert settings.quirks == "platform"
    [problem] = problems
    assert "quirks" in problem.message and "'platform', 'fixed'" in problem.message
    assert problem.line == 1


def test_unknown_keys_are_warnings(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", 'prot = 1\n[limits]\ntimeout = 3\n[functions."a"]\ntimeout = 5\n')
    settings, problems = load_settings(tmp_path)
    assert [p.severity for p in problems] == ["warning"] * 3
    messages = " | ".join(p.message for p in problems)
    assert "`prot`" in messages and "`limits.timeout`" in messages and "`functions.a.timeout`" in messages
    assert settings.functions["a"] == FunctionSettings()


def test_functions_table_entries_must_be_tables(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", '[functions]\nbad = 3\n[functions.good]\ntimeout_s = 2\n')
    settings, problems = load_settings(tmp_path)
    assert codes(problems) == ["invalid-config"]
    assert "`functions.bad`" in problems[0].message and problems[0].line == 2
    assert settings.functions == {"good": FunctionSettings(timeout_s=2.0)}  # the good entry survives


def test_dotenv_is_parsed_and_env_table_wins(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", '[env]\nSHARED = "from-toml"\n')
    write(tmp_path, ".env", "\n".join([
        "# a comment",
        "PLAIN=value # trailing comment",
        'DOUBLE="two words # kept"',
        "SINGLE='it''s'",
        "export EXPORTED=yes",
        'ESCAPED="line\\nbreak"',
        "EMPTY=",
        "SHARED=from-dotenv",
        "this is not a line",
        "",
    ]))
    settings, problems = load_settings(tmp_path)
    assert settings.env["PLAIN"] == "value"
    assert settings.env["DOUBLE"] == "two words # kept"
    assert settings.env["SINGLE"] == "it"
    assert settings.env["EXPORTED"] == "yes"
    assert settings.env["ESCAPED"] == "line\nbreak"
    assert settings.env["EMPTY"] == ""
    assert settings.env["SHARED"] == "from-toml"
    [problem] = problems
    assert problem.file == ".env" and problem.line == 9 and problem.severity == "warning"


def test_dotenv_without_settings_file(tmp_path: Path) -> None:
    write(tmp_path, ".env", "A=1\n")
    settings, problems = load_settings(tmp_path)
    assert settings.env == {"A": "1"} and problems == ()


def test_config_file_variable_points_at_a_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "project/funcstudio.toml", "port = 1\n")
    fixture = write(tmp_path, "fixtures/alt.toml", "port = 4242\n")
    write(tmp_path, "fixtures/.env", "FROM_FIXTURE=1\n")
    monkeypatch.setenv("FUNCSTUDIO_CONFIG_FILE", str(fixture))
    settings, problems = load_settings(tmp_path / "project")
    assert problems == ()
    assert settings.port == 4242
    assert settings.env == {"FROM_FIXTURE": "1"}


def test_config_file_variable_to_missing_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCSTUDIO_CONFIG_FILE", str(tmp_path / "nope.toml"))
    settings, problems = load_settings(tmp_path)
    assert settings == Settings()
    assert codes(problems) == ["invalid-config"] and "FUNCSTUDIO_CONFIG_FILE" in problems[0].message


def test_port_and_host_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "funcstudio.toml", "port = 9000\n")
    monkeypatch.setenv("FUNCSTUDIO_PORT", "9555")
    monkeypatch.setenv("FUNCSTUDIO_HOST", "localhost")
    settings, problems = load_settings(tmp_path)
    assert (settings.port, settings.host) == (9555, "localhost")
    assert problems == ()


def test_bad_port_environment_value_keeps_the_configured_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "funcstudio.toml", "port = 9000\n")
    monkeypatch.setenv("FUNCSTUDIO_PORT", "99999")
    settings, problems = load_settings(tmp_path)
    assert settings.port == 9000
    assert codes(problems) == ["invalid-config"] and "FUNCSTUDIO_PORT" in problems[0].message


def test_non_loopback_host_warns(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", 'host = "0.0.0.0"\n')
    settings, problems = load_settings(tmp_path)
    assert settings.host == "0.0.0.0"
    assert [(p.severity, p.code) for p in problems] == [("warning", "exposed-host")]


def test_settings_file_that_is_not_utf8(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", b'port = 1\n# caf\xe9\n')
    settings, problems = load_settings(tmp_path)
    assert settings.port == 8088
    assert codes(problems) == ["invalid-config"] and problems[0].file == "funcstudio.toml"


def test_no_other_project_module_reads_os_environ(repo_root: Path) -> None:
    offenders = [
        path.name
        for path in (repo_root / "studio" / "project").glob("*.py")
        if path.name != "settings.py" and "os.environ" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_out_of_range_values_fall_back(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", "port = 70000\n[cocobase]\nerror_status = 42\nstrict = true\n")
    settings, problems = load_settings(tmp_path)
    assert settings.port == 8088
    assert settings.cocobase.error_status == 500 and settings.cocobase.strict is True
    assert [(p.code, p.line) for p in problems] == [("invalid-config", 1), ("invalid-config", 3)]


def test_requests_dir_is_a_folder_inside_the_project(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml", '[requests]\ndir = "api/requests"\n')
    assert load_settings(tmp_path)[0].requests.dir == "api/requests"
    for bad in ("/etc", "../shared", "", ".funcstudio/requests", "C:/x", "a/../../b"):
        write(tmp_path, "funcstudio.toml", f"[requests]\ndir = {json.dumps(bad)}\n")
        settings, problems = load_settings(tmp_path)
        assert settings.requests.dir == "http-requests", bad
        [problem] = problems
        assert (problem.code, problem.line) == ("invalid-config", 2)
        assert "`requests.dir`" in problem.message and "a folder inside the project" in problem.message
    write(tmp_path, "funcstudio.toml", "[requests]\ndir = 3\n")
    assert codes(load_settings(tmp_path)[1]) == ["invalid-config"]


# Any TOML document, however wrong its shapes, gives settings plus problems, never an exception.
def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


_setting_keys = st.sampled_from(["python", "port", "host", "quirks", "limits", "timeout_s", "memory_mb", "env",
                                 "functions", "platform", "triggers", "cocobase", "dir", "strict", "error_status",
                                 "store", "runtime", "keymap", "requests", "edgeone", "headers", "scf", "x"])
_setting_scalars = st.one_of(st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False, allow_infinity=False),
                             st.text(max_size=6), st.sampled_from(["platform", "fixed", "scf", "dev", "lower"]))
_setting_values = st.recursive(_setting_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_setting_keys, inner, max_size=4)), max_leaves=16)


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(_setting_keys, _setting_values, max_size=6))
def test_any_settings_document_loads(tmp_path: Path, document: dict) -> None:
    text = "\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in document.items())
    write(tmp_path, "funcstudio.toml", text)
    settings, problems = load_settings(tmp_path)
    assert isinstance(settings, Settings)
    assert settings.quirks in ("platform", "fixed")
    assert 0 <= settings.port <= 65535
    assert all(isinstance(v, str) for v in settings.env.values())
    assert all(p.file == "funcstudio.toml" for p in problems if p.code == "invalid-config")


def test_zero_and_negative_limits_are_errors_naming_file_key_and_line(tmp_path: Path) -> None:
    write(tmp_path, "funcstudio.toml",
          '[limits]\nmemory_mb = 128\n[runtime]\nmax_instances = 0\nmax_total_instances = 0\n'
          '[functions."api/x"]\nmemory_mb = 0\n[store]\nmax_invocations = -5\n[cocobase]\ntimeout = 0\n')
    settings, problems = load_settings(tmp_path)
    by_key = {p.message.split("`")[1]: p for p in problems}
    assert {key: p.line for key, p in by_key.items()} == {
        "runtime.max_instances": 4, "runtime.max_total_instances": 5, "functions.api/x.memory_mb": 7,
        "store.max_invocations": 9, "cocobase.timeout": 11,
    }
    assert all(p.severity == "error" and p.file == "funcstudio.toml" for p in problems)
    assert "expected a positive integer, got 0" in by_key["runtime.max_instances"].message
    assert settings.runtime.max_instances == 2 and settings.runtime.max_total_instances == 32
    assert settings.limits.memory_mb == 128 and settings.store.max_invocations == 50_000

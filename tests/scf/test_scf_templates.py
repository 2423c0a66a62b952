"""Event templates, --set overrides and the `events` CLI (real subprocess for the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from studio.runtime.templates import (
    TemplateError,
    list_templates,
    load_template,
    resolve_event,
    timer_event,
)

NAMES = ["apigw", "timer", "cos", "cmq", "ckafka", "direct"]


def test_every_template_is_listed_and_loads_as_an_object():
    assert [t.name for t in list_templates()] == NAMES
    for name in NAMES:
        assert isinstance(load_template(name), dict)


def test_template_shapes_follow_the_spec():
    assert load_template("timer")["Type"] == "Timer"
    assert load_template("apigw")["requestContext"]["path"] == "/test/{path}"
    assert load_template("cos")["Records"][0]["cos"]["cosObject"]["key"] == "/1253970026/testpic/testfile"
    assert isinstance(load_template("cmq")["Records"][0]["CMQ"]["topicOwner"], int)
    assert len(load_template("ckafka")["Records"]) == 2


def test_overrides_parse_json_and_create_levels():
    event = load_template(
        "apigw",
        ["httpMethod=GET", "queryString.page=2", "headers.x-new.deep=true", "body={\"a\": [1]}", "path=/x y"],
    )
    assert event["httpMethod"] == "GET"
    assert event["queryString"]["page"] == 2
    assert event["headers"]["x-new"] == {"deep": True}
    assert event["body"] == {"a": [1]}
    assert event["path"] == "/x y"


def test_overrides_index_into_lists():
    event = load_template("cos", ["Records.0.cos.cosBucket.name=photos"])
    assert event["Records"][0]["cos"]["cosBucket"]["name"] == "photos"
    assert load_template("cos")["Records"][0]["cos"]["cosBucket"]["name"] == "testpic"  # fresh copy


@pytest.mark.parametrize(
    "bad, words",
    [("nokey", "key=value"), ("=1", "key=value"), ("a..b=1", "empty path"),
     ("Records.5.x=1", "out of range"), ("Records.x=1", "not an index"), ("Records.0.cos.cosSchemaVersion.x=1", "cannot descend")],
)
def test_bad_overrides_are_named(bad, words):
    with pytest.raises(TemplateError, match=words):
        load_template("cos", [bad])


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(TemplateError, match="apigw"):
        load_template("sqs")


def test_resolve_event_file_stdin_template(tmp_path):
    f = tmp_path / "e.json"
    f.write_text('{"k": 1}')
    assert resolve_event(str(f)) == {"k": 1}
    assert resolve_event("-", read_stdin=lambda: '[1, 2]') == [1, 2]
    assert resolve_event("timer", overrides=("Message=hi",))["Message"] == "hi"
    (tmp_path / "bad.json").write_text('{"k": ')
    with pytest.raises(TemplateError, match="not JSON: line 1"):
        resolve_event(str(tmp_path / "bad.json"))
    with pytest.raises(TemplateError, match="neither a file"):
        resolve_event(str(tmp_path / "missing.json"))


def test_timer_event_is_utc():
    fired = datetime(2024, 5, 1, 8, 30, 5, tzinfo=timezone.utc)
    assert timer_event("EveryDay", fired, "m") == {
        "Type": "Timer", "TriggerName": "EveryDay", "Time": "2024-05-01T08:30:05Z", "Message": "m"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=60)


def test_events_cli_list_and_show():
    out = _cli("events", "list")
    assert out.returncode == 0, out.stderr
    for name in NAMES:
        assert name in out.stdout
    shown = _cli("events", "show", "timer", "--set", "TriggerName=nightly")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["TriggerName"] == "nightly"
    bad = _cli("events", "show", "nope")
    assert bad.returncode != 0 and "unknown event template" in bad.stderr and "Traceback" not in bad.stderr

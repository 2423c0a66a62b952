"""The control API's bad-input answers: SCF's own 400 for a non-JSON event, a clear 404 for unknown ids."""

from __future__ import annotations

import json
import textwrap

import pytest
from scf_helpers import call

TOML = """
[functions."ev"]
platform = "scf"
src = "ev"
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    from studio.runtime.server import Runtime

    root = tmp_path_factory.mktemp("ctlapi")
    files = {
        "funcstudio.toml": TOML,
        "ev/index.py": "def main_handler(event, context):\n    return {'got': event}\n",
        "cloud-functions/hello.py": "def handler(event, context):\n    return 'hi'\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as rt:
        yield rt


INVOKE = "/__funcstudio/functions/{}/invoke"


@pytest.mark.parametrize("body", [b"{nope", b"\xff\xfe not utf-8"])
def test_scf_event_that_is_not_json_is_the_platform_400(runtime, body):
    reply = call(runtime.port, "POST", INVOKE.format("ev"), body=body)
    assert reply.status == 400
    assert reply.header_values("Content-Type")[0].startswith("application/json")
    data = reply.json()
    assert list(data) == ["errorCode", "errorMessage", "requestId", "statusCode"]
    assert data["errorCode"] == -1 and data["statusCode"] == 400
    assert data["errorMessage"].startswith("InvalidParameterValue")
    assert data["requestId"] == reply.header_values("X-Funcstudio-Request-Id")[0]
    ok = call(runtime.port, "POST", INVOKE.format("ev"), body=b'{"a": 1}')
    assert ok.status == 200 and json.loads(ok.json()["body"]) == {"got": {"a": 1}}


def test_other_platforms_keep_the_generic_400(runtime):
    reply = call(runtime.port, "POST", INVOKE.format("cloud-functions/hello"), body=b"{nope")
    assert reply.status == 400
    assert reply.json()["error"] == "bad-event" and "not JSON" in reply.json()["message"]


def test_unknown_function_is_a_clear_404_not_435(runtime):
    reply = call(runtime.port, "POST", INVOKE.format("nosuch"), body=b"{}")
    assert reply.status == 404
    data = reply.json()
    assert data["error"] == "unknown-function"
    assert "'nosuch'" in data["message"] and "ev" in data["message"] and "cloud-functions/hello" in data["message"]
    assert "cloud-functions/hello" in data["functions"] and len(data["functions"]) == 2

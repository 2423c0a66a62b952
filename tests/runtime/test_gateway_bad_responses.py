"""Responses HTTP cannot carry (line breaks in headers, impossible statuses) become a clear 502 that is
still recorded, and the gateway keeps serving."""

from __future__ import annotations

import pytest
from gw_helpers import request, serving, wait_until, write_files

pytestmark = pytest.mark.slow

FILES = {
    "cloud-functions/badhdr.py": """
        def handler(event, context):
            return {"statusCode": 200, "headers": {"X-Bad": "a\\nb"}, "body": "x"}
    """,
    "cloud-functions/badstatus.py": """
        def handler(event, context):
            return {"statusCode": 1234, "body": "x"}
    """,
    "cloud-functions/ok.py": """
        def handler(event, context):
            return {"statusCode": 200, "body": "ok"}
    """,
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    with serving(write_files(tmp_path_factory.mktemp("bad"), FILES)) as rt:
        yield rt


@pytest.mark.parametrize("path, words", [("/badhdr", "X-Bad"), ("/badstatus", "status 1234")])
def test_unsendable_response_is_502_and_recorded(runtime, path, words):
    reply = request(runtime.port, "GET", path)
    assert reply.status == 502
    assert reply.json()["error"] == "bad-response"
    assert words in reply.json()["message"]
    record = wait_until(lambda: runtime.events.finished(reply.headers["x-funcstudio-request-id"]), 10)
    assert record.status == 502
    assert record.error is not None and words in record.error.message
    assert record.return_value  # what the function returned is kept
    assert request(runtime.port, "GET", "/ok").body == b"ok"


def test_header_checks_follow_rfc_9110_on_every_character():
    """A name may hold only RFC 9110 token characters; a value anything but a control character
    (tab excepted). Every character of the Basic Multilingual Plane, and the edges beyond it."""
    from studio.runtime.gateway import response_problem

    token = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")
    control = {chr(c) for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F)}
    for code in (*range(0x10000), 0x10000, 0x10FFFF):
        char = chr(code)
        assert (response_problem(200, [(f"X{char}", "v")]) is None) == (char in token), hex(code)
        assert (response_problem(200, [("X", f"v{char}v")]) is None) == (char not in control), hex(code)
    assert response_problem(200, [("", "v")]) is not None

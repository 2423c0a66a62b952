"""Binary bodies and repeated headers through the gateway, with the platform's quirks and without."""

from __future__ import annotations

import pytest
from gw_helpers import request as http
from gw_helpers import serving, wait_until, write_files

pytestmark = pytest.mark.slow

FILES = {
    "cloud-functions/bytes.py": """
        def handler(request):
            return bytes(range(256))
    """,
    "cloud-functions/echo.py": """
        from http.server import BaseHTTPRequestHandler

        class handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Set-Cookie", "a=1")
                self.send_header("Set-Cookie", "b=2")
                self.end_headers()
                self.wfile.write(body)
    """,
}
PAYLOAD = b"ok\xff\xfe\x00end"


@pytest.fixture(scope="module", params=["platform", "fixed"])
def runtime(request, tmp_path_factory):
    quirks = request.param
    root = write_files(tmp_path_factory.mktemp(quirks), {**FILES, "funcstudio.toml": f'quirks = "{quirks}"\n'})
    with serving(root) as rt:
        rt.quirks = quirks
        yield rt


def test_bytes_return_is_octet_stream_byte_exact(runtime):
    reply = http(runtime.port, "GET", "/bytes")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.body == bytes(range(256))


def test_handler_class_binary_body_and_repeated_headers(runtime):
    reply = http(runtime.port, "POST", "/echo", body=PAYLOAD)
    record = wait_until(lambda: runtime.events.finished(reply.headers["x-funcstudio-request-id"]), 10)
    assert record.request_body == PAYLOAD
    cookies = [v for k, v in reply.header_list if k.lower() == "set-cookie"]
    ids = {w.id for w in record.warnings}
    if runtime.quirks == "platform":
        assert reply.body == b"ok\x00end"  # UTF-8 decoded with errors ignored, as production does
        assert cookies == ["b=2"]
        assert {"EO-BINARY-BODY", "EO-HEADERS-COLLAPSED"} <= ids
    else:
        assert reply.body == PAYLOAD
        assert cookies == ["a=1", "b=2"]

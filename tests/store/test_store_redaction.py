"""One redaction pass over the whole record: headers, cookies, query, the return value, frame
locals, and only the named body fields; no secret reaches a byte of `.funcstudio/`."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import write_files

from studio.project.settings import Settings, StoreSettings
from studio.runtime.server import Runtime
from studio.store.db import db_path
from studio.store.queries import Reader
from studio.store.redact import REDACTED, Redactor
from studio.store.wiring import record_runtime

REPO = Path(__file__).resolve().parents[2]
FUNCTION = """
    import json

    def handler(event, context):
        if "boom" in event["path"]:
            token = "s3cr3t-local"
            raise RuntimeError("no")
        return {
            "statusCode": 200,
            "headers": {"Set-Cookie": "sid=s3cr3t-cookie; HttpOnly", "X-Auth-Token": "s3cr3t-auth-token",
                        "Content-Type": "application/json"},
            "body": json.dumps({"ok": True}),
        }
"""
SECRETS = [b"s3cr3t-cookie", b"s3cr3t-auth-token", b"s3cr3t-session", b"s3cr3t-query", b"s3cr3t-tenant",
           b"s3cr3t-password", b"s3cr3t-local", b"s3cr3t-cookie-in"]


def send(port: int, method: str, target: str, headers: dict, body: bytes | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Funcstudio-Request-Id")
    finally:
        conn.close()


def test_no_secret_reaches_the_store_file(tmp_path):
    import textwrap

    project = write_files(tmp_path / "proj", {"cloud-functions/login.py": textwrap.dedent(FUNCTION)})
    settings = Settings(store=StoreSettings(redact=("X-Tenant",), redact_body_fields=("password",)))
    runtime = Runtime(project, settings, host="127.0.0.1", port=0, reload=False)
    recording = record_runtime(runtime)
    runtime.start()
    try:
        ok = send(runtime.port, "POST", "/login?token=s3cr3t-query&page=2",
                  {"X-Session": "s3cr3t-session", "X-Tenant": "s3cr3t-tenant", "Cookie": "a=s3cr3t-cookie-in",
                   "Content-Type": "application/json", "Accept": "text/plain"},
                  json.dumps({"user": "ada", "password": "s3cr3t-password"}).encode())
        failed = send(runtime.port, "GET", "/login/boom", {})
    finally:
        runtime.stop()
        recording.close()
    raw = b"".join(path.read_bytes() for path in (project / ".funcstudio").iterdir() if path.is_file())
    assert [secret for secret in SECRETS if secret in raw] == []
    with Reader(db_path(project)) as reader:
        stored = reader.invocation_record(ok)
        boom = reader.invocation_record(failed)
    headers = dict(stored.request_headers)
    assert headers["X-Session"] == headers["X-Tenant"] == headers["Cookie"] == REDACTED
    assert headers["Accept"] == "text/plain"
    assert stored.query_string == "token=%5Bredacted%5D&page=2"
    assert json.loads(stored.request_body) == {"user": "ada", "password": REDACTED}  # the rest as sent
    returned = json.loads(stored.return_value)["headers"]
    assert returned["Set-Cookie"] == returned["X-Auth-Token"] == REDACTED
    assert returned["Content-Type"] == "application/json"
    assert dict(stored.response_headers)["Set-Cookie"] == REDACTED
    user_frame = next(frame for frame in boom.error.frames if frame.function == "handler")
    assert user_frame.locals["token"] == REDACTED


def test_the_pass_covers_scf_envelopes_reprs_and_forms_and_keeps_data():
    redactor = Redactor.from_settings(body_fields=("pin",))
    envelope = {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Trace": ["t"]},
                "cookies": ["c=3"], "keys": [1, 2], "body": "{}"}
    cleaned = json.loads(redactor.text(json.dumps(envelope)))
    assert cleaned["multiValueHeaders"] == {"Set-Cookie": [REDACTED, REDACTED], "X-Trace": ["t"]}
    assert cleaned["cookies"] == [REDACTED] and cleaned["keys"] == [1, 2]  # data is not a secret
    text = "{'headers': {'authorization': 'Bearer xyz', 'accept': '*/*'}, 'path': '/'}"
    assert redactor.text(text) == "{'headers': {'authorization': '[redacted]', 'accept': '*/*'}, 'path': '/'}"
    form = redactor.body(b"user=ada&pin=1234", [("Content-Type", "application/x-www-form-urlencoded")])
    assert form == b"user=ada&pin=%5Bredacted%5D"
    assert redactor.body(b'{"user": "ada"}', []) == b'{"user": "ada"}'
    assert Redactor().body(b'{"pin": 1}', []) == b'{"pin": 1}'  # nothing named: stored as sent


def test_export_says_which_redacted_header_it_cannot_replay(tmp_path):
    import textwrap

    project = write_files(tmp_path / "proj", {"cloud-functions/login.py": textwrap.dedent(FUNCTION)})
    runtime = Runtime(project, host="127.0.0.1", port=0, reload=False)
    recording = record_runtime(runtime)
    runtime.start()
    try:
        request_id = send(runtime.port, "GET", "/login", {"Authorization": "Bearer s3cr3t", "Accept": "*/*"})
    finally:
        runtime.stop()
        recording.close()
    result = subprocess.run([sys.executable, "-m", "studio", "export", str(project), request_id, "--pytest"],
                            capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert f"note: {request_id}: Authorization was redacted when recorded and is not replayed" in result.stderr
    assert "Not replayed: the Authorization header" in result.stdout

"""A real SCF project for the runtime tests, and a tiny HTTP client (imported by tests/scf)."""

from __future__ import annotations

import http.client
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

FN = """
import decimal, json, os, sys, time

print("cold start of fn")


def main_handler(event, context):
    if "httpMethod" in event:
        return http(event, context)
    mode = event.get("mode", "ok")
    print("mode", mode)
    if mode == "ok":
        return {"event": event, "context": context,
                "env": {k: os.environ.get(k) for k in ("SCF_FUNCTIONNAME", "SCF_RUNTIME", "TENCENTCLOUD_REGION",
                        "TENCENTCLOUD_APPID", "USER_CODE_ROOT", "GREETING", "TRIGGER_SRC", "SCF_NAMESPACE")},
                "cwd_is_root": os.getcwd() == os.path.dirname(os.path.abspath(__file__))}
    if mode == "raise":
        raise ValueError("err msg")
    if mode == "exit":
        sys.exit(3)
    if mode == "sleep":
        time.sleep(30)
    if mode == "big":
        return "x" * (6 * 1024 * 1024 + 10)
    if mode == "notjson":
        return {"when": {1, 2}}
    if mode == "write":
        import tempfile
        with open(os.path.join(tempfile.gettempdir(), "scf-ok.txt"), "w") as f:
            f.write("fine")
        with open("out.txt", "w") as f:
            f.write("fails")
    if mode == "stdlib":
        return json.loads("{nope")
    if mode == "decimal":
        return decimal.Decimal("1.50")
    if mode == "memory":
        blob = bytearray(400 * 1024 * 1024)
        for i in range(0, len(blob), 4096):
            blob[i] = 1
        time.sleep(5)
        return len(blob)
    return mode


def http(event, context):
    mode = event["queryString"].get("mode", "ok")
    if mode == "ok":
        return {"isBase64Encoded": False, "statusCode": 201,
                "headers": {"Content-Type": "application/json", "X-Multi": ["a", "b"], "Location": "/elsewhere"},
                "body": json.dumps({"event": event})}
    if mode == "sleep":
        time.sleep(30)
    if mode == "b64":
        return {"isBase64Encoded": True, "statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": "iVBORw0KGgo="}
    if mode == "bad":
        return {"statusCode": "200", "headers": {}, "body": "x"}
    if mode == "plain":
        return "just a string"
    if mode == "header":
        return {"statusCode": 200, "headers": {}, "body": str(event["headers"].get("User-Agent"))}
    raise RuntimeError("http boom")
"""

PASS = """
def main_handler(event, context):
    return {"id": event["pathParameters"]["id"], "stage": event["requestContext"]["stage"],
            "template": event["requestContext"]["path"], "body": event["body"],
            "b64": event["isBase64Encoded"], "query": event["queryString"]}
"""

TOML = """
[functions."fn"]
platform = "scf"
src = "fn"
timeout_s = 2
memory_mb = 128
env = { GREETING = "hi" }
triggers = [ { type = "apigw", path = "/fn", method = "ANY" },
             { type = "timer", name = "every2s", cron = "*/2 * * * * * *", message = "tick" } ]

[functions."pass"]
platform = "scf"
src = "pass"
triggers = [ { type = "apigw", path = "/items/{id}", method = "ANY", integrated_response = false, stage = "test" } ]

[functions."missing"]
platform = "scf"
src = "missing"
handler = "index.nothere"
"""


def write_project(root: Path) -> Path:
    files = {
        "funcstudio.toml": TOML,
        "fn/index.py": FN,
        "pass/index.py": PASS,
        "missing/index.py": "def main_handler(event, context):\n    return 1\n",
        "importerr/index.py": "raise RuntimeError('boom at import')\n\ndef main_handler(event, context):\n    return 1\n",
        "broken/index.py": "def main_handler(event, context):\n    return (\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()

"""EdgeOne Makers handlers (issue: fidelity item 7 of "Found"): `self.context.agent.store` and
`self.context.env` work locally, on SQLite, with a parity warning saying what production has."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_funcstudio, write_file

MAKERS_HANDLER = '''\
import json
from http.server import BaseHTTPRequestHandler


class handler(BaseHTTPRequestHandler):
    def _send(self, payload):
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        store = self.context.agent.store
        store.append_message(body["conversation_id"], "user", body["text"], user_id="u1")
        self._send({"ok": True})

    def do_GET(self):
        store = self.context.agent.store
        messages = store.get_messages(conversation_id="c1", limit=10, order="asc")
        listed = store.list_conversations(user_id="u1", limit=5)
        self._send({"texts": [m["content"] for m in messages], "roles": [m["role"] for m in messages],
                    "conversations": [c["id"] for c in listed["conversations"]],
                    "greeting": self.context.env.get("GREETING")})
'''


def test_makers_handler_stores_and_reads_history_with_a_parity_warning(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/history/index.py", MAKERS_HANDLER)
    write_file(tmp_path, "funcstudio.toml", '[env]\nGREETING = "hi"\n')
    for text in ("first", "second"):
        sent = run_funcstudio("invoke", str(tmp_path), "/history", "-X", "POST",
                              "-d", json.dumps({"conversation_id": "c1", "text": text}), "--json")
        assert sent.returncode == 0, sent.stdout + sent.stderr
    read = run_funcstudio("invoke", str(tmp_path), "/history", "--json")
    record = json.loads(read.stdout)
    assert record["status"] == 200, record["body"]
    assert json.loads(record["body"]) == {"texts": ["first", "second"], "roles": ["user", "user"],
                                          "conversations": ["c1"], "greeting": "hi"}
    [warning] = [w for w in record["warnings"] if w["id"] == "EO-MAKERS-CONTEXT"]
    assert "Blob" in warning["message"] and "makers-store.db" in warning["message"]
    assert (tmp_path / ".funcstudio" / "makers-store.db").is_file()

# Handler-class mode: `class handler(BaseHTTPRequestHandler)` with do_GET and do_POST.
# Only the methods defined here are routed (GET, POST); PUT /api/hello answers 405.
#
#   curl 'http://127.0.0.1:8088/api/hello?name=Ada'
#   curl -X POST http://127.0.0.1:8088/api/hello -d '{"name": "Ada"}'
#
# Note: self.path is the FULL original path with the query, e.g. "/api/hello?name=Ada".
# This is a static route and static routes match by prefix: /api/hello/x/y reaches this class too.
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse


class handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        name = query.get("name", ["world"])[0]
        self._send_json(200, {"message": f"Hello, {name}!", "path": self.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": "body must be JSON"})
            return
        self._send_json(201, {"message": f"Hello, {data.get('name', 'world')}!", "received": data})

    def _send_json(self, status, payload):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

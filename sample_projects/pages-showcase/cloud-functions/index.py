# The root route "/" as a handler class: a tiny index of what this showcase contains.
# Kind: handler-class (no do_POST, so only GET is routed; POST / answers 405).
#   curl http://127.0.0.1:8088/
from http.server import BaseHTTPRequestHandler

ENDPOINTS = """funcstudio pages-showcase: one EdgeOne Pages project with every kind of Python cloud function.

  GET  /api/hello?name=Ada            handler class (do_GET / do_POST)
  GET  /api/event?tag=a&tag=b         handler(event, context)
  GET  /api/users/42                  handler(request), dynamic [id].py
  GET  /api/users/list                static route, tried before /api/users/:id
  GET  /api/shop/books/dune           nested dynamic [category]/[item].py
  GET  /api/logs                      print + logging, captured per invocation
  GET  /api/boom                      raises: 500 with a trace
  GET  /api/plain-dict                a platform quirk: a plain dict gives an empty body
  GET  /flask-api/items/7             Flask under [[default]].py (WSGI)
  GET  /fastapi-api/items/7           FastAPI under [[default]].py (ASGI)
  GET  /django-site/hello/            Django (WSGI): 500 next to ASGI entries, as in production
  GET  /pot/hello/Ada                 Cocopot 0.2 (WSGI)
  GET  /sanic-app/health              Sanic (ASGI)
"""


class handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ENDPOINTS.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

# A Cocopot 0.2 app (WSGI, detected through its `wsgi_app`) on the static route /pot.
#
#   curl http://127.0.0.1:8088/pot/hello/Ada
#   curl http://127.0.0.1:8088/pot/health
#
# Cocopot 0.2 does not import on Python 3.10+ as released; funcstudio loads it through a
# compatibility shim (parity warning CP-SHIM), and production needs the same shim vendored.
# It is listed in requirements.txt because the platform does not detect it. Cocopot 0.2 views
# must return a string or a Response (use jsonify): a tuple or dict return is a 500 (CP-TUPLE-RETURN).
from cocopot import Cocopot, jsonify

app = Cocopot()


@app.route("/health")
def health():
    return jsonify(status="ok", framework="cocopot")


@app.route("/hello/<name>")
def hello(name):
    return "Hello, %s, from Cocopot!" % name

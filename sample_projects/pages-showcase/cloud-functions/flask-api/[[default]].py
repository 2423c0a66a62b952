# A Flask app (WSGI) under a catch-all file: every /flask-api/... request reaches this app, with
# the prefix /flask-api stripped, so the app declares /health and /items/<id> (not /flask-api/...).
#
#   curl http://127.0.0.1:8088/flask-api/health
#   curl http://127.0.0.1:8088/flask-api/items/7
#   curl -X POST http://127.0.0.1:8088/flask-api/items -H 'Content-Type: application/json' -d '{"name": "lamp"}'
#
# Mode: WSGI (`app = Flask(...)`); request.script_root is "/flask-api" inside the app.
from flask import Flask, jsonify, request

app = Flask(__name__)

ITEMS = {1: {"id": 1, "name": "kettle"}, 7: {"id": 7, "name": "teapot"}}


@app.get("/health")
def health():
    return jsonify(status="ok", framework="flask", script_root=request.script_root)


@app.get("/items/<int:item_id>")
def get_item(item_id):
    item = ITEMS.get(item_id)
    if item is None:
        return jsonify(error=f"no item {item_id}"), 404
    return jsonify(item)


@app.post("/items")
def create_item():
    data = request.get_json(silent=True) or {}
    item = {"id": max(ITEMS) + 1, "name": data.get("name", "unnamed")}
    ITEMS[item["id"]] = item  # per instance: a new instance starts from the two items above
    return jsonify(item), 201

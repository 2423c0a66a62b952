# A helper module: no entry flag (no `handler`, `app`, ...), so it gets no route of its own.
#
# Only `cloud-functions/` is on sys.path in production, so other files import it as
# `from api import util`. A sibling import (`import util` inside api/) fails with
# ModuleNotFoundError on the platform, and funcstudio reproduces that.
import json
import os

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


def json_response(payload, status=200, headers=None):
    """The envelope a handler(event, context) or handler(request) function returns."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        "body": json.dumps(payload, ensure_ascii=False),
    }


def load_catalog():
    # .json files are deployed with the function; .csv or .html files next to it would not be.
    with open(os.path.join(DATA_DIR, "catalog.json"), encoding="utf-8") as fh:
        return json.load(fh)


def parse_quantity(raw):
    # Called by api/boom.py with a bad value so the trace has more than one user frame.
    return int(raw)

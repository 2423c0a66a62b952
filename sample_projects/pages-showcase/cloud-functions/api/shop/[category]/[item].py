# Nested dynamic route from a dynamic folder and a dynamic file: `/api/shop/:category/:item`.
#
#   curl http://127.0.0.1:8088/api/shop/books/dune
#
# Event style: both parameters arrive in event["pathParameters"]. The catalogue is read from
# api/data/catalog.json through a helper module.
from api import util


def handler(event, context):
    params = event["pathParameters"]
    item = util.load_catalog().get(params["category"], {}).get(params["item"])
    if item is None:
        return util.json_response({"error": "not found", **params}, status=404)
    return util.json_response({"category": params["category"], "item": item})

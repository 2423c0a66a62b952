# A function that raises, to show a trace. The platform answers 500 text/plain with
# "Handler error: <message>" and the traceback; funcstudio records the frames with their locals.
#
#   curl http://127.0.0.1:8088/api/boom
#   curl 'http://127.0.0.1:8088/api/boom?qty=3'     (works)
from api import util


def handler(event, context):
    query = event["queryStringParameters"] or {}
    quantity = util.parse_quantity(query.get("qty", "three"))  # ValueError without ?qty=<int>
    return util.json_response({"quantity": quantity})

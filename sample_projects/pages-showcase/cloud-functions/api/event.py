# Function handler, event style: `handler(event, context)`. All methods are routed.
#
#   curl 'http://127.0.0.1:8088/api/event?tag=a&tag=b&page=2'
#
# The event is {"httpMethod", "path", "queryStringParameters", "headers", "body",
# "isBase64Encoded", "pathParameters"}. Repeated query keys become lists, and the parameter maps
# are None (not {}) when empty. `context` is an empty dict on EdgeOne.
from api import util


def handler(event, context):
    query = event["queryStringParameters"] or {}  # None when the URL has no query
    return util.json_response(
        {
            "method": event["httpMethod"],
            "path": event["path"],
            "query": query,
            "body_length": len(event["body"]),
        }
    )

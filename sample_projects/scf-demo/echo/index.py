# A convention-only SCF function: not declared in serverless.yml. A folder whose index.py defines
# main_handler(event, context) is a function named after the folder, with an API Gateway route
# /echo (any method, integration response, 3 s, 128 MB).
#
#   curl -X POST 'http://127.0.0.1:8088/echo?x=1' -d '{"hello": "scf"}'
#   funcstudio invoke sample_projects/scf-demo echo --event direct
#
# Raise from here (e.g. POST a body that is not JSON) to see SCF's 430 error envelope.
import json


def main_handler(event, context):
    if "httpMethod" not in event:  # invoked directly with any JSON event
        return {"echo": event}
    body = json.loads(event["body"]) if event.get("body") else None  # non-JSON body -> 430
    return {
        "isBase64Encoded": False,
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"method": event["httpMethod"], "query": event.get("queryString"), "json": body}),
    }

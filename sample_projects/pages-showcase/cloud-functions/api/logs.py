# A function that logs: print() goes to stdout, logging to stderr; funcstudio captures both,
# line by line with time and level, and keeps them with the invocation (`funcstudio logs`).
#
#   curl http://127.0.0.1:8088/api/logs
import logging
import sys

log = logging.getLogger("showcase.logs")
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

print("module loaded: this line appears once per instance (cold start)")


def handler(event, context):
    print("handling", event["httpMethod"], event["path"])
    log.info("query parameters: %s", event["queryStringParameters"])
    log.warning("this is a warning")
    print("this goes to stderr", file=sys.stderr)
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "logged 4 lines"}

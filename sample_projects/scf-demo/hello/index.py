# SCF event function behind API Gateway (integration response on), declared in ../serverless.yml.
#
#   curl 'http://127.0.0.1:8088/hello?name=Ada'
#   funcstudio invoke sample_projects/scf-demo hello --event apigw --set queryString.name=Ada
#
# Through the URL the gateway applies the integration response (status, headers, body); invoked by
# id you get main_handler's return value itself.
#
# `event` is the API Gateway event (requestContext, headers, queryString, body, ...) and `context`
# a plain dict (request_id, function_name, time_limit_in_ms, ...). Header names arrive in lower case.
import json
import os

print("cold start: module loaded once per instance")


def main_handler(event, context):
    name = (event.get("queryString") or {}).get("name", "world")
    print(f"request {context['request_id']} for {name}")
    greeting = os.environ.get("GREETING", "Hello")
    return {
        "isBase64Encoded": False,
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": f"{greeting}, {name}!", "function": context["function_name"]}),
    }

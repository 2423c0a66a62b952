# Function handler, web style: `handler(request)`, on a dynamic route `/api/users/:id`.
#
#   curl http://127.0.0.1:8088/api/users/42
#
# request.params holds the route parameters. Under the Flask dispatcher `request` is Flask's
# request; under the ASGI dispatcher (this project has FastAPI and Sanic entries, so that one is
# used) it is a small SimpleRequest with lower-case header names: read headers in lower case.
from api import util

USERS = {"42": {"id": "42", "name": "Ada Lovelace"}, "7": {"id": "7", "name": "Alan Turing"}}


def handler(request):
    user_id = request.params["id"]
    user = USERS.get(user_id)
    if user is None:
        return util.json_response({"error": f"no user {user_id}"}, status=404)
    return util.json_response({"user": user, "agent": request.headers.get("user-agent")})

# A static route, `/api/users/list`. Static routes are tried before dynamic ones, so this file
# answers /api/users/list even though /api/users/:id would match it too.
#
#   curl http://127.0.0.1:8088/api/users/list
#
# Do not add an api/users/index.py: as a static prefix route it would swallow /api/users/42.
from api import util


def handler(request):
    return util.json_response({"users": ["42", "7"]})

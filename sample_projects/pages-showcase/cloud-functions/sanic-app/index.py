# A Sanic app (ASGI) on the static route /sanic-app (prefix stripped into root_path).
#
#   curl http://127.0.0.1:8088/sanic-app/health
#   curl 'http://127.0.0.1:8088/sanic-app/echo?q=hi'
#
# Mode: ASGI (`app = Sanic(...)`). Sanic app names must be unique in a process; funcstudio runs
# every entry file in its own worker process, as the platform does per function.
from sanic import Sanic
from sanic.response import json

app = Sanic("showcase_sanic")


@app.get("/health")
async def health(request):
    return json({"status": "ok", "framework": "sanic"})


@app.get("/echo")
async def echo(request):
    return json({"args": {key: request.args.getlist(key) for key in request.args}})

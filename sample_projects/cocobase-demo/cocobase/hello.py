# The smallest CocoBase function: `main()` takes no arguments; `request`, `env` and `datetime`
# (the datetime CLASS, so datetime.now(), not datetime.datetime.now()) are injected, no imports.
#
#   curl 'http://127.0.0.1:8088/functions/hello/execute?name=Ada'
#   curl -X POST http://127.0.0.1:8088/functions/hello/execute -H 'Content-Type: application/json' -d '{"name": "Ada"}'
#
# The response is the platform's envelope: {"success", "result", "output", "error", "execution_time"},
# where "output" holds what the function printed.


def main():
    name = request.get("name", "world")  # POST payload or GET query parameter
    print(f"greeting {name} via {request.method}")
    return {
        "message": f"Hello, {name}!",
        "project": env.project_id,
        "runtime": env.runtime,
        "at": datetime.now().isoformat(timespec="seconds"),
    }

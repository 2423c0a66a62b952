"""Every kind of function debugged end to end in a real instance (handler class, function, Flask,
Django, FastAPI, Sanic, SCF, CocoBase): a breakpoint stops it with its
locals, `next` steps, `continue` finishes it; ASGI apps step on their event loop and a FastAPI `def`
endpoint stops on anyio's worker thread; a reload while paused finishes on the old code."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from debug_helpers import DebuggedCall, fresh_hub, local
from gw_helpers import request, serving, write_files

from studio.runtime.debug import DEBUG_HEADER

pytestmark = pytest.mark.slow

EDGEONE = {
    "cloud-functions/api/hello.py": """
        from http.server import BaseHTTPRequestHandler


        class handler(BaseHTTPRequestHandler):
            def do_GET(self):
                greeting = "hello from a class"
                body = greeting.encode()  # stop: class
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)
    """,
    "cloud-functions/flask/[[default]].py": """
        from flask import Flask

        app = Flask(__name__)


        @app.get("/items/<int:item_id>")
        def item(item_id):
            doubled = item_id * 2
            answer = {"id": item_id, "doubled": doubled}  # stop: flask
            return answer
    """,
    "cloud-functions/fast/[[default]].py": """
        import asyncio

        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/async/{n}")
        async def by_loop(n: int):
            squared = n * n  # stop: async
            await asyncio.sleep(0)
            after = squared + 1  # after await
            return {"squared": squared, "after": after}


        @app.get("/sync/{n}")
        def by_thread(n: int):
            tripled = n * 3  # stop: sync
            return {"tripled": tripled}
    """,
}

SCF = {
    "hello/index.py": """
        def main_handler(event, context):
            name = event.get("name", "world")
            text = "Hello, " + name  # stop: scf
            return {"message": text}
    """,
}

COCOBASE = {
    "funcstudio.toml": """
        [cocobase]
        project_id = "debug-demo"
    """,
    "cocobase/greet.py": """
        def main():
            who = request.get("who", "nobody")
            reply = {"greeting": "hi " + who}  # stop: cocobase
            return reply
    """,
}


def line_of(path, marker: str) -> int:
    for number, text in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        if marker in text:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def http_session(runtime, path: str) -> DebuggedCall:
    """A debug-marked GET of `path` sent from a thread while the test drives the debugger."""
    return DebuggedCall(runtime, lambda: request(runtime.port, "GET", path, headers={DEBUG_HEADER: "1"}, timeout=120))


@pytest.fixture(scope="module")
def edgeone(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("kinds") / "eo", EDGEONE)
    with serving(root) as runtime:
        yield runtime


@pytest.fixture()
def breakpoint_at():
    """breakpoint_at(runtime, file, marker): a single session breakpoint at the marked line, on a hub
    reset before and after the test."""
    with ExitStack() as resets:

        def set_one(runtime, relative: str, marker: str) -> int:
            hub = resets.enter_context(fresh_hub(runtime.debug))
            line = line_of(runtime.root / relative, marker)
            hub.toggle(str(runtime.root / relative), line)
            return line

        yield set_one


@pytest.fixture()
def served_at(tmp_path, breakpoint_at):
    """served_at(project, file, marker, **serving options): `project` (a {path: text} written into
    tmp_path, or a folder) served for this test, with one breakpoint at the marked line; (runtime, line)."""
    with ExitStack() as running:

        def serve(project, relative: str, marker: str, **options):
            root = write_files(tmp_path / "proj", project) if isinstance(project, dict) else project
            runtime = running.enter_context(serving(root, **options))
            return runtime, breakpoint_at(runtime, relative, marker)

        yield serve


def test_handler_class(edgeone, breakpoint_at):
    line = breakpoint_at(edgeone, "cloud-functions/api/hello.py", "# stop: class")
    call = http_session(edgeone, "/api/hello")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line) == ("do_GET", line)
    assert local(pause, "greeting") == "'hello from a class'"
    call.command(pause, "next")
    stepped = call.pause()
    assert stepped.frame.line == line + 1 and local(stepped, "body") == "b'hello from a class'"
    call.command(stepped, "continue")
    assert call.record().status == 200 and call.reply.body == b"hello from a class"


def test_wsgi_flask(edgeone, breakpoint_at):
    line = breakpoint_at(edgeone, "cloud-functions/flask/[[default]].py", "# stop: flask")
    call = http_session(edgeone, "/flask/items/7")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line) == ("item", line)
    assert local(pause, "doubled") == "14"
    assert any(not f.is_user and "flask" in f.file for f in pause.stack)  # the framework's frames are there
    call.command(pause, "next")
    assert call.pause().frame.line == line + 1
    edgeone.debug.command(pause.request_id, "continue")
    assert call.record().status == 200 and call.reply.json() == {"id": 7, "doubled": 14}


def test_asgi_async_endpoint_steps_over_an_await_on_the_event_loop(edgeone, breakpoint_at):
    line = breakpoint_at(edgeone, "cloud-functions/fast/[[default]].py", "# stop: async")
    call = http_session(edgeone, "/fast/async/5")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line, local(pause, "n")) == ("by_loop", line, "5")
    call.command(pause, "next")
    awaiting = call.pause()
    assert awaiting.frame.line == line + 1
    call.command(awaiting, "next")  # over the await: the loop runs other tasks, we land on the next line
    after = call.pause()
    assert (after.frame.function, after.frame.line) == ("by_loop", line + 2)
    assert local(after, "squared") == "25"
    call.command(after, "continue")
    assert call.record().status == 200 and call.reply.json() == {"squared": 25, "after": 26}


def test_asgi_sync_endpoint_stops_on_the_framework_thread(edgeone, breakpoint_at):
    assert request(edgeone.port, "GET", "/fast/sync/1").status == 200  # the thread pool exists before
    line = breakpoint_at(edgeone, "cloud-functions/fast/[[default]].py", "# stop: sync")
    call = http_session(edgeone, "/fast/sync/4")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line, local(pause, "n")) == ("by_thread", line, "4")
    assert pause.thread != "MainThread"
    assert edgeone.debug.evaluate(pause.request_id, "n * 10").value == "40"
    call.command(pause, "step")  # the step stays on this thread, not in the event loop's
    stepped = call.pause()
    assert (stepped.frame.function, stepped.frame.line, stepped.thread) == ("by_thread", line + 1, pause.thread)
    call.command(stepped, "continue")
    assert call.record().status == 200 and call.reply.json() == {"tripled": 12}


def test_scf_event_function(served_at):
    runtime, line = served_at(SCF, "hello/index.py", "# stop: scf")
    function = runtime.project.functions[0]
    call = DebuggedCall(runtime, lambda: runtime.invoke_function(function.id, {"name": "Ada"}))
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line, local(pause, "name")) == ("main_handler", line, "'Ada'")
    call.command(pause, "continue")
    record = call.record()
    assert record.fault is None and record.return_value == '{"message": "Hello, Ada"}'


def test_cocobase_function(served_at):
    runtime, line = served_at(COCOBASE, "cocobase/greet.py", "# stop: cocobase")
    call = http_session(runtime, "/functions/greet/execute?who=Ada")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line, local(pause, "who")) == ("main", line, "'Ada'")
    call.command(pause, "continue")
    assert call.record().status == 200 and "hi Ada" in call.reply.text


def test_reload_while_paused_finishes_on_the_old_code_and_the_next_call_gets_the_new(served_at):
    runtime, _line = served_at({"cloud-functions/api/v.py": """
        def handler(event, context):
            version = "old"
            return {"statusCode": 200, "body": version}  # stop: reload
    """}, "cloud-functions/api/v.py", "# stop: reload", reload=False)
    call = http_session(runtime, "/api/v")
    pause = call.pause()
    path = runtime.root / "cloud-functions/api/v.py"
    path.write_text(path.read_text().replace('"old"', '"new"').replace("  # stop: reload", ""))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    runtime.reload([str(path)])
    call.command(pause, "continue")
    old = call.record()
    assert call.reply.body == b"old" and old.status == 200
    runtime.debug.clear()
    fresh = request(runtime.port, "GET", "/api/v")
    assert fresh.body == b"new"


DJANGO = {
    "cloud-functions/dj/index.py": """
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application
        from django.http import JsonResponse
        from django.urls import path

        if not settings.configured:
            settings.configure(DEBUG=False, SECRET_KEY="test", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                               INSTALLED_APPS=[], MIDDLEWARE=[])


        def item(request, item_id):
            doubled = item_id * 2  # stop: django
            return JsonResponse({"id": item_id, "doubled": doubled})


        urlpatterns = [path("items/<int:item_id>/", item)]
        app = get_wsgi_application()
    """,
}


def test_wsgi_django(served_at):
    runtime, line = served_at(DJANGO, "cloud-functions/dj/index.py", "# stop: django")
    call = http_session(runtime, "/dj/items/7/")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line, local(pause, "item_id")) == ("item", line, "7")
    call.command(pause, "next")
    assert local(call.pause(), "doubled") == "14"
    runtime.debug.command(pause.request_id, "continue")
    assert call.record().status == 200 and call.reply.json() == {"id": 7, "doubled": 14}


def test_asgi_sanic_sample(sample_copy, served_at):
    runtime, line = served_at(sample_copy("pages-showcase"), "cloud-functions/sanic-app/index.py",
                              'return json({"status": "ok"')
    call = http_session(runtime, "/sanic-app/health")
    pause = call.pause()
    assert (pause.frame.function, pause.frame.line) == ("health", line)
    assert any(v.name == "request" for v in pause.locals)
    call.command(pause, "continue")
    assert call.record().status == 200 and call.reply.json()["framework"] == "sanic"

"""Invoke through the real gateway and worker processes: the typed pipeline, the response view,
traces into the editor, stale results, curl, saved requests, SCF events and CocoBase payloads.

The pages-showcase tests share one running studio (module-scoped, one event loop); each starts
from `fresh()`: an empty request, no modal, its own message list."""

from __future__ import annotations

import json
import shutil

import pytest
import pytest_asyncio
from studio_helpers import RUN, focus_tab, make_app, of, select_function, send_and_wait, started, wait_until
from textual.widgets import Input, TextArea

from studio.tui.curl import CurlRequest, parse_curl, to_curl
from studio.tui.messages import InvokeCompleted, InvokeRequested
from studio.tui.screens.modals import PromptScreen
from studio.tui.screens.requests import RequestsScreen
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.invoke_panel import InvokePanel
from studio.tui.widgets.response_view import ResponseView
from studio.tui.widgets.trace_view import TraceView

shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory, samples_dir):
    project = tmp_path_factory.mktemp("invoke") / "pages-showcase"
    shutil.copytree(samples_dir / "pages-showcase", project, ignore=shutil.ignore_patterns(".funcstudio"))
    app = make_app(project)
    messages: list = []
    async with app.run_test(message_hook=lambda m: messages.append(m), **RUN) as pilot:
        await started(pilot)
        yield pilot, messages, project


async def fresh(shared, function_id: str):
    """The shared studio on `function_id` with an empty GET request and a new message list."""
    pilot, messages, project = shared
    app = pilot.app
    while len(app.screen_stack) > 1:
        app.pop_screen()
    await select_function(pilot, function_id)
    app.query_one("#method").value = "GET"
    for area in ("#query", "#headers", "#body"):
        app.query_one(area, TextArea).load_text("")
    await pilot.pause()
    messages.clear()
    return pilot, app, messages, project


@shared_loop
async def test_invoke_with_query_and_read_the_response(shared):
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/hello")
    app.query_one("#query", TextArea).load_text("name=Ada")
    completed = await send_and_wait(pilot, messages)
    [requested] = of(messages, InvokeRequested)
    assert requested.method == "GET" and requested.path == "/api/hello?name=Ada"
    assert completed.request_id == requested.request_id
    assert completed.status == 200
    assert json.loads(completed.body)["message"] == "Hello, Ada!"
    view = app.query_one(ResponseView)
    status_line = view.query_one("#status-line")
    assert status_line.has_class("status-2xx")
    assert str(status_line.render()).startswith("200 OK")
    assert '"message": "Hello, Ada!"' in view.query_one("#response-body", TextArea).text
    assert view.search("ada") == 2  # the message and the echoed path
    assert view.query_one("#response-body", TextArea).selected_text.lower() == "ada"
    await pilot.press("alt+w")  # save the body, bytes untouched
    assert app.last_saved_response.suffix == ".json"
    assert app.last_saved_response.read_bytes() == completed.body


@shared_loop
async def test_invalid_json_body_is_not_sent(shared):
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/hello")
    app.query_one("#method").value = "POST"
    app.query_one("#body", TextArea).load_text('{"name": "Ada",}')
    await pilot.press("ctrl+j")
    await pilot.pause()
    assert not of(messages, InvokeRequested)
    assert "invalid JSON at line 1" in str(app.query_one("#invoke-error").render())
    app.query_one("#body", TextArea).load_text('{"name": "Ada"}')
    completed = await send_and_wait(pilot, messages)
    assert completed.status == 201

    # a platform quirk shows as a parity warning in its own tab
    await select_function(pilot, "cloud-functions/api/plain-dict")
    app.query_one("#method").value = "GET"
    app.query_one("#body", TextArea).load_text("")
    await send_and_wait(pilot, messages)
    view = app.query_one(ResponseView)
    assert [w["id"] for w in view.response.warnings] == ["EO-DICT-ENVELOPE"]
    assert "EO-DICT-ENVELOPE" in view.query_one("#response-warnings", TextArea).text
    assert "parity warning" in str(view.query_one("#status-line").render())


async def test_stale_results_are_dropped(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        app.pending_request_id = "req-2"
        app.post_message(InvokeCompleted("req-1", 200, [], b"old", 1.0))
        await pilot.pause()
        assert app.query_one(ResponseView).response is None
        assert app.pending_request_id == "req-2"
        app.post_message(InvokeCompleted("req-2", 200, [], b"new", 1.0))
        await pilot.pause()
        assert app.query_one(ResponseView).response.body == b"new"
        assert app.pending_request_id is None


@shared_loop
async def test_trace_frame_opens_in_the_editor(shared):
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/boom")
    completed = await send_and_wait(pilot, messages)
    assert completed.status == 500
    trace = app.query_one(TraceView)
    assert trace.error and trace.error["type"] == "ValueError"
    files = [frame["file"] for _i, frame in trace.rows]
    assert files and all(frame.get("is_user", True) for _i, frame in trace.rows)
    assert files[-1].endswith("api/util.py")  # most recent call last, as Python prints it
    assert trace.query_one("#trace-frames").highlighted == len(files) - 1  # the raising frame is selected
    assert "most recent call last" in str(trace.query_one("#trace-title").render())
    locals_text = str(trace.query_one("#trace-detail").render())
    assert "raw" in locals_text and "three" in locals_text
    await focus_tab(pilot, "f10")  # focus the trace
    await pilot.press("enter")
    await pilot.pause()
    editor = app.query_one(CodeEditor)
    assert editor.file == "cloud-functions/api/util.py"
    line = trace.rows[-1][1]["line"]
    assert editor.text_area.cursor_location[0] == line - 1
    assert "int(raw)" in editor.text_area.document.get_line(line - 1)
    assert editor.text_area.selected_text == ""  # finding 5: the cursor, not a selection typing replaces

    # f5 restarts every instance: the next request starts fresh
    assert app.runtime.supervisor.instances()
    await pilot.press("f5")
    await wait_until(pilot, lambda: not app.runtime.supervisor.instances(), what="instances restarted")


@shared_loop
async def test_copy_and_import_curl(shared):
    pilot, app, _messages, project = await fresh(shared, "cloud-functions/api/hello")
    app.query_one("#method").value = "POST"
    app.query_one("#headers", TextArea).load_text("X-Trace: it's 1")
    app.query_one("#body", TextArea).load_text('{"name": "O\'Brien"}')
    app.action_copy_curl()
    command = (project / ".funcstudio" / "last-curl.sh").read_text().strip()
    parsed = parse_curl(command)
    assert parsed.method == "POST" and parsed.url == f"{app.url}/api/hello"
    assert ("X-Trace", "it's 1") in parsed.headers and parsed.body == '{"name": "O\'Brien"}'

    app.action_import_curl()
    await pilot.pause()
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = to_curl(CurlRequest(
        "PUT", "http://x/api/users/7?a=1", [("Accept", "application/json")], "hi"))
    await pilot.press("enter")
    await pilot.pause()
    spec, error = app.query_one(InvokePanel).build_spec()
    assert error is None
    assert (spec.method, spec.path, spec.query, spec.body) == ("PUT", "/api/users/7", [("a", "1")], "hi")
    assert ("Accept", "application/json") in spec.headers


@shared_loop
async def test_save_and_load_a_named_request(shared):
    pilot, app, _messages, project = await fresh(shared, "cloud-functions/api/hello")
    app.query_one("#query", TextArea).load_text("name=Saved")
    await pilot.press("alt+s")
    await pilot.pause()
    assert isinstance(app.screen, PromptScreen)
    await pilot.press(*"ada", "enter")
    saved = project / "http-requests" / "api-hello.http"
    await wait_until(pilot, lambda: saved.is_file(), what="saved")
    assert "GET /api/hello?name=Saved" in saved.read_text()
    app.query_one("#query", TextArea).load_text("")
    await pilot.press("alt+l")
    await wait_until(pilot, lambda: isinstance(app.screen, RequestsScreen), what="the saved list")
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.query_one("#query", TextArea).text == "name=Saved", what="loaded")


async def test_scf_event_from_template(scf_demo):
    app = make_app(scf_demo)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        tick = next(fn for fn in app.project.functions if fn.name == "tick")
        await select_function(pilot, tick.id)
        panel = app.query_one(InvokePanel)
        assert panel.mode == "scf"
        await pilot.pause()
        # tick has a timer trigger, so its event starts from the timer template
        assert panel.query_one("#scf-template").value == "timer"
        event = json.loads(panel.query_one("#body", TextArea).text)
        assert event["Type"] == "Timer"
        panel.query_one("#scf-template").value = "cos"
        await pilot.pause()
        assert "Records" in json.loads(panel.query_one("#body", TextArea).text)
        panel.query_one("#scf-template").value = "timer"
        await pilot.pause()
        completed = await send_and_wait(pilot, messages)
        [requested] = of(messages, InvokeRequested)
        assert requested.function_id == tick.id
        # a timer is async (InvocationType=Event): 202 now, and the result shows when it arrives
        # (issue 12 finding 6: it said "(no return value)" until reopened from History)
        assert completed.accepted and completed.status == 202 and completed.record is None
        view = app.query_one(ResponseView)
        await wait_until(pilot, lambda: view.response is not None
                         and view.response.request_id == completed.gateway_request_id, what="the async result")
        assert view.response.function_id == tick.id and view.response.status == 200
        assert json.loads(view.response.return_value)["checked"] is True
        assert '"checked": true' in app.query_one("#response-return", TextArea).text


async def test_cocobase_payload_and_user(coco_demo):
    app = make_app(coco_demo)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        fn = next(f for f in app.project.functions if f.id.endswith("create-order"))
        await select_function(pilot, fn.id)
        panel = app.query_one(InvokePanel)
        assert panel.mode == "cocobase"
        panel.query_one("#body", TextArea).load_text('{"sku": "BK-001", "quantity": 2}')
        completed = await send_and_wait(pilot, messages)
        assert completed.status == 401  # anonymous
        panel.query_one("#user-token", Input).value = "demo-token-ada"
        completed = await send_and_wait(pilot, messages)
        assert completed.status == 201  # the function returns (order, 201)
        assert json.loads(completed.body)["success"] is True

        # mail lands in the outbox, shown in its tab
        receipt = next(f for f in app.project.functions if f.id.endswith("send-receipt"))
        await select_function(pilot, receipt.id)
        panel.query_one("#body", TextArea).load_text("")
        assert panel.query_one("#user-token", Input).value == ""  # each function its own draft (finding 4)
        panel.query_one("#user-token", Input).value = "demo-token-ada"
        await send_and_wait(pilot, messages)
        outbox = app.query_one(ResponseView).response.outbox
        assert len(outbox) == 1 and "Your orders" in json.dumps(outbox)
        assert "Your orders" in app.query_one("#response-outbox", TextArea).text


async def terminal_key(pilot, key: str, character: str) -> None:
    """A key as a terminal sends it: alt+c arrives as ESC c, a Key("alt+c") that carries the character c."""
    from textual import events

    event = events.Key(key, character)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)
    await pilot.pause()


@shared_loop
async def test_alt_keys_act_instead_of_typing(shared):
    """Finding 2: alt+c with the focus in the path input or the body copies the request; nothing is typed."""
    pilot, app, _messages, _project = await fresh(shared, "cloud-functions/api/hello")
    await pilot.press("f4")
    await wait_until(pilot, lambda: app.focused is app.query_one("#path"), what="the path focused")
    await terminal_key(pilot, "alt+c", "c")
    assert app.query_one("#path", Input).value == "/api/hello"
    assert app.clipboard.startswith("curl ") and app.clipboard.endswith("/api/hello'") or \
        app.clipboard.endswith("/api/hello")
    body = app.query_one("#body", TextArea)
    body.load_text('{"a": 1}')
    body.focus()
    await pilot.pause()
    await terminal_key(pilot, "alt+c", "c")
    assert body.text == '{"a": 1}' and "--data-raw" in app.clipboard
    await terminal_key(pilot, "alt+w", "w")
    assert body.text == '{"a": 1}'


@shared_loop
async def test_each_function_shows_its_own_response(shared):
    """Finding 4: the response pane names its function and never shows another function's answer."""
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/hello")
    app.query_one("#query", TextArea).load_text("name=Ada")
    await send_and_wait(pilot, messages)
    view = app.query_one(ResponseView)
    assert view.response.status == 200 and "hello" in view.border_title
    hello_response = view.response
    await select_function(pilot, "cloud-functions/api/users/list")  # not sent to in this module
    assert view.response is None and "users/list" in view.border_title
    assert "no response yet" in str(view.query_one("#status-line").render())
    await select_function(pilot, "cloud-functions/api/hello")
    assert view.response is hello_response and hello_response.function_id == "cloud-functions/api/hello"


@shared_loop
async def test_one_duration_live_and_reopened(shared):
    """Finding 10: the response shows the runtime's duration, the same number when reopened from History."""
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/hello")
    completed = await send_and_wait(pilot, messages)
    view = app.query_one(ResponseView)
    live = view.response.duration_ms
    assert live == completed.record.duration_ms == completed.duration_ms
    await wait_until(pilot, lambda: app.session.record(completed.gateway_request_id) is not None
                     and app.session.record(completed.gateway_request_id).stored, what="stored")
    app._load_invocation(completed.gateway_request_id, "show")
    await wait_until(pilot, lambda: view.response.request_id == completed.gateway_request_id
                     and view.response is not app.responses.get("cloud-functions/api/hello"), what="reopened")
    assert abs(view.response.duration_ms - live) < 0.001


@shared_loop
async def test_the_timing_bar_shows_the_phases_live_and_reopened(shared):
    """Issue 13 item 7: under the status line, a bar of the invocation's phases with their numbers,
    the same when the run is reopened from the store. (Snapshots run with `fixed`, which hides times.)"""
    pilot, app, messages, _project = await fresh(shared, "cloud-functions/api/hello")
    view = app.query_one(ResponseView)
    view.show_timing = True
    try:
        completed = await send_and_wait(pilot, messages)
        await pilot.pause()
        bar = view.query_one("#timing-bar")
        assert bar.display and bar.region.height == 1 and bar.region.width > 0  # on screen
        shown = str(bar.render())
        handler_ms = completed.record.handler_ms
        assert handler_ms is not None and f"handler {handler_ms:.1f} ms" in shown and "█" in shown
        await wait_until(pilot, lambda: app.session.record(completed.gateway_request_id) is not None
                         and app.session.record(completed.gateway_request_id).stored, what="stored")
        app._load_invocation(completed.gateway_request_id, "show")
        await wait_until(pilot, lambda: view.response.request_id == completed.gateway_request_id
                         and view.response is not app.responses.get("cloud-functions/api/hello"), what="reopened")
        await pilot.pause()
        assert "RECORDED RUN" in view.border_title
        assert f"handler {handler_ms:.1f} ms" in str(view.query_one("#timing-bar").render())
    finally:
        view.show_timing = False


async def test_a_shown_request_error_follows_the_edits(showcase):
    """'path parameter :id is empty' stayed under the request after the parameter was typed (until the
    next send), so a fixed request still looked broken; a shown error now follows the edits."""
    from studio_helpers import RUN, make_app, wait_until
    from textual.widgets import Input

    from studio.tui.widgets.invoke_panel import InvokePanel
    from studio.tui.widgets.route_tree import RouteTree

    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        app.query_one(RouteTree).select_function("cloud-functions/api/users/[id]")
        await pilot.pause()
        panel = app.query_one(InvokePanel)
        error = app.query_one("#invoke-error")
        assert panel.send() is None and "path parameter :id is empty" in str(error.render())
        panel.param_input("id").value = "42"
        await pilot.pause()
        assert str(error.render()) == ""
        body = app.query_one("#body", TextArea)
        body.load_text('{"a": 1,}')
        assert panel.send() is None and "invalid JSON" in str(error.render())
        body.insert(" ", body.document.end)  # still broken: the error stays, for the new text
        await pilot.pause()
        assert "invalid JSON" in str(error.render())
        body.load_text('{"a": 1}')
        await pilot.pause()
        assert str(error.render()) == ""
        assert isinstance(app.query_one("#path"), Input)

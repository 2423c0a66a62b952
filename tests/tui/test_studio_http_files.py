"""Saved requests in the studio are `.http` files: saved with their path template, loaded back the
same, run from the CLI; environments fill them without writing secrets back; a browser's multi-line
"Copy as cURL" imports whole (issue 12, item 4 and finding 8). Discovery only: no runtime needed."""

from __future__ import annotations

import json

from helpers import plugin_args, run_funcstudio, write_file
from studio_helpers import RUN, make_app, select_function, wait_until
from textual import events
from textual.widgets import Input

from studio.project.http_files import format_request, parse_http
from studio.store.db import db_path, open_store
from studio.tui.request_model import RequestDraft
from studio.tui.screens.modals import PromptScreen
from studio.tui.screens.requests import RequestsScreen
from studio.tui.widgets.invoke_panel import InvokePanel

USER = "cloud-functions/api/users/[id]"
HELLO = "cloud-functions/api/hello"


async def discovered(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.project is not None, what="discovery")
    await wait_until(pilot, lambda: bool(app.query("#body")), what="the request tabs")
    await pilot.pause()


async def save_as(pilot, name: str | None) -> None:
    """alt+s, then `name` (None: what the prompt offers) and enter."""
    await pilot.press("alt+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, PromptScreen), what="the save prompt")
    if name is not None:
        pilot.app.screen.query_one(Input).value = name
    else:
        await pilot.pause()
        assert pilot.app.screen.query_one(Input).value
    await pilot.press("enter")


async def open_saved(pilot, *keys: str) -> None:
    await pilot.press("alt+l")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RequestsScreen), what="the saved list")
    await pilot.pause()
    await pilot.press(*keys, "enter")


async def test_a_saved_request_is_read_back_identically_and_runs_from_the_cli(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        await select_function(pilot, USER)
        panel = app.query_one(InvokePanel)
        panel.load_request(RequestDraft(function_id=USER, method="GET", path="/api/users/:id", params={"id": "42"},
                                        query="full=1", headers="User-Agent: studio\nAccept: application/json"))
        await pilot.pause()
        before = panel.current_draft()
        await save_as(pilot, "Get Ada")
        saved = showcase / "http-requests" / "api-users-id.http"
        await wait_until(pilot, saved.is_file, what="the .http file")
        text = saved.read_text()
        [request] = parse_http(text).requests
        assert (request.name, request.method, request.url) == ("Get Ada", "GET", "/api/users/{{id}}?full=1")
        assert request.variables == (("id", "42"),)
        assert request.headers == (("User-Agent", "studio"), ("Accept", "application/json"))
        assert text == format_request(request)  # the file is exactly what the writer makes of it

        panel.load_request(RequestDraft(function_id=USER, path="/api/users/:id"))  # empty the panel
        await pilot.pause()
        await open_saved(pilot)
        await wait_until(pilot, lambda: panel.current_draft() == before, what="the request loaded back")

    result = run_funcstudio("invoke", str(showcase), "--request", "http-requests/api-users-id.http#get-ada", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["path"], record["query_string"], record["status"]) == ("/api/users/42", "full=1", 200)
    assert json.loads(record["body"]) == {"user": {"id": "42", "name": "Ada Lovelace"}, "agent": "studio"}


async def test_a_template_saves_without_a_value_for_an_environment_to_give(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        await select_function(pilot, USER)
        await save_as(pilot, "any user")
        saved = showcase / "http-requests" / "api-users-id.http"
        await wait_until(pilot, saved.is_file, what="the .http file")
    [request] = parse_http(saved.read_text()).requests
    assert (request.url, request.variables) == ("/api/users/{{id}}", ())


async def test_environments_fill_a_request_and_its_secrets_stay_out_of_the_file(showcase):
    write_file(showcase, "http-requests/users.http", "### who\n# function: cloud-functions/api/users/[id]\n"
               "GET {{host}}/api/users/{{id}}\nAuthorization: Bearer {{token}}\n")
    write_file(showcase, "http-client.env.json", json.dumps({"dev": {"host": "https://prod.example", "id": "7"}}))
    write_file(showcase, "http-client.private.env.json", json.dumps({"dev": {"token": "s3cret"}}))
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        await select_function(pilot, HELLO)
        panel = app.query_one(InvokePanel)
        await open_saved(pilot, "ctrl+e")  # the environment `dev`
        await wait_until(pilot, lambda: panel.entry is not None and panel.entry.function_id == USER
                         and panel.current_draft().params == {"id": "7"}, what="the request for its function")
        draft = panel.current_draft()
        assert (draft.path, draft.headers) == ("/api/users/:id", "Authorization: Bearer s3cret")

        await pilot.press("alt+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), what="the save prompt")
        assert app.screen.query_one(Input).value == "users.http#who"  # where it came from
        await pilot.press("enter")
        saved = showcase / "http-requests" / "users.http"
        await wait_until(pilot, lambda: "# function: cloud-functions/api/users/[id]\nGET" in saved.read_text(),
                         what="the save", timeout=10)
        assert "s3cret" not in saved.read_text()
        [again] = parse_http(saved.read_text()).requests
        assert again.url == "{{host}}/api/users/{{id}}" and again.headers == (("Authorization", "Bearer {{token}}"),)
        assert again.variables == ()  # id still comes from the environment


async def test_a_browsers_multi_line_curl_imports_whole(showcase):
    chrome = ("curl 'http://localhost:8088/api/hello?name=Ada' \\\n  -H 'accept: application/json' \\\n"
              "  -H 'x-trace: 7' \\\n  --data-raw $'{\"name\":\"O\\'Brien\"}' \\\n  --compressed")
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        await select_function(pilot, HELLO)
        await pilot.press("alt+i")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), what="the import prompt")
        field = app.screen.query_one(Input)
        field.post_message(events.Paste(chrome))
        await wait_until(pilot, lambda: field.value.startswith("curl"), what="the paste")
        await pilot.press("enter")
        panel = app.query_one(InvokePanel)
        await wait_until(pilot, lambda: panel.current_draft().method == "POST", what="the import")
        draft = panel.current_draft()
        assert (draft.path, draft.query, draft.body) == ("/api/hello", "name=Ada", '{"name":"O\'Brien"}')
        assert "accept: application/json" in draft.headers and "x-trace: 7" in draft.headers


async def test_old_saved_requests_appear_as_files_once(showcase):
    conn = open_store(db_path(showcase))
    conn.execute("INSERT INTO saved_requests (function_id, name, method, path, headers, body, event, created_at, "
                 "updated_at) VALUES (?, 'old one', 'GET', '/api/users/7', '[]', x'', NULL, 1.0, 1.0)", [USER])
    conn.commit()
    conn.close()
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        await select_function(pilot, USER)
        await pilot.press("alt+l")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestsScreen), what="the saved list")
        keys = [entry.key for entry in app.screen.catalog.entries]
        assert keys == ["http-requests/api-users-id.http#old-one"]
    assert parse_http((showcase / "http-requests/api-users-id.http").read_text()).requests[0].url == "/api/users/7"


async def test_x_on_a_history_row_writes_a_test_that_passes(showcase):
    import subprocess
    import sys

    from studio_helpers import focus_tab, send_and_wait, started

    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, USER)
        app.query_one(InvokePanel).param_input("id").value = "7"
        completed = await send_and_wait(pilot, messages)
        await focus_tab(pilot, "f9")
        history = app.query_one("#history-view")
        await wait_until(pilot, lambda: history.selected_request_id == completed.gateway_request_id,
                         what="the new row in the history")
        reloads = app.reload_info
        await pilot.press("x")
        target = showcase / "tests" / f"test_recorded_{completed.gateway_request_id[:8]}.py"
        await wait_until(pilot, target.is_file, what="the exported test")
        # The new file reloads the project; let that finish before the app closes.
        await wait_until(pilot, lambda: app.reload_info != reloads, what="the reload the new file causes")
        await pilot.pause()
    assert "expected = {'user': {'id': '7', 'name': 'Alan Turing'}" in target.read_text()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args(),
                             str(target.relative_to(showcase))], cwd=showcase, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout + result.stderr

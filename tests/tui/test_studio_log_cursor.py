"""The log view's cursor line and detail pane, on a real project, keys only: j/k/g/G move the
cursor, enter shows the line in full with its invocation, o opens that invocation's trace or
response."""

from __future__ import annotations

from io import StringIO

from rich.console import Console
from studio_helpers import RUN, focus_tab, make_app, select_function, send_and_wait, started, wait_until

from studio.tui.widgets.log_view import LogDetail, LogView, pretty_text


def rendered(renderable) -> str:
    console = Console(file=StringIO(), width=60, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def test_pretty_text_indents_json_and_python_literals_and_keeps_plain_text():
    assert rendered(pretty_text('{"user": {"id": 42}}')).splitlines()[:3] == ["{", '  "user": {', '    "id": 42']
    out = rendered(pretty_text("query parameters: {'qty': '3', 'tags': [1, 2]}"))
    assert out.startswith("query parameters:\n{\n") and '  "qty": "3",' in out
    assert rendered(pretty_text("not json {oops")) == "not json {oops\n"
    assert rendered(pretty_text("a " * 40)).count("\n") == 2  # soft-wrapped at 60 columns


async def test_cursor_detail_and_open_invocation_by_keys(showcase):
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, "cloud-functions/api/logs")
        app.query_one("#path").value = "/api/logs?qty=3"
        await send_and_wait(pilot, messages)
        await select_function(pilot, "cloud-functions/api/boom")
        boom = await send_and_wait(pilot, messages)
        view = app.query_one(LogView)
        detail = app.query_one(LogDetail)
        await wait_until(pilot, lambda: view.line_count and view.row_at(view.line_count - 1).request_id
                         == boom.gateway_request_id, what="boom's lines in the log view")
        # lines read while boom was running get its status once it finishes
        await wait_until(pilot, lambda: view.row_at(view.line_count - 1).status == 500, what="boom's status")
        await focus_tab(pilot, "f8")
        last = view.line_count - 1
        assert view.cursor == last and view.tail

        await pilot.press("k")
        assert view.cursor == last - 1 and not view.tail
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("j", "down")
        assert view.cursor == 2
        await pilot.press("G")
        assert view.cursor == last and view.tail

        # walk up to the logged query parameters, then show that line in full
        for _ in range(last + 1):
            if "query parameters" in view.cursor_row.text:
                break
            await pilot.press("up")
        row = view.cursor_row
        assert row.text.endswith("query parameters: {'qty': '3'}"), [view.row_at(i).text for i in range(last + 1)]
        assert row.status == 200
        assert not detail.shown
        await pilot.press("enter")
        assert detail.shown and detail.row == row
        head = str(detail.query_one("#log-detail-head").render())
        assert "cloud-functions/api/logs · GET /api/logs · 200 · request <request-id>" in head
        assert ' "qty": "3"' in rendered(detail.query_one("#log-detail-text").content)
        await pilot.press("j")  # the detail follows the cursor
        assert detail.row == view.cursor_row != row
        await pilot.press("escape")
        assert not detail.shown and app.focused is view
        await pilot.press("enter", "tab")  # into the detail, to scroll a long line; escape comes back
        assert app.focused is detail
        await pilot.press("escape")
        assert not detail.shown and app.focused is view

        # o on the 200 line opens its response, on boom's line its trace
        await pilot.press("k", "o")
        await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "response-body",
                         what="the response of the logs invocation")
        assert app.last_record["request_id"] == row.request_id
        await focus_tab(pilot, "f8")
        await pilot.press("G", "o")
        await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "trace-frames",
                         what="the trace of boom")
        assert app.last_record["request_id"] == boom.gateway_request_id

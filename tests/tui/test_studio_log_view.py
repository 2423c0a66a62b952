"""The log view on one running studio shared by this module (a real runtime and store, two
invocations: /api/logs?qty=3 and /api/boom): filters by level, text, function and status; the
cursor line (j/k/g/G), the detail pane (enter) and opening a line's invocation (o), keys only.
Each test starts by clearing the filters and putting the focus back on the log view."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
import pytest_asyncio
from rich.console import Console
from studio_helpers import RUN, focus_tab, make_app, of, select_function, send_and_wait, started, wait_until

from studio.tui.log_source import LogFilters
from studio.tui.messages import StoreChanged
from studio.tui.widgets.log_view import LogDetail, LogsPane, LogView, pretty_text

shared_loop = pytest.mark.asyncio(loop_scope="module")  # the tests that drive the shared studio


def rendered(renderable) -> str:
    console = Console(file=StringIO(), width=60, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def shown_texts(view: LogView) -> list[str]:
    return [view.row_at(i).text for i in range(view.line_count)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def studio(tmp_path_factory, samples_dir):
    project = tmp_path_factory.mktemp("log-view") / "pages-showcase"
    shutil.copytree(samples_dir / "pages-showcase", project, ignore=shutil.ignore_patterns(".funcstudio"))
    app = make_app(project)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, "cloud-functions/api/logs")
        app.query_one("#path").value = "/api/logs?qty=3"
        logs = await send_and_wait(pilot, messages)
        await select_function(pilot, "cloud-functions/api/boom")
        boom = await send_and_wait(pilot, messages)
        view = app.query_one(LogView)
        # lines read while boom was running get its status once it finishes
        await wait_until(pilot, lambda: view.line_count and view.row_at(view.line_count - 1).status == 500,
                         what="boom's lines, with its status")
        assert of(messages, StoreChanged)
        yield pilot, logs, boom


async def fresh(pilot) -> tuple[LogsPane, LogView]:
    """No filters, no detail, the focus on the lines."""
    app = pilot.app
    pane = app.query_one(LogsPane)
    view = app.query_one(LogView)
    pane.detail.set_class(False, "-shown")
    pane.apply_filters(LogFilters())
    await wait_until(pilot, lambda: view.line_count and "this is a warning" in " ".join(shown_texts(view))
                     and view.row_at(view.line_count - 1).status == 500, what="every line")
    await focus_tab(pilot, "f8")
    return pane, view


def test_pretty_text_indents_json_and_python_literals_and_keeps_plain_text():
    assert rendered(pretty_text('{"user": {"id": 42}}')).splitlines()[:3] == ["{", '  "user": {', '    "id": 42']
    out = rendered(pretty_text("query parameters: {'qty': '3', 'tags': [1, 2]}"))
    assert out.startswith("query parameters:\n{\n") and '  "qty": "3",' in out
    assert rendered(pretty_text("not json {oops")) == "not json {oops\n"
    assert rendered(pretty_text("a " * 40)).count("\n") == 2  # soft-wrapped at 60 columns


@shared_loop
async def test_filter_logs_by_level_text_function_and_status(studio):
    pilot, _logs, _boom = studio
    app = pilot.app
    pane, view = await fresh(pilot)
    all_lines = view.line_count

    pane.apply_filters(LogFilters(level="WARNING"))
    await wait_until(pilot, lambda: view.line_count < all_lines, what="level filter")
    assert all(view.row_at(i).level in ("WARNING", "ERROR", "CRITICAL") for i in range(view.line_count))
    assert any("this is a warning" in t for t in shown_texts(view))

    pane.apply_filters(LogFilters(text="stderr"))
    await wait_until(pilot, lambda: shown_texts(view) == ["this goes to stderr"], what="text search")

    pane.apply_filters(LogFilters(function_id="cloud-functions/api/logs"))
    await wait_until(pilot, lambda: view.line_count and all(
        view.row_at(i).function_id == "cloud-functions/api/logs" for i in range(view.line_count)),
        what="function filter")
    pane.apply_filters(LogFilters(status_class=5))
    await wait_until(pilot, lambda: view.line_count and all(
        view.row_at(i).status >= 500 for i in range(view.line_count)), what="status filter")
    assert all(view.row_at(i).function_id == "cloud-functions/api/boom" for i in range(view.line_count))

    # the search box, from the keyboard
    pane.apply_filters(LogFilters())
    await focus_tab(pilot, "f8")
    await pilot.press("slash")
    await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "log-search",
                     what="the search box")
    await pilot.press(*"warning", "enter")
    await wait_until(pilot, lambda: view.line_count and all(
        "warning" in t.lower() for t in shown_texts(view)), what="typed search")


@shared_loop
async def test_cursor_moves_by_keys(studio):
    pilot, _logs, _boom = studio
    _pane, view = await fresh(pilot)
    last = view.line_count - 1
    await pilot.press("G")
    assert view.cursor == last and view.tail
    await pilot.press("k")
    assert view.cursor == last - 1 and not view.tail
    await pilot.press("g")
    assert view.cursor == 0
    await pilot.press("j", "down")
    assert view.cursor == 2
    await pilot.press("G")
    assert view.cursor == last and view.tail


@shared_loop
async def test_detail_shows_the_line_and_opens_its_invocation(studio):
    pilot, logs, boom = studio
    app = pilot.app
    _pane, view = await fresh(pilot)
    detail = app.query_one(LogDetail)
    await pilot.press("G")
    last = view.cursor

    # walk up to the logged query parameters, then show that line in full
    for _ in range(last + 1):
        if "query parameters" in view.cursor_row.text:
            break
        await pilot.press("up")
    row = view.cursor_row
    assert row.text.endswith("query parameters: {'qty': '3'}"), shown_texts(view)
    assert row.status == 200 and row.request_id == logs.gateway_request_id
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
    assert app.last_record.request_id == row.request_id
    await focus_tab(pilot, "f8")
    await pilot.press("G", "o")
    await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "trace-frames",
                     what="the trace of boom")
    assert app.last_record.request_id == boom.gateway_request_id

"""Logs, history and replay on a real project: the virtual log view and its filters, the live tail,
the history table, and replay against edited code with a diff."""

from __future__ import annotations

from studio_helpers import RUN, focus_tab, make_app, of, select_function, send_and_wait, started, wait_until

from studio.tui.log_source import LogFilters
from studio.tui.messages import LogsAppended, ReplayCompleted
from studio.tui.screens.modals import TextScreen
from studio.tui.widgets.history import HistoryView
from studio.tui.widgets.log_view import LogsPane, LogView


def shown_texts(view: LogView) -> list[str]:
    return [view.row_at(i).text for i in range(view.line_count)]


async def test_filter_logs_by_level_text_function_and_status(showcase):
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, "cloud-functions/api/logs")
        await send_and_wait(pilot, messages)
        await select_function(pilot, "cloud-functions/api/boom")
        await send_and_wait(pilot, messages)
        pane = app.query_one(LogsPane)
        view = app.query_one(LogView)
        await wait_until(pilot, lambda: any("this is a warning" in t for t in shown_texts(view)),
                         what="the live tail")
        assert of(messages, LogsAppended)
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
        await wait_until(pilot, lambda: view.line_count == 0 or all(
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


async def test_history_shows_invocations_and_replay_diffs(showcase):
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, "cloud-functions/api/hello")
        first = await send_and_wait(pilot, messages)
        history = app.query_one(HistoryView)
        await wait_until(pilot, lambda: any(r.request_id == first.gateway_request_id for r in history.rows),
                         what="history row")

        # change the code, let the runtime reload, then replay the old invocation
        source = showcase / "cloud-functions" / "api" / "hello.py"
        source.write_text(source.read_text().replace('f"Hello, {name}!"', 'f"Howdy, {name}!"'))
        await wait_until(pilot, lambda: "reloaded" in app.reload_info, what="reload")
        await focus_tab(pilot, "f9")  # history, newest row selected
        await pilot.pause()
        assert history.selected_request_id == first.gateway_request_id
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: of(messages, ReplayCompleted), timeout=60, what="replay")
        [replay] = of(messages, ReplayCompleted)
        assert "Hello, world!" in replay.before["body"] and "Howdy, world!" in replay.after["body"]
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        diff = str(app.screen.query_one("#text-body").render())
        assert "Howdy" in diff and "Hello" in diff
        await pilot.press("escape")

        # enter on a history row shows that invocation again
        await focus_tab(pilot, "f9")
        await wait_until(pilot, lambda: len(history.rows) >= 2, what="replay in history")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.last_record and app.last_record.get("request_id")
                         == history.rows[0].request_id, what="history detail")

"""History and replay on a real project: the history table, and replay against edited code with a
diff. (The log view's filters and keys are in test_studio_log_view.py.)"""

from __future__ import annotations

from studio_helpers import RUN, focus_tab, make_app, of, select_function, send_and_wait, started, wait_until

from studio.tui.messages import ReplayCompleted
from studio.tui.screens.modals import TextScreen
from studio.tui.widgets.history import HistoryView
from studio.tui.widgets.log_view import LogView
from studio.tui.widgets.response_view import ResponseView


def shown_texts(view: LogView) -> list[str]:
    return [view.row_at(i).text for i in range(view.line_count)]


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
        # keys queued faster than a replay runs (as a terminal sends a double ctrl+r) start one replay,
        # not two stacked diffs; Pilot waits for idle between presses, so call the action twice at once
        app.action_replay()
        app.action_replay()
        await pilot.pause()
        assert any("a replay is already running" in n.message for n in app._notifications)
        await wait_until(pilot, lambda: of(messages, ReplayCompleted), timeout=60, what="replay")
        [replay] = of(messages, ReplayCompleted)
        assert b"Hello, world!" in replay.before.response_body and b"Howdy, world!" in replay.after.response_body
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        diff = str(app.screen.query_one("#text-body").render())
        assert "Howdy" in diff and "Hello" in diff
        await pilot.press("escape")

        # enter on a history row shows that invocation again
        await focus_tab(pilot, "f9")
        await wait_until(pilot, lambda: len(history.rows) >= 2, what="replay in history")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.last_record is not None and app.last_record.request_id
                         == history.rows[0].request_id, what="history detail")
        # labelled as a recorded run: the function, when it ran and its code version
        title = str(app.query_one(ResponseView).border_title)
        assert title.startswith("RECORDED RUN · cloud-functions/api/hello · ran 00:00:00 · code "), title

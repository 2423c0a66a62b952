"""A Flask entry in the studio: its own routes appear under the file route once the worker reports
them, and a crash inside a view shows the user's frames first with Flask's frames folded."""

from __future__ import annotations

from studio_helpers import RUN, focus_tab, make_app, select_function, send_and_wait, started, wait_until
from textual.widgets import Input

from studio.tui.widgets.route_tree import RouteTree
from studio.tui.widgets.trace_view import TraceView

FLASK = "cloud-functions/flask-api/[[default]]"


async def test_inner_routes_and_folded_framework_frames(showcase):
    entry = showcase / f"{FLASK}.py"
    entry.write_text(entry.read_text() + (
        "\n\n@app.get('/crash')\ndef crash():\n    ratio = 1\n    return jsonify(value=ratio / 0)\n"))
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, FLASK)
        app.query_one("#path", Input).value = "/flask-api/crash"
        completed = await send_and_wait(pilot, messages)
        assert completed.status == 500

        trace = app.query_one(TraceView)
        assert trace.error["type"] == "ZeroDivisionError"
        shown = [frame for _i, frame in trace.rows]
        assert shown[-1]["function"] == "crash" and all(f.get("is_user", True) for f in shown)
        assert trace.query_one("#trace-frames").highlighted == len(shown) - 1  # the raising frame
        folded = [f for f in trace.error["frames"] if not f.get("is_user", True)]
        assert folded, "Flask's own frames are recorded"
        await focus_tab(pilot, "f10")
        await pilot.press("f")
        await pilot.pause()
        assert len(trace.rows) == len(trace.error["frames"])
        assert [f for _i, f in trace.rows] == list(trace.error["frames"])  # every frame, most recent call last
        assert trace.rows[trace.query_one("#trace-frames").highlighted][1]["function"] == "crash"

        tree = app.query_one(RouteTree)
        await wait_until(pilot, lambda: any(e.kind == "inner" and e.path == "/flask-api/health"
                                            for e in tree.visible_entries()), what="inner routes")
        inner = [e for e in tree.visible_entries() if e.kind == "inner"]
        assert {"/flask-api/items/<int:item_id>", "/flask-api/crash"} <= {e.path for e in inner}
        assert all(e.function_id == FLASK for e in inner)

"""Live from every writer: an invocation made by another process (`funcstudio invoke` in a second
terminal) appears in an open studio's history and log view without a key, through the store watcher;
an errors-only switch (f6) then narrows both views to the failure."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from studio_helpers import RUN, make_app, wait_until

from studio.tui.widgets.history import HistoryView
from studio.tui.widgets.log_view import LogsPane


def invoke_elsewhere(project, target: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "studio", "invoke", str(project), target, "--json"],
                          capture_output=True, text=True, timeout=120, cwd=project)
    return json.loads(done.stdout)


async def test_another_processes_invocation_appears_live(showcase):
    app = make_app(showcase, start_runtime=False)  # this studio writes nothing itself
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.query(LogsPane) and app.query(HistoryView)
                         and app.query_one(LogsPane).scans > 0, what="the views' first read")
        history, pane = app.query_one(HistoryView), app.query_one(LogsPane)
        assert not history.rows and not pane.view.line_count

        hello = await asyncio.to_thread(invoke_elsewhere, showcase, "/api/hello?name=Ada")
        await wait_until(pilot, lambda: [r.request_id for r in history.rows] == [hello["request_id"]],
                         what="the other process's invocation in the history")
        await wait_until(pilot, lambda: pane.view.line_count and
                         pane.view.row_at(pane.view.line_count - 1).request_id == hello["request_id"],
                         what="its log lines in the log view")

        boom = await asyncio.to_thread(invoke_elsewhere, showcase, "/api/boom")
        await wait_until(pilot, lambda: history.rows and history.rows[0].request_id == boom["request_id"],
                         what="the failing invocation")
        await pilot.press("f6")  # errors only, over logs and history
        await wait_until(pilot, lambda: [r.request_id for r in history.rows] == [boom["request_id"]],
                         what="only the failure in the history")
        view = pane.view
        await wait_until(pilot, lambda: view.line_count and all(
            view.row_at(i).level in ("ERROR", "CRITICAL") and view.row_at(i).request_id == boom["request_id"]
            for i in range(view.line_count)), what="only its ERROR lines in the log view")
        await pilot.press("f6")
        await wait_until(pilot, lambda: len(history.rows) == 2, what="everything again")

"""The history reads the store in keyset pages: moving past the oldest row shown loads the next."""

from __future__ import annotations

import time

from studio_helpers import RUN, focus_tab, make_app, of, select_function, send_and_wait, started, wait_until

from studio.store.db import db_path, open_store
from studio.tui.messages import InvokeCompleted
from studio.tui.widgets.history import HistoryView

STORED = 450


def fill_history(project) -> None:
    conn = open_store(db_path(project))
    now = time.time()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO invocations (request_id, state, function_id, trigger, method, path, status, status_class,"
        " started_at, duration_ms) VALUES (?, 'finished', 'cloud-functions/api/hello', 'http', 'GET',"
        " '/api/hello', 200, 2, ?, 1.0)",
        [(f"old-{i:04d}", now - STORED + i) for i in range(STORED)],
    )
    conn.execute("COMMIT")
    conn.close()


async def test_history_pages_back_through_the_store(showcase):
    fill_history(showcase)
    app = make_app(showcase)
    async with app.run_test(**RUN) as pilot:
        await started(pilot)
        history = app.query_one(HistoryView)
        await wait_until(pilot, lambda: len(history.rows) == HistoryView.PAGE, what="the newest page")
        assert history.rows[0].request_id == f"old-{STORED - 1:04d}"
        await focus_tab(pilot, "f9")
        await pilot.press("ctrl+end")
        await wait_until(pilot, lambda: len(history.rows) == 2 * HistoryView.PAGE, what="the second page")
        await pilot.press("ctrl+end")
        await wait_until(pilot, lambda: len(history.rows) == STORED, what="the last page")
        assert history.exhausted
        assert history.rows[-1].request_id == "old-0000"
        ids = [r.id for r in history.rows]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == STORED


async def test_new_invocations_keep_loaded_pages_and_the_cursor(showcase):
    fill_history(showcase)
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        history = app.query_one(HistoryView)
        await wait_until(pilot, lambda: len(history.rows) == HistoryView.PAGE, what="the newest page")
        await focus_tab(pilot, "f9")
        await pilot.press("ctrl+end")
        await wait_until(pilot, lambda: len(history.rows) == 2 * HistoryView.PAGE, what="the second page")
        await pilot.press("up")
        chosen = history.selected_request_id
        await select_function(pilot, "cloud-functions/api/hello")
        await send_and_wait(pilot, messages)
        await wait_until(pilot, lambda: len(history.rows) == 2 * HistoryView.PAGE + 1, what="the new row")
        assert history.rows[0].request_id == of(messages, InvokeCompleted)[-1].gateway_request_id
        assert history.selected_request_id == chosen

"""The history reads the store in keyset pages: moving past the oldest row shown loads the next."""

from __future__ import annotations

import time

from studio_helpers import RUN, make_app, started, wait_until

from studio.store.db import db_path, open_store
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
        await pilot.press("f9", "ctrl+end")
        await wait_until(pilot, lambda: len(history.rows) == 2 * HistoryView.PAGE, what="the second page")
        await pilot.press("ctrl+end")
        await wait_until(pilot, lambda: len(history.rows) == STORED, what="the last page")
        assert history.exhausted
        assert history.rows[-1].request_id == "old-0000"
        ids = [r.id for r in history.rows]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == STORED

"""The log view stays virtual: 20k stored lines, only the visible pages are ever read; a filter paints
its newest page first and fills the scrollback in behind it."""

from __future__ import annotations

import time

from studio_helpers import SIZE
from textual.app import App

from studio.store.db import open_store
from studio.tui.log_source import LogFilters, LogSource
from studio.tui.widgets import log_view
from studio.tui.widgets.log_view import PAGE_CACHE, PAGE_SIZE, LogsPane, LogView

ROWS = 20_000


def fill_store(path) -> None:
    conn = open_store(path)
    now = time.time()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO invocations (id, request_id, state, function_id, trigger, method, path, status,"
                 " status_class, started_at) VALUES (1, 'r1', 'finished', 'api/big', 'http', 'GET', '/big', 200,"
                 " 2, ?)", [now])
    conn.execute(
        "INSERT INTO logs (invocation_id, function_id, seq, time, stream, level, text)"
        " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)"
        " SELECT 1, 'api/big', i, ?, 'logging', CASE WHEN i % 1000 = 0 THEN 'ERROR' ELSE 'INFO' END,"
        " 'line ' || i FROM n",
        [ROWS, now],
    )
    conn.execute("COMMIT")
    conn.close()


class LogApp(App):
    def __init__(self, source):
        super().__init__()
        self.source = source

    def compose(self):
        yield LogView(self.source, fixed_clock=True)


async def test_a_large_log_reads_only_visible_pages(tmp_path):
    db = tmp_path / "studio.db"
    fill_store(db)
    source = LogSource(db)
    ids = source.matching_ids(LogFilters())
    assert len(ids) == ROWS
    app = LogApp(source)
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(LogView)
        view.set_ids(ids)  # tail: the newest lines are on screen
        await pilot.pause()
        assert view.virtual_size.height == ROWS
        assert view.page_reads <= 2
        assert f"line {ROWS - 1}" in "".join(s.text for s in view.render_line(view.scrollable_content_region.height - 1))
        view.tail = False
        view.scroll_to(y=ROWS // 2, animate=False, immediate=True)
        await pilot.pause()
        top = "".join(s.text for s in view.render_line(0))
        assert f"line {ROWS // 2}" in top
        before = view.page_reads
        for _ in range(10):  # page through a stretch of the middle
            await pilot.press("pagedown")
        assert len(view._rows.keys()) <= PAGE_CACHE * PAGE_SIZE
        assert view.page_reads - before <= 10 * view.size.height // PAGE_SIZE + 2

    errors = source.matching_ids(LogFilters(level="ERROR"))
    assert len(errors) == ROWS // 1000
    assert source.rows(list(errors[:3]))[errors[1]].text == "line 1000"


class PaneApp(App):
    def compose(self):
        yield LogsPane(fixed_clock=True)


def visible(view: LogView) -> list[str]:
    return ["".join(s.text for s in view.render_line(y)) for y in range(view.scrollable_content_region.height)]


async def test_the_newest_page_paints_first_and_the_scrollback_fills_in_behind_it(tmp_path, monkeypatch):
    db = tmp_path / "studio.db"
    fill_store(db)
    monkeypatch.setattr(log_view, "OLDER_CHUNK", 3000)  # several keyset pages of older ids
    messages = []
    app = PaneApp()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        pane = app.query_one(LogsPane)
        pane.set_source(LogSource(db))
        first = await _first(pilot, messages, LogsPane.FirstPage)
        assert len(first.ids) == PAGE_SIZE and first.ids[0] == first.high  # one page, newest first
        view = pane.view
        await _until(pilot, lambda: view.complete)
        assert view.line_count == ROWS and list(view.ids) == list(range(1, ROWS + 1))
        await _until(pilot, lambda: f"line {ROWS - 1}" in visible(view)[-1])  # still on the newest line
        # the oldest line on screen is reported (the studio's recorder keeps it from retention); the
        # report of the view's last scroll may still be on its way (a loaded machine)

        def top_reported() -> bool:
            tops = [m for m in messages if isinstance(m, LogView.TopChanged)]
            return bool(tops) and tops[-1].line_id == view.id_at(round(view.scroll_offset.y))

        await _until(pilot, top_reported)
        older = [m for m in messages if isinstance(m, LogsPane.OlderIds)]
        assert len(older) == -(-(ROWS - PAGE_SIZE) // 3000)

        # a filter switch: the newest matching page first, then the rest
        pane.apply_filters(LogFilters(level="ERROR"))
        await _until(pilot, lambda: view.complete and view.line_count == ROWS // 1000)
        await _until(pilot, lambda: f"line {ROWS - 1000}" in visible(view)[view.line_count - 1])


async def _first(pilot, messages, kind):
    await _until(pilot, lambda: any(isinstance(m, kind) for m in messages))
    return next(m for m in messages if isinstance(m, kind))


async def _until(pilot, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)

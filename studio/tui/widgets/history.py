"""The invocation history: newest first, keyset-paged from the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from studio.tui.actions import bindings

if TYPE_CHECKING:
    from studio.tui.invocation_source import InvocationRow


class HistoryView(Vertical):
    """A table of recent invocations; enter shows one, ctrl+r replays it.

    | Key | Action |
    |---|---|
    | enter | show the invocation (response, logs, trace) |
    | ctrl+r | replay against the current code and diff (app binding `history.replay`) |
    | ctrl+end | the oldest row shown; reaching it reads the next page from the store |
    """

    BINDINGS = bindings("history")

    DEFAULT_CSS = """
    HistoryView { height: 1fr; }
    HistoryView DataTable { height: 1fr; }
    """

    @dataclass
    class Chosen(Message):
        view: HistoryView
        request_id: str

        @property
        def control(self) -> HistoryView:
            return self.view

    @dataclass
    class OlderWanted(Message):
        """The cursor reached the oldest row shown: the app reads the page before `before_id`."""

        view: HistoryView
        before_id: int

        @property
        def control(self) -> HistoryView:
            return self.view

    PAGE = 200

    def __init__(self, *, fixed_clock: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_clock = fixed_clock
        self.rows: list[InvocationRow] = []
        self.exhausted = False
        """True once a page came back short: there is nothing older to read."""

    def compose(self):
        table: DataTable = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield table

    COLUMNS = ("time", "trigger", "request", "status", "ms", "function", "error")

    def _table(self) -> DataTable:
        """The table, with its columns (rows can arrive before this lazily mounted view's on_mount)."""
        table = self.query_one(DataTable)
        if not table.columns:
            table.add_columns(*self.COLUMNS)
        return table

    def on_mount(self) -> None:
        self._table()

    def set_rows(self, rows: list[InvocationRow]) -> None:
        """The newest page (replaces what is shown, keeping the cursor's row index)."""
        self.rows = []
        self.exhausted = len(rows) < self.PAGE
        self._table().clear()
        self.add_older(rows)

    def add_newer(self, rows: list[InvocationRow]) -> None:
        """Put newer invocations on top, keeping older pages loaded. A cursor on the top row follows the
        newest (like a tail); anywhere else it stays on the same invocation."""
        shown = {row.id for row in self.rows}
        rows = [row for row in rows if row.id not in shown]
        if not rows:
            return
        table = self._table()
        cursor = table.cursor_row
        everything = sorted([*rows, *self.rows], key=lambda row: row.id, reverse=True)
        exhausted = self.exhausted
        self.rows = []
        table.clear()
        self.add_older(everything)
        self.exhausted = exhausted
        if cursor and self.rows:
            table.move_cursor(row=min(cursor + len(rows), len(self.rows) - 1))

    def add_older(self, rows: list[InvocationRow]) -> None:
        """Append a page of older rows (keyset: every id below the last one shown)."""
        if len(rows) < self.PAGE:
            self.exhausted = True
        table = self._table()
        self.rows.extend(rows)
        for row in rows:
            when = "00:00:00" if self.fixed_clock else time.strftime("%H:%M:%S", time.localtime(row.started_at))
            ms = "-" if self.fixed_clock or row.duration_ms is None else f"{row.duration_ms:.1f}"
            table.add_row(when, row.trigger, f"{row.method} {row.path}"[:40],
                          str(row.status or row.state), ms, row.function_id or "-", row.error_type or "",
                          key=row.request_id)

    @property
    def selected_request_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row].request_id

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if not self.exhausted and self.rows and event.cursor_row >= len(self.rows) - 1:
            self.post_message(self.OlderWanted(self, self.rows[-1].id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.Chosen(self, str(event.row_key.value)))

    def action_open_invocation(self) -> None:
        request_id = self.selected_request_id
        if request_id:
            self.post_message(self.Chosen(self, request_id))

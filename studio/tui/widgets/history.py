"""The invocation history: newest first, keyset-paged from the store, with the log view's filters.

The view owns its source, its filters and its pages: it reads in its own thread workers and applies
what they read in a message handler (`PageRead`), so a page can never arrive before the table it
fills is mounted (the view's messages wait for its compose), and a page read for an older filter is
dropped by its generation number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Select, Sparkline, Static
from textual.worker import get_current_worker

from studio.tui.actions import bindings
from studio.tui.invocation_source import METHODS, TIME_RANGES, HistoryFilters

if TYPE_CHECKING:
    from studio.tui.invocation_source import InvocationRow, InvocationSource


class HistoryView(Vertical):
    """A table of recent invocations; enter shows one, ctrl+r replays it.

    | Key | Action |
    |---|---|
    | enter | show the invocation (response, logs, trace), labelled as a recorded run |
    | ctrl+r | replay against the current code and diff (app binding `history.replay`) |
    | ctrl+end | the oldest row shown; reaching it reads the next page from the store |
    """

    BINDINGS = bindings("history")

    DEFAULT_CSS = """
    HistoryView { height: 1fr; }
    HistoryView #history-filters { height: 1; }
    HistoryView #history-filters Select { width: 14; }
    HistoryView #history-filters #history-function { width: 24; }
    HistoryView #history-search { width: 1fr; }
    HistoryView #history-trend { height: 1; }
    HistoryView #history-trend-label { width: auto; max-width: 60%; padding: 0 1; color: $text-muted; }
    HistoryView #history-sparkline { width: 1fr; height: 1; }
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
    class ExportWanted(Message):
        """Export the selected invocation as a pytest test (x)."""

        view: HistoryView
        request_id: str

        @property
        def control(self) -> HistoryView:
            return self.view

    @dataclass
    class PageRead(Message):
        """A worker read a page: `newest` replaces or tops up the rows, `older` appends below `before_id`."""

        generation: int
        mode: str
        """newest | newer | older"""
        before_id: int | None
        rows: list
        functions: list[str]

    @dataclass
    class TrendRead(Message):
        function_id: str
        durations: list[float]

    PAGE = 200
    TREND = 60
    """Invocations in a function's duration sparkline."""

    COLUMNS = ("time", "trigger", "request", "status", "ms", "function", "error")

    def __init__(self, source: InvocationSource | None = None, *, fixed_clock: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_clock = fixed_clock
        self.source: InvocationSource | None = source
        self.filters = HistoryFilters()
        self.rows: list[InvocationRow] = []
        self.exhausted = False
        """True once a page came back short: there is nothing older to read."""
        self._generation = 0
        self._trend_function: str | None = None
        self._functions: list[str] = []
        self.pages_read = 0
        """Pages applied so far (tests wait on it)."""

    def compose(self):
        with Horizontal(id="history-filters"):
            yield Select([], prompt="function", id="history-function", compact=True)
            yield Select([(f"{c}xx", f"{c}xx") for c in (2, 3, 4, 5)] + [("errors", "errors")], prompt="status",
                         id="history-status", compact=True)
            yield Select([(m, m) for m in METHODS], prompt="method", id="history-method", compact=True)
            yield Select([(label, label) for label in TIME_RANGES], prompt="any time", id="history-since",
                         compact=True)
            yield Input(placeholder="search path, error, log text", id="history-search", compact=True)
        with Horizontal(id="history-trend"):
            yield Static("", id="history-trend-label", markup=False)
            yield Sparkline([], id="history-sparkline")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)

    def _table(self) -> DataTable:
        table = self.query_one(DataTable)
        if not table.columns:
            table.add_columns(*self.COLUMNS)
        return table

    def on_mount(self) -> None:
        self._table()
        if self.source is not None:
            self.reload()

    # -- the source and the filters ------------------------------------------------------------

    def set_source(self, source: InvocationSource) -> None:
        self.source = source
        self.reload()

    def set_filters(self, filters: HistoryFilters) -> None:
        """Set every filter control and read the newest matching page (the palette, errors-only)."""
        with self.prevent(Select.Changed, Input.Changed):
            for selector, value in (("#history-function", filters.function_id), ("#history-status", filters.status),
                                    ("#history-method", filters.method), ("#history-since", filters.since)):
                select = self.query_one(selector, Select)
                if value and selector == "#history-function":
                    self._add_functions([value])
                if value:
                    select.value = value
                else:
                    select.clear()
            self.query_one("#history-search", Input).value = filters.text
        self.filters = filters
        self.reload()

    def _read_controls(self) -> HistoryFilters:
        def value(selector: str):
            return self.query_one(selector, Select).selection

        return HistoryFilters(function_id=value("#history-function"), status=value("#history-status"),
                              method=value("#history-method"), since=value("#history-since"),
                              text=self.query_one("#history-search", Input).value.strip())

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.filters = self._read_controls()
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filters = self._read_controls()
        self.reload()
        self.query_one(DataTable).focus()

    def _add_functions(self, function_ids: list[str]) -> None:
        merged = sorted(set(self._functions) | set(function_ids))
        if merged != self._functions:
            self._functions = merged
            select = self.query_one("#history-function", Select)
            current = select.value
            with self.prevent(Select.Changed):
                select.set_options([(f, f) for f in merged])
                if isinstance(current, str) and current in merged:
                    select.value = current

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        """The newest matching page replaces what is shown (a new source or new filters)."""
        self._generation += 1
        if self.source is not None:
            self._read(self._generation, self.filters, "newest", None)

    def refresh_newer(self) -> None:
        """The store changed: put newer invocations on top, and refresh the rows still running."""
        if self.source is not None:
            self._read(self._generation, self.filters, "newer", None)

    @work(thread=True, exit_on_error=False, group="history-read")
    def _read(self, generation: int, filters: HistoryFilters, mode: str, before_id: int | None) -> None:
        try:
            rows = self.source.recent(self.PAGE, before_id=before_id, filters=filters)
            functions = self.source.function_ids() if mode != "older" else []
        except Exception as exc:  # noqa: BLE001 - a failed read is shown, never fatal
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self.notify, f"could not read the history: {type(exc).__name__}: {exc}",
                                          severity="error")
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageRead(generation, mode, before_id, rows, functions))

    def on_history_view_page_read(self, message: PageRead) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # read for filters that are no longer set
        self.pages_read += 1
        if message.functions:
            self._add_functions(message.functions)
        if message.mode == "newest":
            self.set_rows(message.rows)
        elif message.mode == "newer":
            if self.rows:
                self.add_newer(message.rows)
            else:
                self.set_rows(message.rows)
        elif self.rows and self.rows[-1].id == message.before_id:  # still the page it asked for
            self.add_older(message.rows)
        self._want_trend()

    # -- rows ----------------------------------------------------------------------------------

    def set_rows(self, rows: list[InvocationRow]) -> None:
        """The newest page (replaces what is shown)."""
        self.rows = []
        self.exhausted = len(rows) < self.PAGE
        self._table().clear()
        self.add_older(rows)

    def add_newer(self, rows: list[InvocationRow]) -> None:
        """Put newer invocations on top and update rows that changed (a running one finished), keeping
        older pages loaded. A cursor on the top row follows the newest; anywhere else it stays on the
        same invocation."""
        shown = {row.id: row for row in self.rows}
        fresh = [row for row in rows if row.id not in shown]
        changed = [row for row in rows if row.id in shown and shown[row.id] != row]
        if not fresh and not changed:
            return
        table = self._table()
        cursor = table.cursor_row
        updated = {row.id: row for row in changed}
        everything = sorted([*fresh, *(updated.get(row.id, row) for row in self.rows)], key=lambda row: row.id,
                            reverse=True)
        exhausted = self.exhausted
        self.rows = []
        table.clear()
        self.add_older(everything)
        self.exhausted = exhausted
        if cursor and self.rows:
            table.move_cursor(row=min(cursor + len(fresh), len(self.rows) - 1))

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
                          str(row.status or row.state), ms, row.function_id or "-", row.error_type or row.fault or "",
                          key=row.request_id)

    @property
    def selected_row(self) -> InvocationRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @property
    def selected_request_id(self) -> str | None:
        row = self.selected_row
        return row.request_id if row is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if not self.exhausted and self.rows and event.cursor_row >= len(self.rows) - 1 and self.source is not None:
            self._read(self._generation, self.filters, "older", self.rows[-1].id)
        self._want_trend()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.Chosen(self, str(event.row_key.value)))

    def action_open_invocation(self) -> None:
        request_id = self.selected_request_id
        if request_id:
            self.post_message(self.Chosen(self, request_id))

    def action_export_test(self) -> None:
        request_id = self.selected_request_id
        if request_id:
            self.post_message(self.ExportWanted(self, request_id))

    # -- the duration sparkline ----------------------------------------------------------------

    def _want_trend(self) -> None:
        """The cursor row's function (or the filtered one): read its recent durations once per change."""
        row = self.selected_row
        function_id = self.filters.function_id or (row.function_id if row is not None else None)
        if function_id and function_id != self._trend_function and self.source is not None:
            self._trend_function = function_id
            self._read_trend(function_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-trend")
    def _read_trend(self, function_id: str) -> None:
        try:
            durations = self.source.durations(function_id, self.TREND)
        except Exception:  # noqa: BLE001 - the picture is optional; the table still shows the numbers
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.TrendRead(function_id, durations))

    def on_history_view_trend_read(self, message: TrendRead) -> None:
        message.stop()
        durations = message.durations
        label = self.query_one("#history-trend-label", Static)
        if not durations:
            label.update(f"{message.function_id}: no finished runs")
            self.query_one(Sparkline).data = []
            return
        if self.fixed_clock:  # snapshots: durations differ from run to run
            label.update(f"{message.function_id} · {_last_runs(len(durations))}")
            durations = [1.0] * len(durations)
        else:
            label.update(f"{message.function_id} · {_last_runs(len(durations))} · "
                         f"{min(durations):.1f}–{max(durations):.1f} ms · latest {durations[-1]:.1f} ms")
        self.query_one(Sparkline).data = durations


def _last_runs(count: int) -> str:
    return "the last run" if count == 1 else f"last {count} runs"

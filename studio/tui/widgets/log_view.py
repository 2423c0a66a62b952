"""The log view: a virtual `ScrollView` over the store, plus its filter bar.

It holds only the matching ids (`array('q')`) and an LRU of 200-row pages, so a million lines cost
8 MB of ids and a few pages of rows; `render_line(y)` reads a page by primary key on a miss.
"""

from __future__ import annotations

import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.lazy import Lazy
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Select, Static
from textual.worker import get_current_worker

from studio.tui.actions import bindings
from studio.tui.log_source import LEVELS, LogFilters, LogRow, LogSource

PAGE_SIZE = 200
PAGE_CACHE = 32

LEVEL_STYLES = {
    "DEBUG": Style(dim=True),
    "INFO": Style(),
    "WARNING": Style(color="yellow"),
    "ERROR": Style(color="red", bold=True),
    "CRITICAL": Style(color="red", bold=True, reverse=True),
}


def format_time(value: float, fixed_clock: bool) -> str:
    if fixed_clock:
        return "00:00:00.000"
    local = time.localtime(value)
    return time.strftime("%H:%M:%S", local) + f".{int((value % 1) * 1000):03d}"


class LogView(ScrollView, can_focus=True):
    """Renders the lines whose ids it is given; never holds more than `PAGE_CACHE` pages of rows.

    | Key | Action |
    |---|---|
    | j / k, up / down | scroll |
    | g / G | oldest / newest line |
    | t | toggle live tail |
    """

    BINDINGS = [b for b in bindings("logs") if b.action not in ("focus_search",)]

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; overflow-x: hidden; }
    """

    COMPONENT_CLASSES = {"log-view--time", "log-view--request", "log-view--stream"}

    def __init__(self, source: LogSource | None = None, *, fixed_clock: bool = False, mask=None,
                 id: str | None = None):
        super().__init__(id=id)
        self.mask = mask or (lambda text: text)
        self.source = source
        self.fixed_clock = fixed_clock
        self.ids: array = array("q")
        self.tail = True
        self._pages: OrderedDict[int, dict[int, LogRow]] = OrderedDict()
        self.page_reads = 0

    @property
    def line_count(self) -> int:
        return len(self.ids)

    def set_ids(self, ids: array) -> None:
        self.ids = ids
        self._pages.clear()
        self.virtual_size = Size(self.size.width, len(ids))
        if self.tail:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

    def extend_ids(self, more: array) -> None:
        if not more:
            return
        last_page = (len(self.ids) - 1) // PAGE_SIZE if self.ids else None
        self.ids.extend(more)
        if last_page is not None:
            self._pages.pop(last_page, None)
        self.virtual_size = Size(self.size.width, len(self.ids))
        if self.tail:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

    def _page(self, number: int) -> dict[int, LogRow]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        wanted = list(self.ids[number * PAGE_SIZE:(number + 1) * PAGE_SIZE])
        page = self.source.rows(wanted) if self.source is not None else {}
        self.page_reads += 1
        self._pages[number] = page
        if len(self._pages) > PAGE_CACHE:
            self._pages.popitem(last=False)
        return page

    def row_at(self, index: int) -> LogRow | None:
        if not 0 <= index < len(self.ids):
            return None
        return self._page(index // PAGE_SIZE).get(self.ids[index])

    def line_text(self, row: LogRow) -> Text:
        text = Text(no_wrap=True)
        text.append(format_time(row.time, self.fixed_clock), style="dim")
        text.append(" ")
        if row.method:
            text.append(f"{row.method} {row.path or ''}"[:32].ljust(32), style="bold")
        else:
            text.append(" " * 32)
        status = row.status
        style = "green" if status and status < 400 else "yellow" if status and status < 500 else "red"
        text.append(f" {status if status else '   '} ", style=style if status else "")
        text.append(f"{(row.level or row.stream)[:8]:<8} ", style="dim")
        text.append(self.mask(row.text.replace("\n", " ⏎ ")), style=LEVEL_STYLES.get(row.level or "", Style()))
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        row = self.row_at(index)
        if row is None:
            if index == 0 and not self.ids:
                return Strip([Segment("no log lines match" if self.source else "store not open yet",
                                      Style(dim=True))]).extend_cell_length(width, base)
            return Strip.blank(width, base)
        segments = list(self.line_text(row).render(self.app.console))
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        return strip.apply_style(base)

    def action_toggle_tail(self) -> None:
        self.tail = not self.tail
        if self.tail:
            self.scroll_end(animate=False)
        self.notify("live tail on" if self.tail else "live tail off")

    def action_scroll_home(self) -> None:
        self.tail = False
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.tail = True
        self.scroll_end(animate=False)

    def action_scroll_up(self) -> None:
        self.tail = False
        self.scroll_relative(y=-1, animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_relative(y=1, animate=False)


class LogsPane(Vertical):
    """Filter bar (function, level, status, text) over a `LogView`; refilters in a worker."""

    BINDINGS = [b for b in bindings("logs") if b.action == "focus_search"]

    DEFAULT_CSS = """
    LogsPane { height: 1fr; }
    LogsPane #log-filters { height: 1; }
    LogsPane #log-filters Select { width: 22; }
    LogsPane #log-filters #log-level, LogsPane #log-filters #log-status { width: 14; }
    LogsPane #log-search { width: 1fr; }
    LogsPane #log-count { width: auto; padding: 0 1; color: $text-muted; }
    """

    @dataclass
    class Filtered(Message):
        """The view now shows the lines matching `filters`."""

        pane: LogsPane
        filters: LogFilters
        count: int

        @property
        def control(self) -> LogsPane:
            return self.pane

    @dataclass
    class IdsReady(Message):
        generation: int
        ids: array
        append: bool

    def __init__(self, *, fixed_clock: bool = False, mask=None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_clock = fixed_clock
        self.mask = mask
        self.source: LogSource | None = None
        self.filters = LogFilters()
        self._generation = 0
        self._function_ids: list[str] = []
        self.scans = 0
        """Id scans applied so far (tests and screenshots wait on it)."""

    def compose(self):
        # the filter bar mounts after the first frame (startup budget, STYLE.md §6)
        yield Lazy(Horizontal(
            Select([], prompt="function", id="log-function", compact=True),
            Select([(lvl.lower(), lvl) for lvl in LEVELS], prompt="level", id="log-level", compact=True),
            Select([(f"{c}xx", c) for c in (2, 3, 4, 5)], prompt="status", id="log-status", compact=True),
            Input(placeholder="/ search text", id="log-search", compact=True),
            Static("", id="log-count"),
            id="log-filters",
        ))
        yield LogView(fixed_clock=self.fixed_clock, mask=self.mask, id="log-view")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def set_source(self, source: LogSource) -> None:
        self.source = source
        self.view.source = source
        self.refilter()

    def set_functions(self, function_ids: list[str]) -> None:
        self._function_ids = list(function_ids)
        selects = self.query("#log-function").results(Select)
        select = next(selects, None)
        if select is None:
            return
        current = select.value
        select.set_options([(f, f) for f in function_ids])
        if current in function_ids:
            select.value = current

    def apply_filters(self, filters: LogFilters) -> None:
        """Set every filter control and refilter (used by tests, the palette and history)."""
        with self.prevent(Select.Changed, Input.Changed):
            if filters.function_id:
                select = self.query_one("#log-function", Select)
                if filters.function_id not in self._function_ids:
                    self.set_functions([*self._function_ids, filters.function_id])
                select.value = filters.function_id
            else:
                self.query_one("#log-function", Select).clear()
            level = self.query_one("#log-level", Select)
            if filters.level:
                level.value = filters.level
            else:
                level.clear()
            status = self.query_one("#log-status", Select)
            if filters.status_class:
                status.value = filters.status_class
            else:
                status.clear()
            self.query_one("#log-search", Input).value = filters.text
        self.filters = filters
        self.refilter()

    def _read_controls(self) -> LogFilters:
        def value(selector: str):
            return self.query_one(selector, Select).selection

        return LogFilters(function_id=value("#log-function"), level=value("#log-level"),
                          status_class=value("#log-status"), text=self.query_one("#log-search", Input).value,
                          request_id=self.filters.request_id)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.filters = self._read_controls()
        self.refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filters = self._read_controls()
        self.refilter()
        self.view.focus()

    def action_focus_search(self) -> None:
        self.query_one("#log-search", Input).focus()

    def refilter(self) -> None:
        self._generation += 1
        if self.source is not None:
            self._load_ids(self._generation, self.filters, 0, False)

    def append_new(self) -> None:
        """New lines are in the store: read the matching ids after the last one shown."""
        if self.source is None:
            return
        after = self.view.ids[-1] if self.view.ids else 0
        self._load_ids(self._generation, self.filters, after, True)

    @work(thread=True, exit_on_error=False, group="log-ids")
    def _load_ids(self, generation: int, filters: LogFilters, after: int, append: bool) -> None:
        ids = self.source.matching_ids(filters, after)
        if not get_current_worker().is_cancelled:
            self.post_message(self.IdsReady(generation, ids, append))

    def on_logs_pane_ids_ready(self, message: IdsReady) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer filter superseded this scan
        self.scans += 1
        view = self.view
        if message.append:
            known = view.ids[-1] if view.ids else 0
            view.extend_ids(array("q", (i for i in message.ids if i > known)))
        else:
            view.set_ids(message.ids)
            self.post_message(self.Filtered(self, self.filters, len(message.ids)))
        for count in self.query("#log-count").results(Static):
            count.update(f"{view.line_count:,} line{'s' if view.line_count != 1 else ''}")

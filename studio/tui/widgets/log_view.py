"""The log view: a virtual `ScrollView` over the store, plus its filter bar.

It holds only the matching ids (`array('q')`) and an LRU of 200-row pages, so a million lines cost
8 MB of ids and a few pages of rows; `render_line(y)` reads a page by primary key on a miss.
A cursor line (Toolong's pointer) picks one line; Enter shows it in full below the view.
"""

from __future__ import annotations

import ast
import json
import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.containers import Horizontal, Vertical, VerticalScroll
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
    | j / k, up / down | move the cursor line |
    | g / G | oldest / newest line |
    | enter | show the cursor line in full |
    | o | open the cursor line's invocation |
    | t | toggle live tail |
    """

    BINDINGS = [b for b in bindings("logs") if b.action not in ("focus_search",)]

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; overflow-x: hidden; }
    LogView > .log-view--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    """

    COMPONENT_CLASSES = {"log-view--time", "log-view--request", "log-view--stream", "log-view--cursor"}

    @dataclass
    class CursorMoved(Message):
        """The cursor is on `row` (None when no line matches)."""

        view: LogView
        row: LogRow | None

        @property
        def control(self) -> LogView:
            return self.view

    @dataclass
    class DetailToggled(Message):
        view: LogView
        show: bool | None
        """True / False to show / hide, None to flip."""

        @property
        def control(self) -> LogView:
            return self.view

    @dataclass
    class OpenInvocation(Message):
        """Open this invocation's response (and its trace when it failed)."""

        view: LogView
        request_id: str

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, source: LogSource | None = None, *, fixed_clock: bool = False, mask=None,
                 id: str | None = None):
        super().__init__(id=id)
        self.mask = mask or (lambda text: text)
        self.source = source
        self.fixed_clock = fixed_clock
        self.ids: array = array("q")
        self.tail = True
        self.cursor = 0
        """Index (into `ids`) of the cursor line; follows the newest line while tailing."""
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
            self.cursor = max(len(ids) - 1, 0)
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        else:
            self.cursor = min(self.cursor, max(len(ids) - 1, 0))
        self.refresh()
        self._cursor_moved()

    def extend_ids(self, more: array) -> None:
        if not more:
            return
        last_page = (len(self.ids) - 1) // PAGE_SIZE if self.ids else None
        self.ids.extend(more)
        if last_page is not None:
            self._pages.pop(last_page, None)
        self.virtual_size = Size(self.size.width, len(self.ids))
        if self.tail:
            self.cursor = len(self.ids) - 1
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
            self._cursor_moved()
        self.refresh()

    def forget_unfinished(self) -> None:
        """Drop cached pages holding lines of invocations that had no status yet when read."""
        stale = [number for number, page in self._pages.items()
                 if any(row.status is None for row in page.values())]
        for number in stale:
            del self._pages[number]
        if stale:
            self.refresh()

    @property
    def cursor_row(self) -> LogRow | None:
        return self.row_at(self.cursor)

    def _cursor_moved(self) -> None:
        self.post_message(self.CursorMoved(self, self.cursor_row))

    def move_cursor(self, index: int) -> None:
        """Put the cursor on line `index` (clamped) and scroll just enough to show it."""
        if not self.ids:
            return
        index = max(0, min(index, len(self.ids) - 1))
        self.tail = index == len(self.ids) - 1 and self.tail
        self.cursor = index
        top = round(self.scroll_offset.y)
        height = max(self.scrollable_content_region.height, 1)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        self.refresh()
        self._cursor_moved()

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
        if index == self.cursor and self.has_focus:
            return strip.apply_style(self.get_component_rich_style("log-view--cursor"))
        return strip.apply_style(base)

    def on_focus(self) -> None:
        self.refresh()  # the cursor line shows only while the view has the focus

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event) -> None:
        self.tail = False
        self.move_cursor(round(self.scroll_offset.y) + event.y)

    def action_toggle_tail(self) -> None:
        self.tail = not self.tail
        if self.tail:
            self.move_cursor(len(self.ids) - 1)
            self.tail = True
            self.scroll_end(animate=False)
        self.notify("live tail on" if self.tail else "live tail off")

    def action_scroll_home(self) -> None:
        self.tail = False
        self.move_cursor(0)

    def action_scroll_end(self) -> None:
        self.tail = True
        self.move_cursor(len(self.ids) - 1)
        self.scroll_end(animate=False)

    def action_cursor_up(self) -> None:
        self.tail = False
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.tail = False
        self.move_cursor(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_toggle_detail(self) -> None:
        self.post_message(self.DetailToggled(self, None))

    def action_close_detail(self) -> None:
        self.post_message(self.DetailToggled(self, False))

    def action_open_invocation(self) -> None:
        row = self.cursor_row
        if row is None or not row.request_id:
            self.notify("no line under the cursor", severity="warning")
            return
        self.post_message(self.OpenInvocation(self, row.request_id))


def pretty_text(text: str):
    """A log line for reading: JSON (whole, or after a prefix such as `payload: `) indented, else as is."""
    from rich.console import Group
    from rich.json import JSON

    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start >= 0:
        try:
            value = json.loads(text[start:])
        except ValueError:
            try:  # print(dict) writes a Python literal, not JSON
                value = ast.literal_eval(text[start:])
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                value = None
        if isinstance(value, (dict, list)):
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = None
        if isinstance(value, (dict, list)):
            pretty = JSON.from_data(value, indent=2)
            return Group(Text(text[:start].rstrip()), pretty) if text[:start].strip() else pretty
    return Text(text)


class LogDetail(VerticalScroll):
    """The cursor line in full, soft-wrapped, with its invocation; follows the cursor while shown.
    Tab focuses it to scroll a long line (a traceback); escape goes back to the lines."""

    BINDINGS = [b for b in bindings("logs") if b.action == "close_detail"]

    DEFAULT_CSS = """
    LogDetail { height: auto; max-height: 65%; display: none; border-top: solid $primary;
                background: $surface; padding: 0 1; }
    LogDetail:focus { border-top: solid $accent; }
    LogDetail.-shown { display: block; }
    LogDetail #log-detail-head { color: $text-muted; }
    """

    def __init__(self, *, fixed_clock: bool = False, mask=None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_clock = fixed_clock
        self.mask = mask or (lambda text: text)
        self.row: LogRow | None = None

    def compose(self):
        yield Static("", id="log-detail-head", markup=False)
        yield Static("", id="log-detail-text")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    def show_row(self, row: LogRow | None) -> None:
        self.row = row
        head = self.query_one("#log-detail-head", Static)
        body = self.query_one("#log-detail-text", Static)
        if row is None:
            head.update("no line under the cursor")
            body.update("")
            return
        status = f" · {row.status}" if row.status else ""
        request = f"{row.method} {row.path}" if row.method else ""
        request_id = "<request-id>" if self.fixed_clock else row.request_id  # snapshots: ids are random
        head.update(f"{format_time(row.time, self.fixed_clock)} · {row.level or row.stream} · "
                    f"{row.function_id or '?'} · {request}{status} · request {request_id}\n"
                    "o opens its response and trace · esc closes")
        body.update(pretty_text(self.mask(row.text)))
        self.scroll_home(animate=False)

    def action_close_detail(self) -> None:
        self.post_message(LogView.DetailToggled(self.parent.query_one(LogView), False))


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
        yield LogDetail(fixed_clock=self.fixed_clock, mask=self.mask, id="log-detail")

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

    @property
    def detail(self) -> LogDetail:
        return self.query_one(LogDetail)

    def on_log_view_detail_toggled(self, message: LogView.DetailToggled) -> None:
        message.stop()
        show = not self.detail.shown if message.show is None else message.show
        refocus = not show and self.detail.has_focus
        if show:
            self.detail.show_row(self.view.cursor_row)
        self.detail.set_class(show, "-shown")
        if refocus:  # after hiding, or the screen moves the focus from the hidden detail elsewhere
            self.view.focus()
        self.call_after_refresh(self._keep_cursor_visible)

    def _keep_cursor_visible(self) -> None:
        """The view just changed height: no blank space under the last line, the cursor on screen."""
        view = self.view
        if view.scroll_offset.y > view.max_scroll_y:
            view.scroll_to(y=view.max_scroll_y, animate=False, immediate=True)
        view.move_cursor(view.cursor)

    def on_log_view_cursor_moved(self, message: LogView.CursorMoved) -> None:
        message.stop()
        if self.detail.shown:
            self.detail.show_row(message.row)

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

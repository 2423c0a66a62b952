"""The log view: a virtual `ScrollView` over the store, plus its filter bar.

A filter (or the first frame) paints its newest page first: one keyset page of ids from the newest,
and its rows. The older ids are then read in keyset pages in a worker and put above (the scrollbar
grows upward; a view scrolled up keeps its lines in place), and new lines from any process are
appended below. It holds the matching ids (`array('q')`, 8 bytes a line) and an LRU of rows, so a
million lines cost 8 MB of ids and a few pages of rows; `render_line(y)` reads a page of rows by
primary key on a miss. A cursor line (Toolong's pointer) picks one line; Enter shows it in full.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import time
from array import array
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.lazy import Lazy
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Select, Static
from textual.worker import get_current_worker

from studio.tui.actions import bindings
from studio.tui.log_source import LEVELS, STREAMS, LogFilters, LogRow, LogSource

PAGE_SIZE = 200
PAGE_CACHE = 32
"""Pages of rows kept (by id, in an LRU): about the screens a person scrolls back and forth over."""
OLDER_CHUNK = 50_000
"""Ids read per keyset page while the scrollback is filled in behind the first paint."""
_GONE = object()
"""Cached for an id whose row is no longer stored (pruned), so it is not read again."""

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

    @dataclass
    class TailChanged(Message):
        """Following the newest line or not, and how many lines arrived since it stopped following."""

        view: LogView
        tail: bool
        unseen: int

        @property
        def control(self) -> LogView:
            return self.view

    @dataclass
    class TopChanged(Message):
        """The oldest line on screen is now `line_id` (retention must not remove it)."""

        view: LogView
        line_id: int | None

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.TopChanged)

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, source: LogSource | None = None, *, fixed_clock: bool = False, mask=None,
                 id: str | None = None):
        super().__init__(id=id)
        self.mask = mask or (lambda text: text)
        self.source = source
        self.fixed_clock = fixed_clock
        self._older: array = array("q")
        """Ids at and below the first page's newest, newest first (the scrollback grows at its end)."""
        self._newer: array = array("q")
        """Ids that arrived after the first page, oldest first."""
        self.complete = True
        """False while older ids are still being read."""
        self._tail = True
        self.unseen = 0
        """Lines appended while not following (the "↓ 42 new" badge)."""
        self.cursor = 0
        """Index of the cursor line; follows the newest line while tailing."""
        self._rows: LRUCache[int, object] = LRUCache(PAGE_SIZE * PAGE_CACHE)
        self.page_reads = 0
        self._settling = False

    # -- the ids: newest page first, older pages above, new lines below --------------------------

    @property
    def line_count(self) -> int:
        return len(self._older) + len(self._newer)

    @property
    def ids(self) -> array:
        """Every id shown, oldest first (a copy: for tests and small views)."""
        ids = array("q", reversed(self._older))
        ids.extend(self._newer)
        return ids

    def id_at(self, index: int) -> int:
        older = len(self._older)
        return self._older[older - 1 - index] if index < older else self._newer[index - older]

    @property
    def newest_id(self) -> int:
        if self._newer:
            return self._newer[-1]
        return self._older[0] if self._older else 0

    @property
    def oldest_id(self) -> int | None:
        return self._older[-1] if self._older else (self._newer[0] if self._newer else None)

    @property
    def tail(self) -> bool:
        return self._tail

    @tail.setter
    def tail(self, value: bool) -> None:
        if value == self._tail:
            return
        self._tail = value
        if value:
            self.unseen = 0
        self.post_message(self.TailChanged(self, value, self.unseen))

    def set_ids(self, ids: array) -> None:
        """Show exactly these ids (ascending), every one known."""
        self.reset(array("q", reversed(ids)), {}, complete=True)

    def reset(self, newest_first: array, rows: dict[int, LogRow], *, complete: bool) -> None:
        """A new filter's first page: its ids newest first, the rows already read for them, and
        whether that is all of them."""
        self._older = array("q", newest_first)  # its own: older pages are appended to it
        self._newer = array("q")
        self.complete = complete
        self._rows.clear()
        if rows:
            for row_id in newest_first:
                self._rows.set(row_id, rows.get(row_id, _GONE))
        self.unseen = 0
        self._resized()
        if self.tail:
            self.cursor = max(self.line_count - 1, 0)
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        else:
            self.cursor = min(self.cursor, max(self.line_count - 1, 0))
        self.refresh()
        self._cursor_moved()

    def add_older(self, newest_first: array, *, complete: bool) -> None:
        """Older ids read behind the first paint go above; a view scrolled up keeps its lines in place."""
        self.complete = complete
        if not newest_first:
            return
        self._older.extend(newest_first)
        added = len(newest_first)
        self._resized()
        # the same lines stay in place (at the bottom, when following): before the next frame is drawn
        self.cursor = self.line_count - 1 if self.tail else self.cursor + added
        self.scroll_to(y=self.scroll_offset.y + added, animate=False, immediate=True)
        self.refresh()

    def extend_newer(self, ascending: array) -> None:
        """Lines that arrived (from any process) below the newest one shown."""
        newest = self.newest_id
        more = array("q", (i for i in ascending if i > newest))
        if not more:
            return
        self._newer.extend(more)
        self._resized()
        if self.tail:
            self.cursor = self.line_count - 1
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
            self._cursor_moved()
        else:
            self.unseen += len(more)
            self.post_message(self.TailChanged(self, False, self.unseen))
        self.refresh()

    def extend_ids(self, more: array) -> None:
        self.extend_newer(more)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        top = round(new_value)
        self.post_message(self.TopChanged(self, self.id_at(top) if 0 <= top < self.line_count else None))

    def _settle(self) -> None:
        self._settling = False
        if self._tail:
            self.scroll_end(animate=False, immediate=True)

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, self.line_count)

    def forget_unfinished(self) -> None:
        """Drop cached rows of invocations that had no status yet when read."""
        stale = [key for key in self._rows.keys()
                 if isinstance(row := self._rows.get(key), LogRow) and row.status is None]
        for key in stale:
            self._rows.discard(key)
        if stale:
            self.refresh()

    @property
    def cursor_row(self) -> LogRow | None:
        return self.row_at(self.cursor)

    def _cursor_moved(self) -> None:
        self.post_message(self.CursorMoved(self, self.cursor_row))

    def move_cursor(self, index: int) -> None:
        """Put the cursor on line `index` (clamped) and scroll just enough to show it."""
        if not self.line_count:
            return
        index = max(0, min(index, self.line_count - 1))
        self.tail = index == self.line_count - 1 and self.tail
        self.cursor = index
        top = round(self.scroll_offset.y)
        height = max(self.scrollable_content_region.height, 1)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        self.refresh()
        self._cursor_moved()

    def row_at(self, index: int) -> LogRow | None:
        if not 0 <= index < self.line_count:
            return None
        row_id = self.id_at(index)
        row = self._rows.get(row_id)
        if row is None:
            self._read_page(index // PAGE_SIZE)
            row = self._rows.get(row_id)
        return row if isinstance(row, LogRow) else None

    def _read_page(self, number: int) -> None:
        """One page of rows around a missing one, by primary key."""
        start = number * PAGE_SIZE
        wanted = [self.id_at(i) for i in range(start, min(start + PAGE_SIZE, self.line_count))]
        rows = self.source.rows(wanted) if self.source is not None else {}
        self.page_reads += 1
        for row_id in wanted:
            self._rows.set(row_id, rows.get(row_id, _GONE))

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
        if y == 0 and self._tail and scroll_y < self.max_scroll_y and not self._settling:
            # following, yet lines arrived under the bottom between a scroll and a layout: catch up
            self._settling = True
            self.call_after_refresh(self._settle)
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        row = self.row_at(index)
        if row is None:
            if index == 0 and not self.line_count:
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
            self.move_cursor(self.line_count - 1)
            self.tail = True
            self.scroll_end(animate=False)
        self.notify("live tail on" if self.tail else "live tail off")

    def action_scroll_home(self) -> None:
        self.tail = False
        self.move_cursor(0)

    def action_scroll_end(self) -> None:
        self.tail = True
        self.move_cursor(self.line_count - 1)
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
    LogDetail { height: 1fr; min-height: 4; display: none; border-top: solid $primary;
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
    """Filter bar (function, level, source, status, text, tail badge) over a `LogView`; reads in workers."""

    BINDINGS = [b for b in bindings("logs") if b.action == "focus_search"]

    DEFAULT_CSS = """
    LogsPane { height: 1fr; }
    LogsPane #log-filters { height: 1; }
    LogsPane #log-filters Select { width: 22; }
    LogsPane #log-filters #log-level, LogsPane #log-filters #log-status,
    LogsPane #log-filters #log-stream { width: 14; }
    LogsPane #log-search { width: 1fr; }
    LogsPane #log-count { width: auto; padding: 0 1; color: $text-muted; }
    LogsPane #log-tail { width: auto; padding: 0 1; background: $success-darken-2; color: $text; }
    LogsPane #log-tail.-paused { background: $warning-darken-2; }
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
    class FirstPage(Message):
        """A filter's newest page: its ids newest first and their rows; `high` is the store's newest
        line id when it was read (new lines are read after it)."""

        generation: int
        ids: array
        rows: dict
        high: int
        functions: list[str]

    @dataclass
    class OlderIds(Message):
        generation: int
        ids: array
        complete: bool

    @dataclass
    class NewerIds(Message):
        generation: int
        ids: array
        high: int

    def __init__(self, source: LogSource | None = None, *, fixed_clock: bool = False, mask=None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_clock = fixed_clock
        self.mask = mask
        self.source: LogSource | None = source
        self.filters = LogFilters()
        self._generation = 0
        self._function_ids: list[str] = []
        self._high = 0
        """The store's newest line id when the view last read: new lines are those after it."""
        self._first_page_in = False
        """The current filter's first page is shown (appending before it would re-read it)."""
        self._append_wanted = False
        self._appending = False
        self._older_from: tuple | None = None
        """(generation, filters, before id) of a scrollback still to read."""
        self.scans = 0
        """First pages and appends applied so far (tests and screenshots wait on it)."""

    def compose(self):
        # the filter bar mounts after the first frame (startup budget, STYLE.md §6)
        yield Lazy(Horizontal(
            Select([], prompt="function", id="log-function", compact=True),
            Select([(lvl.lower(), lvl) for lvl in LEVELS], prompt="level", id="log-level", compact=True),
            Select([(stream, stream) for stream in STREAMS], prompt="source", id="log-stream", compact=True),
            Select([(f"{c}xx", c) for c in (2, 3, 4, 5)], prompt="status", id="log-status", compact=True),
            Input(placeholder="/ search text", id="log-search", compact=True),
            Static("", id="log-count"),
            Static("▼ following", id="log-tail"),
            id="log-filters",
        ))
        yield LogView(fixed_clock=self.fixed_clock, mask=self.mask, id="log-view")
        yield LogDetail(fixed_clock=self.fixed_clock, mask=self.mask, id="log-detail")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @dataclass
    class Wanted(Message):
        """Work asked of the pane from outside (a source, a store change), done in its own handler, so
        it never runs before the pane's children are mounted."""

        what: str
        """source | changed"""

    def on_mount(self) -> None:
        if self.source is not None:
            self.post_message(self.Wanted("source"))

    def set_source(self, source: LogSource) -> None:
        self.source = source
        self.post_message(self.Wanted("source"))

    def store_changed(self) -> None:
        """Some process committed to the store: new lines, and statuses of finished invocations."""
        self.post_message(self.Wanted("changed"))

    def on_logs_pane_wanted(self, message: Wanted) -> None:
        message.stop()
        if message.what == "source":
            self.view.source = self.source
            self.refilter()
        else:
            self.view.forget_unfinished()
            self.append_new()

    def set_functions(self, function_ids: list[str]) -> None:
        self._function_ids = list(function_ids)
        selects = self.query("#log-function").results(Select)
        select = next(selects, None)
        if select is None:
            return
        current = select.value
        with self.prevent(Select.Changed):
            select.set_options([(f, f) for f in function_ids])
            if current in function_ids:
                select.value = current

    def add_functions(self, function_ids: list[str]) -> None:
        """Offer these functions in the filter too (the project's, and any the store recorded)."""
        self.set_functions(sorted(set(self._function_ids) | set(function_ids)))

    def apply_filters(self, filters: LogFilters) -> None:
        """Set every filter control and refilter (used by tests, the palette and history)."""
        with self.prevent(Select.Changed, Input.Changed):
            if filters.function_id:
                self.add_functions([filters.function_id])
                self.query_one("#log-function", Select).value = filters.function_id
            else:
                self.query_one("#log-function", Select).clear()
            for selector, value in (("#log-level", filters.level), ("#log-stream", filters.stream)):
                select = self.query_one(selector, Select)
                if value:
                    select.value = value
                else:
                    select.clear()
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
                          stream=value("#log-stream"), status_class=value("#log-status"),
                          text=self.query_one("#log-search", Input).value, request_id=self.filters.request_id)

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
        """Show the current filter: its newest page first, then the older ids behind it."""
        self._generation += 1
        self._first_page_in = False
        self._appending = False  # a read still running belongs to the old generation and is dropped
        if self.source is not None:
            self._load_first_page(self._generation, self.filters)

    def append_new(self) -> None:
        """The store changed: read the matching ids after the newest line seen (one read at a time;
        a change during a read asks for another)."""
        if self.source is None:
            return
        if not self._first_page_in or self._appending:
            self._append_wanted = True
            return
        self._append_wanted = False
        self._appending = True
        self._load_newer(self._generation, self.filters, self._high)

    @work(thread=True, exit_on_error=False, group="log-ids")
    def _load_first_page(self, generation: int, filters: LogFilters) -> None:
        source = self.source
        high = source.newest_id()
        ids = source.newest_ids(filters, before_id=high + 1, limit=PAGE_SIZE)
        rows = source.rows(list(ids))
        functions = source.function_ids()
        if not get_current_worker().is_cancelled:
            self.post_message(self.FirstPage(generation, ids, rows, high, functions))

    @work(thread=True, exit_on_error=False, group="log-ids")
    def _load_older(self, generation: int, filters: LogFilters, before: int) -> None:
        """The scrollback behind the first paint, a keyset page at a time, yielding to the UI between."""
        while before is not None and generation == self._generation:
            older = self.source.newest_ids(filters, before_id=before, limit=OLDER_CHUNK)
            before = older[-1] if len(older) == OLDER_CHUNK else None
            if get_current_worker().is_cancelled:
                return
            self.post_message(self.OlderIds(generation, older, before is None))
            time.sleep(0.005)

    @work(thread=True, exit_on_error=False, group="log-ids")
    def _load_newer(self, generation: int, filters: LogFilters, after: int) -> None:
        high = self.source.newest_id()
        if high < after:  # the store was cleared or replaced (`logs --clear`, a fresh store): ids start over
            self.post_message(self.Wanted("source"))
            return
        ids = self.source.matching_ids(filters, after)
        if not get_current_worker().is_cancelled:
            self.post_message(self.NewerIds(generation, ids, max(high, ids[-1] if ids else 0)))

    def on_logs_pane_first_page(self, message: FirstPage) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer filter superseded this read
        self.scans += 1
        self._high = message.high
        self._first_page_in = True
        self.add_functions(message.functions)
        complete = len(message.ids) < PAGE_SIZE
        self.view.reset(message.ids, message.rows, complete=complete)
        self._older_from = None if complete else (message.generation, self.filters, message.ids[-1])
        self._start_older()
        self.post_message(self.Filtered(self, self.filters, len(message.ids)))
        self._show_count()
        if self._append_wanted:
            self.append_new()

    def _start_older(self) -> None:
        """The scrollback, once the newest lines are laid out and drawn (not while the studio mounts)."""
        if self._older_from is None or not self.view.size.height:
            return
        older_from, self._older_from = self._older_from, None
        self.call_after_refresh(self._load_older, *older_from)

    def on_resize(self) -> None:
        self._start_older()

    def on_logs_pane_older_ids(self, message: OlderIds) -> None:
        message.stop()
        if message.generation == self._generation:
            self.view.add_older(message.ids, complete=message.complete)
            self._show_count()

    def on_logs_pane_newer_ids(self, message: NewerIds) -> None:
        message.stop()
        self._appending = False
        if message.generation == self._generation:
            self.scans += 1
            self._high = max(self._high, message.high)
            self.view.extend_newer(message.ids)
            self._show_count()
        if self._append_wanted:
            self.append_new()

    def on_log_view_tail_changed(self, message: LogView.TailChanged) -> None:
        message.stop()
        self._show_tail(message.tail, message.unseen)

    def _show_tail(self, tail: bool, unseen: int) -> None:
        for badge in self.query("#log-tail").results(Static):
            badge.set_class(not tail, "-paused")
            if tail:
                badge.update("▼ following")
            elif unseen:
                badge.update(f"↓ {unseen:,} new · G follows")
            else:
                badge.update("paused · G follows")

    def _show_count(self) -> None:
        if not self.query("#log-count"):  # the lazy filter bar is not in yet: once it is
            self.call_after_refresh(self._show_count)
            return
        view = self.view
        more = "" if view.complete else "+"
        self.query_one("#log-count", Static).update(
            f"{view.line_count:,}{more} line{'s' if view.line_count != 1 else ''}")
        self._show_tail(view.tail, view.unseen)

    def toggle_errors_only(self) -> bool:
        """Errors only (ERROR and CRITICAL lines) on or off; returns the new state."""
        on = self.filters.level not in ("ERROR", "CRITICAL")
        self.apply_filters(dataclasses.replace(self.filters, level="ERROR" if on else None))
        return on

"""The response view: coloured status, time and size, and the body, headers, return value,
parity warnings and CocoBase outbox of one answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus

from rich.text import Text
from textual.containers import Vertical
from textual.lazy import Lazy
from textual.reactive import reactive
from textual.widgets import Input, Static, TabbedContent, TabPane, TextArea

from studio.runtime.timing import GLYPHS, bar_cells, phase_label
from studio.tui.actions import bindings
from studio.tui.syntax import LARGE_FILE_LINES, language_available


@dataclass
class ResponseData:
    """What the view shows; built from an `InvokeCompleted` plus the runtime's record."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    duration_ms: float | None = None
    return_value: str | None = None
    warnings: list[dict] = field(default_factory=list)
    outbox: list[dict] = field(default_factory=list)
    error: dict | None = None
    request_id: str | None = None
    function_id: str | None = None
    """The function that answered (the view's title names it)."""
    app_path: str | None = None
    """The path a framework app received after prefix stripping, when it differs from the request's."""
    recorded: str | None = None
    """Set when this is a run reopened from the store (history, a log line): when it ran and on which
    code version, so it is never taken for the current code's answer."""
    phases: list[tuple[str, float]] = field(default_factory=list)
    """(phase, ms) for the timing bar: wait, cold start, handler, response (runtime/timing.py)."""


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def status_class(status: int) -> str:
    return f"status-{status // 100}xx" if 100 <= status < 600 else "status-5xx"


def pretty_body(body: bytes, headers: list[tuple[str, str]]) -> tuple[str, bool]:
    """(text, is_json): JSON re-indented; binary bodies described, never decoded as garbage."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{human_size(len(body))} of binary data>", False
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
        except ValueError:
            pass
    return text, False


PHASE_STYLES = {"wait": "yellow", "cold start": "dodger_blue2", "handler": "green3", "response": "magenta"}
BAR_CELLS = 24


def timing_text(parts: list[tuple[str, float]], width: int = BAR_CELLS) -> Text:
    """The invocation's phases as a coloured bar (one glyph per phase, so it reads without colour too)
    with each phase's time beside it."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for (name, _), count in zip(parts, bar_cells(parts, width), strict=True):
        text.append(GLYPHS[name] * count, style=PHASE_STYLES[name])
    text.append(" ")
    for name, ms in parts:
        if ms > 0 or name == "handler":
            text.append(" ■ ", style=PHASE_STYLES[name])
            text.append(phase_label(name, ms))
    return text


def _viewer(id: str) -> TextArea:
    return TextArea("", read_only=True, id=id, compact=True, soft_wrap=True, show_line_numbers=False)


class ResponseTabs(Vertical):
    DEFAULT_CSS = "ResponseTabs { height: 1fr; }"

    def compose(self):
        with TabbedContent(id="response-tabs"):
            with TabPane("Body", id="tab-rbody"):
                yield _viewer("response-body")
            with TabPane("Headers", id="tab-rheaders"):
                yield _viewer("response-headers")
            with TabPane("Return", id="tab-return"):
                yield _viewer("response-return")
            with TabPane("Warnings", id="tab-warnings"):
                yield _viewer("response-warnings")
            with TabPane("Outbox", id="tab-outbox"):
                yield _viewer("response-outbox")


class ResponseView(Vertical):
    """Shows one response; `/` searches the body, `n`/`N` step through the matches.

    | Key | Action |
    |---|---|
    | / | search the body |
    | n / N | next / previous match |
    """

    ALLOW_MAXIMIZE = True
    """alt+z (`view.maximize`) gives this pane the whole screen."""

    BINDINGS = bindings("response")

    DEFAULT_CSS = """
    ResponseView { height: 1fr; }
    ResponseView #status-line { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap;
                                text-overflow: ellipsis; }
    ResponseView #status-line.status-2xx { color: $success; }
    ResponseView #status-line.status-3xx { color: $accent; }
    ResponseView #status-line.status-4xx { color: $warning; }
    ResponseView #status-line.status-5xx { color: $error; }
    ResponseView #status-line.-failed { color: $error; }
    ResponseView #timing-bar { height: 1; padding: 0 1; display: none; }
    ResponseView #timing-bar.-shown { display: block; }
    ResponseView #response-search { display: none; }
    ResponseView #response-search.-active { display: block; }
    ResponseView TabbedContent { height: 1fr; }
    ResponseView TextArea { height: 1fr; }
    """

    response: reactive[ResponseData | None] = reactive(None, init=False, always_update=True)
    """The answer shown; setting it fills every tab (`watch_response`)."""
    function_id: reactive[str | None] = reactive(None, init=False)
    """The function whose response this pane shows (named in the title)."""

    def __init__(self, *, show_timing: bool = True, mask=None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mask = mask or (lambda text: text)
        self.show_timing = show_timing
        self.matches: list[tuple[int, int]] = []
        self.match_index = -1
        self.border_title = "RESPONSE"

    def compose(self):
        yield Static("no response yet · ctrl+j sends", id="status-line", markup=False)
        yield Static("", id="timing-bar", markup=False)
        yield Input(placeholder="search body… (enter)", id="response-search", compact=True)
        yield Lazy(ResponseTabs())  # after the first frame (startup budget, STYLE.md §6)

    def show_pending(self, label: str) -> None:
        line = self.query_one("#status-line", Static)
        line.update(f"sending {label}…")
        line.set_classes("-pending")

    def show_failure(self, reason: str) -> None:
        line = self.query_one("#status-line", Static)
        line.update(f"studio error: {reason}")
        line.set_classes("-failed")

    def show(self, response: ResponseData) -> None:
        if response.function_id is not None:
            self.function_id = response.function_id
        self.response = response

    def show_for(self, function_id: str | None, response: ResponseData | None) -> None:
        """The pane of one function: its last response, or an empty pane that says none came yet."""
        self.function_id = function_id
        self.response = response

    def watch_function_id(self, function_id: str | None) -> None:
        self._title()

    def _title(self) -> None:
        from textual.markup import escape  # a border title is markup; `users/[id]` is a name

        function_id, response = self.function_id, self.response
        if response is not None and response.recorded:
            self.border_title = f"RECORDED RUN · {escape(function_id or '?')} · {escape(response.recorded)}"
        else:
            self.border_title = f"RESPONSE · {escape(function_id)}" if function_id else "RESPONSE"

    def watch_response(self, response: ResponseData | None) -> None:
        if not self.is_attached or not self.query("#status-line"):
            return  # an answer that arrives while the studio closes: nothing left to show it in
        self._title()
        if not self.query("#response-body"):  # the lazy tabs are not in yet: fill them once they are
            self.call_after_refresh(self.watch_response, response)
            return
        if response is None:
            self._clear()
            return
        status = response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        parts = [f"{status} {phrase}".strip()]
        if self.show_timing and response.duration_ms is not None:
            parts.append(f"{response.duration_ms:.1f} ms")
        parts.append(human_size(len(response.body)))
        if response.app_path is not None:
            parts.append(f"app saw {response.app_path}")
        if response.warnings:
            parts.append(f"⚠ {len(response.warnings)} parity warning{'s' if len(response.warnings) > 1 else ''}")
        if response.error:
            parts.append(f"✖ {response.error.get('type', 'error')}")
        line = self.query_one("#status-line", Static)
        line.update(" · ".join(parts))
        line.set_classes(status_class(status))
        bar = self.query_one("#timing-bar", Static)
        shown = self.show_timing and bool(response.phases)
        bar.update(timing_text(response.phases) if shown else "")
        bar.set_class(shown, "-shown")

        text, is_json = pretty_body(response.body, response.headers)
        text = self.mask(text)
        body = self.query_one("#response-body", TextArea)
        big = text.count("\n") > LARGE_FILE_LINES
        body.language = "json" if is_json and not big and language_available("json") else None
        body.load_text(text)
        self.query_one("#response-headers", TextArea).load_text(
            self.mask("\n".join(f"{k}: {v}" for k, v in response.headers)))
        ret = response.return_value
        if ret is not None:
            try:
                ret = json.dumps(json.loads(ret), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        self.query_one("#response-return", TextArea).load_text(ret if ret is not None else "(no return value)")
        self.query_one("#response-warnings", TextArea).load_text(
            "\n\n".join(f"{w.get('id', '')}: {w.get('message', '')}" + (f"\nfix: {w['fix']}" if w.get("fix") else "")
                        for w in response.warnings) or "(no parity warnings)")
        self.query_one("#response-outbox", TextArea).load_text(
            json.dumps(response.outbox, indent=2, ensure_ascii=False) if response.outbox else "(no mail sent)")
        tabs = self.query_one("#response-tabs", TabbedContent)
        tabs.get_tab("tab-warnings").label = f"Warnings ({len(response.warnings)})" if response.warnings \
            else "Warnings"
        self.matches = []
        self.match_index = -1

    def _clear(self) -> None:
        line = self.query_one("#status-line", Static)
        who = f" for {self.function_id}" if self.function_id else ""
        line.update(f"no response yet{who} · ctrl+j sends")
        line.set_classes("")
        self.query_one("#timing-bar", Static).set_class(False, "-shown")
        for viewer in ("#response-body", "#response-headers", "#response-return", "#response-warnings",
                       "#response-outbox"):
            self.query_one(viewer, TextArea).load_text("")
        self.matches = []
        self.match_index = -1

    # -- search --------------------------------------------------------------------------

    def action_start_search(self) -> None:
        search = self.query_one("#response-search", Input)
        search.add_class("-active")
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "response-search":
            return
        event.stop()
        self.search(event.value)
        self.query_one("#response-body", TextArea).focus()

    def search(self, needle: str) -> int:
        """Find every match of `needle` in the body (case-insensitive); selects the first. Returns the count."""
        body = self.query_one("#response-body", TextArea)
        self.matches = []
        if needle:
            lowered = needle.lower()
            for row, line in enumerate(body.text.splitlines()):
                start = line.lower().find(lowered)
                while start != -1:
                    self.matches.append((row, start))
                    start = line.lower().find(lowered, start + 1)
        self.match_index = -1
        self._needle = needle
        self.query_one("#response-tabs", TabbedContent).active = "tab-rbody"
        if self.matches:
            self.action_next_match()
        else:
            self.notify(f"no match for {needle!r}", severity="warning")
        return len(self.matches)

    def _select_match(self) -> None:
        from textual.widgets.text_area import Selection

        row, col = self.matches[self.match_index]
        body = self.query_one("#response-body", TextArea)
        body.selection = Selection((row, col), (row, col + len(self._needle)))
        body.scroll_cursor_visible(center=True)

    def action_next_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index + 1) % len(self.matches)
            self._select_match()

    def action_previous_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index - 1) % len(self.matches)
            self._select_match()

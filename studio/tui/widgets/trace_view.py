"""The trace view: frames as Python prints them (most recent call last), runtime and framework frames folded, locals per frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from studio.tui.actions import bindings

ORDER = "Traceback (most recent call last)"


def order_frames(frames: list[dict], show_folded: bool) -> list[tuple[int, dict]]:
    """(original index, frame) in the order Python prints a traceback, the most recent call last;
    folded, only the user's own frames."""
    return [(index, frame) for index, frame in enumerate(frames) if show_folded or frame.get("is_user", True)]


def raising_row(rows: list[tuple[int, dict]]) -> int:
    """The row of the frame that raised in the user's code (the last user frame), else the last."""
    for position in range(len(rows) - 1, -1, -1):
        if rows[position][1].get("is_user", True):
            return position
    return max(len(rows) - 1, 0)


class TraceView(Vertical):
    """A frame list (pointer) beside the frame's source and locals (detail), as Toolong shows lines. The
    frames read as Python prints them (most recent call last, the title says so); the one that raised
    in the user's code is selected.

    | Key | Action |
    |---|---|
    | enter | open the frame's file and line in the editor |
    | f | show or hide runtime and framework frames |
    """

    BINDINGS = bindings("trace")

    DEFAULT_CSS = """
    TraceView { height: 1fr; }
    TraceView #trace-title { height: 1; padding: 0 1; color: $error; text-style: bold; }
    TraceView #trace-body { height: 1fr; }
    TraceView #trace-frames, TraceView #trace-frames:focus { width: 1fr; height: 1fr; border: none; }
    TraceView #trace-detail { width: 1fr; height: 1fr; padding: 0 1; background: $surface; overflow-y: auto; }
    """

    @dataclass
    class FrameOpened(Message):
        view: TraceView
        file: str
        line: int

        @property
        def control(self) -> TraceView:
            return self.view

    def __init__(self, root: Path | None = None, *, mask=None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.mask = mask or (lambda text: text)
        self.error: dict | None = None
        self.show_folded = False
        self.rows: list[tuple[int, dict]] = []

    def compose(self):
        yield Static("no trace: the last invocation did not raise", id="trace-title", markup=False)
        with Horizontal(id="trace-body"):
            yield OptionList(id="trace-frames")
            yield Static("", id="trace-detail", markup=False)

    def show_error(self, error: dict | None) -> None:
        self.error = error
        title = self.query_one("#trace-title", Static)
        if not error:
            title.update("no trace: the last invocation did not raise")
        else:
            title.update(self.mask(f"{error.get('type', 'Error')}: {error.get('message', '')}  · {ORDER}"))
        self._fill()

    def _fill(self) -> None:
        frames = (self.error or {}).get("frames") or []
        self.rows = order_frames(frames, self.show_folded)
        options = self.query_one("#trace-frames", OptionList)
        options.clear_options()
        folded = sum(1 for f in frames if not f.get("is_user", True))
        for _index, frame in self.rows:
            label = Text()
            style = "" if frame.get("is_user", True) else "dim"
            label.append(f"{self.display_path(frame.get('file'))}:{frame.get('line')}", style=style or "bold")
            label.append(f" in {frame.get('function')}", style="dim")
            options.add_option(Option(label))
        if folded and not self.show_folded:
            options.add_option(Option(Text(f"… {folded} runtime/framework frames folded (f)", style="dim italic"),
                                      disabled=True))
        if self.rows:  # the frame that raised is selected, as the editor would show it
            options.highlighted = raising_row(self.rows)
            self._show_detail(options.highlighted)
        else:
            self.query_one("#trace-detail", Static).update(
                self.mask((self.error or {}).get("traceback", "")) if self.error else "")

    def display_path(self, file: object) -> str:
        """Project files relative to the project root; others as the runtime gave them."""
        text = str(file)
        if self.root is not None and text.startswith(str(self.root) + "/"):
            return text[len(str(self.root)) + 1:]
        return text

    def _show_detail(self, index: int) -> None:
        if not 0 <= index < len(self.rows):
            return
        frame = self.rows[index][1]
        text = Text()
        text.append(f"{self.display_path(frame.get('file'))}:{frame.get('line')} in {frame.get('function')}\n",
                    style="bold")
        if frame.get("source"):
            text.append(f"  {frame['source'].strip()}\n\n", style="yellow")
        local_vars = frame.get("locals") or {}
        if local_vars:
            text.append("locals\n", style="bold underline")
            for name, value in local_vars.items():
                text.append(f"  {name}", style="cyan")
                text.append(f" = {self.mask(str(value))}\n")
        else:
            text.append("(no locals)", style="dim")
        self.query_one("#trace-detail", Static).update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open_frame(event.option_index)

    def open_frame(self, index: int | None = None) -> bool:
        if index is None:
            index = self.query_one("#trace-frames", OptionList).highlighted
        if index is None or not 0 <= index < len(self.rows):
            return False
        frame = self.rows[index][1]
        self.post_message(self.FrameOpened(self, str(frame.get("file")), int(frame.get("line") or 1)))
        return True

    def action_open_frame(self) -> None:
        self.open_frame()

    def action_toggle_folded(self) -> None:
        self.show_folded = not self.show_folded
        self._fill()

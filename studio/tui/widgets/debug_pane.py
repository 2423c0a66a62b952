"""The debug pane: where a paused invocation stands (stack, expandable locals), watches evaluated in
the selected frame, and the session breakpoints. It shows `studio.runtime.debug` values only; the
app's debugging mixin (studio/tui/debugging.py) sends the commands."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static, Tree
from textual.widgets.option_list import Option

MAX_WATCHES = 12


class DebugPane(Vertical):
    DEFAULT_CSS = """
    DebugPane { height: 1fr; }
    DebugPane #debug-title { height: 1; padding: 0 1; text-style: bold; }
    DebugPane #debug-title.-paused { color: $warning; }
    DebugPane #debug-body { height: 1fr; }
    DebugPane #debug-left, DebugPane #debug-right { width: 1fr; height: 1fr; }
    DebugPane .debug-heading { height: 1; padding: 0 1; color: $text-muted; }
    DebugPane #debug-stack, DebugPane #debug-stack:focus { height: 2fr; border: none; }
    DebugPane #debug-breakpoints, DebugPane #debug-breakpoints:focus { height: 1fr; border: none; }
    DebugPane #debug-locals { height: 1fr; }
    DebugPane #debug-eval { height: 3; }
    DebugPane #debug-watches { height: auto; max-height: 8; padding: 0 1; }
    """

    @dataclass
    class FrameChosen(Message):
        pane: DebugPane
        request_id: str
        index: int
        file: str
        line: int

        @property
        def control(self) -> DebugPane:
            return self.pane

    @dataclass
    class EvaluateWanted(Message):
        pane: DebugPane
        expression: str

        @property
        def control(self) -> DebugPane:
            return self.pane

    @dataclass
    class BreakpointChosen(Message):
        pane: DebugPane
        file: str
        line: int

        @property
        def control(self) -> DebugPane:
            return self.pane

    def __init__(self, root: Path, *, mask=None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = Path(root)
        self.mask = mask or (lambda text: text)
        self.pause = None
        self.status = ""
        self.watches: list[str] = []
        self.watch_values: dict[str, str] = {}
        self.breakpoints: list = []

    def compose(self):
        yield Static("not paused", id="debug-title", markup=False)
        with Horizontal(id="debug-body"):
            with Vertical(id="debug-left"):
                yield Static("Stack (enter: select frame)", classes="debug-heading", markup=False)
                yield OptionList(id="debug-stack")
                yield Static("Breakpoints (enter: open)", classes="debug-heading", markup=False)
                yield OptionList(id="debug-breakpoints")
            with Vertical(id="debug-right"):
                yield Static("Locals", classes="debug-heading", markup=False)
                tree: Tree = Tree("locals", id="debug-locals")
                tree.show_root = False
                yield tree
                yield Input(placeholder="watch / evaluate in the selected frame (enter)", id="debug-eval")
                yield Static("", id="debug-watches", markup=False)

    # -- what is shown ---------------------------------------------------------------------------

    def relative(self, file: str) -> str:
        try:
            relative = os.path.relpath(file, self.root)
        except ValueError:
            return self.mask(file)
        return self.mask(file) if relative.startswith("..") else relative

    def show_pause(self, pause) -> None:
        self.pause = pause
        self._title()
        stack = self.query_one("#debug-stack", OptionList)
        stack.clear_options()
        options = []
        for i, frame in enumerate(pause.stack):
            marker = "▶ " if i == pause.index else "  "
            text = Text(f"{marker}{frame.function}  {self.relative(frame.file)}:{frame.line}",
                        style="" if frame.is_user else "dim")
            options.append(Option(text, id=f"frame-{i}"))
        stack.add_options(options)
        stack.highlighted = pause.index
        self._locals(pause)

    def show_resumed(self) -> None:
        self.pause = None
        self._title()
        self.query_one("#debug-stack", OptionList).clear_options()
        self.query_one("#debug-locals", Tree).root.remove_children()

    def set_status(self, status: str) -> None:
        self.status = status
        self._title()

    def show_breakpoints(self, breakpoints) -> None:
        self.breakpoints = list(breakpoints)
        view = self.query_one("#debug-breakpoints", OptionList)
        view.clear_options()
        view.add_options([Option(Text(f"● {self.relative(b.file)}:{b.line}"
                                      + (f"  if {b.condition}" if b.condition else "")))
                          for b in self.breakpoints] or [Option("(none: alt+b or alt+k on an editor line sets one)",
                                                                disabled=True)])

    def show_watch(self, expression: str, value: str) -> None:
        self.watch_values[expression] = value
        self._watches()

    def _title(self) -> None:
        title = self.query_one("#debug-title", Static)
        pause = self.pause
        if pause is None:
            title.update(f"not paused · {self.status}" if self.status else "not paused")
            title.set_class(False, "-paused")
            return
        frame = pause.frame
        why = {"breakpoint": "breakpoint", "step": "step", "return": f"return {pause.return_value}",
               "exception": f"exception {pause.exception}"}.get(pause.reason, pause.reason)
        title.update(f"paused ({why}) at {self.relative(frame.file)}:{frame.line} in {frame.function}"
                     f" · {pause.function_id or ''}" + (f" · {self.status}" if self.status else ""))
        title.set_class(True, "-paused")

    def _locals(self, pause) -> None:
        tree = self.query_one("#debug-locals", Tree)
        tree.root.remove_children()
        for variable in pause.locals:
            label = Text.assemble((variable.name, "bold"), f": {variable.type} = ", variable.value)
            if variable.children:
                node = tree.root.add(label, expand=False)
                for child in variable.children:
                    node.add_leaf(Text.assemble((child.name, "bold"), f": {child.type} = ", child.value))
            else:
                tree.root.add_leaf(label)

    def _watches(self) -> None:
        lines = [f"{expr} = {self.watch_values.get(expr, '…')}" for expr in self.watches]
        self.query_one("#debug-watches", Static).update("\n".join(lines))

    # -- input -----------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "debug-eval":
            return
        event.stop()
        expression = event.value.strip()
        event.input.value = ""
        if not expression:
            return
        if expression in self.watches:
            self.watches.remove(expression)
        self.watches.append(expression)
        del self.watches[:-MAX_WATCHES]
        self._watches()
        self.post_message(self.EvaluateWanted(self, expression))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "debug-stack" and self.pause is not None:
            index = event.option_index
            frame = self.pause.stack[index]
            self.post_message(self.FrameChosen(self, self.pause.request_id, index, frame.file, frame.line))
        elif event.option_list.id == "debug-breakpoints" and event.option_index < len(self.breakpoints):
            chosen = self.breakpoints[event.option_index]
            self.post_message(self.BreakpointChosen(self, chosen.file, chosen.line))

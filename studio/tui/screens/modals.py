"""Small modal screens: confirm, prompt, pick one, help, error and diff."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

_MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 80%; max-width: 100; height: auto; max-height: 90%; border: thick $primary;
                    background: $panel; padding: 1 2; }}
{name} > Vertical > Label {{ width: 100%; }}  /* a long question wraps instead of running off the edge */
{name} .buttons {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} Button {{ margin-left: 1; min-width: 8; }}  /* four choices still fit an 80-column terminal */
"""


class ConfirmScreen(ModalScreen[str]):
    """Asks what to do about unsaved changes (or any yes/no); dismisses with the chosen button id."""

    DEFAULT_CSS = _MODAL_CSS.format(name="ConfirmScreen")
    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel", id="modal.cancel")]

    def __init__(self, message: str, choices: tuple[tuple[str, str], ...], default: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.choices = choices
        self.default = default
        """The button focused first (the first one when None)."""

    def compose(self):
        with Vertical():
            yield Label(Text(self.message))  # plain text: `users/[id].py` keeps its brackets
            with Horizontal(classes="buttons"):
                for button_id, label in self.choices:
                    yield Button(label, id=button_id, variant="primary" if button_id == "save" else "default")

    def on_mount(self) -> None:
        buttons = self.query(Button)
        chosen = [b for b in buttons if b.id == self.default]
        (chosen[0] if chosen else buttons.first()).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class JoinedPasteInput(Input):
    """An Input that keeps every line of a paste, joined into one (shell line continuations
    removed); a plain Input keeps only the first line, which cut a browser's multi-line
    "Copy as cURL" down to its URL."""

    def _on_paste(self, event: events.Paste) -> None:
        from studio.tui.curl import join_lines

        if event.text:
            line = join_lines(event.text)
            if self.selection.is_empty:
                self.insert_text_at_cursor(line)
            else:
                self.replace(line, *self.selection)
        event.prevent_default()  # Input's own handler would paste the first line again
        event.stop()


class PromptScreen(ModalScreen[str | None]):
    """One line of input; dismisses with the text, or None on escape."""

    DEFAULT_CSS = _MODAL_CSS.format(name="PromptScreen")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="modal.cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "", *, join_pasted_lines: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.join_pasted_lines = join_pasted_lines

    def compose(self):
        with Vertical():
            yield Label(Text(self.title_text))
            field = JoinedPasteInput if self.join_pasted_lines else Input
            yield field(self.value, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class PickScreen(ModalScreen[str | None]):
    """Pick one of a list; dismisses with its id, or None."""

    DEFAULT_CSS = _MODAL_CSS.format(name="PickScreen")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="modal.cancel")]

    def __init__(self, title: str, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.items = items

    def compose(self):
        with Vertical():
            yield Label(Text(self.title_text))
            yield OptionList(*[Option(Text(label), id=item_id) for item_id, label in self.items], id="pick-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class TextScreen(ModalScreen[None]):
    """Read-only text (errors with their traceback, diffs); escape or q closes."""

    DEFAULT_CSS = _MODAL_CSS.format(name="TextScreen") + """
    TextScreen > Vertical { height: 90%; }
    TextScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close", id="modal.close")]

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self):
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            with VerticalScroll():
                yield Static(self.body, id="text-body", markup=False)


def key_display(keys: str) -> str:
    """'question_mark,f1' as '?, f1' and 'ctrl+right_square_bracket' as 'ctrl+]': what is on the keyboard."""
    from textual.keys import format_key

    def one(key: str) -> str:
        *modifiers, base = key.strip().split("+")
        return "+".join([*modifiers, format_key(base)])

    return ", ".join(one(key) for key in keys.split(","))


class HelpScreen(ModalScreen[None]):
    """Every binding from the action registry: keys, id and what it does."""

    DEFAULT_CSS = _MODAL_CSS.format(name="HelpScreen") + """
    HelpScreen > Vertical { height: 90%; }
    HelpScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss(None)", "Close", id="modal.close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self):
        with Vertical():
            yield Label(Text("Keys · remap any id under [keymap] in funcstudio.toml", style="bold"))
            table: DataTable = DataTable(id="help-table", cursor_type="row")
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # what a key does before its id: at 80 columns the ids would push it off the edge
        table.add_columns("keys", "what it does", "id")
        for keys, binding_id, tooltip in self.rows:
            table.add_row(key_display(keys), tooltip, binding_id)
        table.focus()

"""The saved requests (`.http` files) to pick from: the shown function's first, a filter, an environment.

Dismisses with `(key, environment)` where key is `file.http#label`, or None on escape.

| key    | does                                   |
|--------|----------------------------------------|
| enter  | load the highlighted request           |
| ctrl+e | next environment (none, then each one) |
| up/down| move in the list while typing a filter   |
| escape | close                                  |
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from studio.tui.saved_requests import Catalog, SavedEntry


class RequestsScreen(ModalScreen[tuple[str, str | None] | None]):
    DEFAULT_CSS = """
    RequestsScreen { align: center middle; }
    RequestsScreen > Vertical {
        width: 90%; max-width: 120; height: 80%; border: round $primary; background: $surface; padding: 0 1;
    }
    RequestsScreen #requests-list { height: 1fr; }
    RequestsScreen .dim { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="modal.cancel"),
        Binding("ctrl+e", "next_environment", "Environment", id="requests.environment", priority=True,
                tooltip="Fill {{variables}} from the next environment of http-client.env.json."),
        Binding("down", "cursor_down", "Down", show=False, id="requests.down", priority=True),
        Binding("up", "cursor_up", "Up", show=False, id="requests.up", priority=True),
    ]

    def __init__(self, catalog: Catalog, folder: str, function_id: str | None, environment: str | None) -> None:
        super().__init__()
        self.catalog = catalog
        self.folder = folder
        self.function_id = function_id
        self.environment = environment if environment in catalog.environments else None

    def compose(self):
        with Vertical():
            yield Label(self._title(), id="requests-title")
            yield Input(placeholder="filter: file, name, method or path", id="requests-filter")
            yield OptionList(id="requests-list")
            if self.catalog.problems:
                yield Label(Text("\n".join(self.catalog.problems[:4]), style="yellow"), id="requests-problems")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#requests-filter", Input).focus()

    def _title(self) -> Text:
        env = self.environment or "none"
        names = ", ".join(self.catalog.environments) or "none defined"
        return Text(f"Saved requests in {self.folder}/  ·  environment: {env} (ctrl+e; {names})")

    def _ordered(self) -> list[SavedEntry]:
        mine = [e for e in self.catalog.entries if self.function_id and e.function_id == self.function_id]
        return mine + [e for e in self.catalog.entries if e not in mine]

    def _fill(self, text: str) -> None:
        words = text.lower().split()
        options = []
        for entry in self._ordered():
            line = f"{entry.key}  {entry.request.method} {entry.request.url}"
            if all(word in line.lower() or word in entry.request.name.lower() for word in words):
                mark = "● " if self.function_id and entry.function_id == self.function_id else "  "
                label = Text(mark)
                label.append(entry.key, style="bold")
                label.append(f"  {entry.request.method} {entry.request.url}", style="dim")
                options.append(Option(label, id=entry.key))
        listing = self.query_one("#requests-list", OptionList)
        listing.clear_options()
        if options:
            listing.add_options(options)
            listing.highlighted = 0
        else:
            empty = ("no saved requests yet: alt+s saves the shown request" if not self.catalog.entries
                     else "nothing matches the filter")
            listing.add_option(Option(Text(empty, style="dim"), disabled=True))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        listing = self.query_one("#requests-list", OptionList)
        if listing.highlighted is not None:
            option = listing.get_option_at_index(listing.highlighted)
            if option.id is not None:
                self.dismiss((option.id, self.environment))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss((event.option.id, self.environment))

    def action_cursor_down(self) -> None:
        self.query_one("#requests-list", OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#requests-list", OptionList).action_cursor_up()

    def action_next_environment(self) -> None:
        cycle = [None, *self.catalog.environments]
        self.environment = cycle[(cycle.index(self.environment) + 1) % len(cycle)]
        self.query_one("#requests-title", Label).update(self._title())

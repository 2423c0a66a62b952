"""Jump mode (Posting's ctrl+o): a letter over every pane and field; pressing it moves the focus there."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.geometry import Offset
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class JumpTarget:
    key: str
    """One lowercase letter."""
    label: str
    at: Offset
    """Where the label goes (the target's top-left corner, or its tab's)."""


class JumpScreen(ModalScreen[str | None]):
    """Dismisses with the chosen target's key, or None (escape or any other key)."""

    DEFAULT_CSS = """
    JumpScreen { background: $background 40%; }
    JumpScreen > .jump-label { position: absolute; width: auto; height: 1; padding: 0 1;
                               background: $accent; color: $text; text-style: bold; }
    JumpScreen > #jump-help { dock: bottom; height: 1; width: 100%; background: $panel; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="jump.cancel")]

    def __init__(self, targets: list[JumpTarget]) -> None:
        super().__init__()
        self.targets = targets
        self.typed_ahead: list[events.Key] = []
        """Keys that came after the letter, before the screen was gone: they belong to the chosen field."""
        self._answered = False

    def compose(self):
        for target in self.targets:
            label = Static(target.key, classes="jump-label", markup=False)
            label.styles.offset = (target.at.x, target.at.y)
            yield label
        legend = " · ".join(f"{t.key} {t.label}" for t in self.targets)
        yield Static(f"jump: {legend} · escape cancels", id="jump-help", markup=False)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if self._answered:  # a second dismiss would pop the screen under this one
            self.typed_ahead.append(event)
            return
        self._answered = True
        keys = {t.key for t in self.targets}
        self.dismiss(event.character if event.character in keys else None)

"""One profiled invocation: the top functions by cumulative time; Enter opens a row's source."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

HEADER = f"{'cumulative':>12} {'own':>10} {'calls':>7}  function"


class ProfileView(Vertical):
    DEFAULT_CSS = """
    ProfileView { height: 1fr; }
    ProfileView #profile-title { height: 1; padding: 0 1; text-style: bold; }
    ProfileView #profile-header { height: 1; padding: 0 1; color: $text-muted; }
    ProfileView #profile-rows, ProfileView #profile-rows:focus { height: 1fr; border: none; }
    """

    @dataclass
    class SourceWanted(Message):
        view: ProfileView
        file: str
        line: int

        @property
        def control(self) -> ProfileView:
            return self.view

    def __init__(self, root: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = Path(root)
        self.rows: list[dict] = []

    def compose(self):
        yield Static("no profile yet · alt+p profiles the next request you send", id="profile-title",
                     markup=False)
        yield Static(HEADER, id="profile-header", markup=False)
        yield OptionList(id="profile-rows")

    def show(self, rows: list[dict], what: str) -> None:
        self.rows = list(rows)
        self.query_one("#profile-title", Static).update(
            f"profile of {what} · top {len(self.rows)} by cumulative time · enter opens the source")
        view = self.query_one("#profile-rows", OptionList)
        view.clear_options()
        view.add_options([Option(self._row_text(row)) for row in self.rows])
        if self.rows:
            view.highlighted = 0

    def _row_text(self, row: dict) -> Text:
        where = row.get("file") or ""
        if where and not where.startswith("<"):
            relative = os.path.relpath(where, self.root)
            where = relative if not relative.startswith("..") else where
        location = f"  {where}:{row.get('line')}" if where else ""
        text = (f"{row.get('cumtime_ms', 0.0):>9.2f} ms {row.get('tottime_ms', 0.0):>7.2f} ms "
                f"{row.get('calls', 0):>7}  {row.get('function')}{location}")
        return Text(text, style="bold" if row.get("is_user") else "")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        row = self.rows[event.option_index] if event.option_index < len(self.rows) else None
        if row and row.get("file") and not str(row["file"]).startswith("<"):
            self.post_message(self.SourceWanted(self, str(row["file"]), int(row.get("line") or 1)))

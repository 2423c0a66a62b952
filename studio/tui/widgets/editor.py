"""The code editor: a TextArea with a title bar, a dirty marker against a saved baseline, and saves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea
from textual.worker import get_current_worker

from studio.tui.syntax import pick_language


class CodeEditor(Vertical):
    """Edits one project file at a time.

    `dirty` compares the text with the last loaded or saved text, because TextArea's `Changed`
    also fires on `load_text`.
    """

    DEFAULT_CSS = """
    CodeEditor { height: 1fr; }
    CodeEditor > #editor-title { height: 1; background: $boost; padding: 0 1; }
    CodeEditor > #editor-title.-dirty { color: $warning; }
    CodeEditor > TextArea, CodeEditor > TextArea:focus { height: 1fr; border: none; }
    """

    @dataclass
    class Saved(Message):
        editor: CodeEditor
        file: str

        @property
        def control(self) -> CodeEditor:
            return self.editor

    @dataclass
    class SaveFailed(Message):
        editor: CodeEditor
        file: str
        reason: str

        @property
        def control(self) -> CodeEditor:
            return self.editor

    def __init__(self, root: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = Path(root)
        self.file: str | None = None
        self.baseline = ""
        self.notice: str | None = None

    def compose(self):
        yield Static("no file open · select a route", id="editor-title", markup=False)
        yield TextArea.code_editor("", language=None, id="code", soft_wrap=False)

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#code", TextArea)

    @property
    def dirty(self) -> bool:
        return self.file is not None and self.text_area.text != self.baseline

    def open(self, file: str, line: int | None = None) -> str | None:
        """Load a project-relative file; returns a notice (highlighting off, read error) or None."""
        path = self.root / file
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot open {file}: {exc}"
        area = self.text_area
        language, notice = pick_language("python" if file.endswith(".py") else None, text.count("\n") + 1)
        area.language = language
        area.load_text(text)
        self.file = file
        self.baseline = text
        self.notice = notice
        area.read_only = False
        self._refresh_title()
        if line:
            self.goto(line)
        return notice

    def goto(self, line: int) -> None:
        area = self.text_area
        row = max(0, min(line - 1, area.document.line_count - 1))
        # the cursor only: a selected line would be replaced by the first key typed
        area.move_cursor((row, 0), center=True)

    def save(self) -> None:
        if self.file is None:
            return
        self._write(self.file, self.text_area.text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def _write(self, file: str, text: str) -> None:
        try:
            (self.root / file).write_text(text, encoding="utf-8")
        except OSError as exc:
            self.post_message(self.SaveFailed(self, file, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.WriteDone(file, text))

    @dataclass
    class WriteDone(Message):
        file: str
        text: str

    def on_code_editor_write_done(self, message: WriteDone) -> None:
        message.stop()
        if message.file == self.file:
            self.baseline = message.text
            self._refresh_title()
        self.post_message(self.Saved(self, message.file))

    def reload_from_disk(self) -> None:
        """After $EDITOR: take the file's new text, keeping the cursor row."""
        if self.file is None:
            return
        row = self.text_area.cursor_location[0]
        self.open(self.file, row + 1)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._refresh_title()

    def _refresh_title(self) -> None:
        title = self.query_one("#editor-title", Static)
        if self.file is None:
            title.update("no file open · select a route")
            return
        marker = " ● modified" if self.dirty else ""
        extra = f"  ({self.notice})" if self.notice else ""
        title.update(f"{self.file}{marker}{extra}")
        title.set_class(self.dirty, "-dirty")

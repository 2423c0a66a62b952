"""The code editor: a TextArea with a title bar, a dirty marker against a saved baseline, and saves
that never overwrite a change made on disk without asking.

The editor watches its file (a stat every second, and `check_disk()` whenever the runtime reports
a change): an outside change reloads a clean buffer and asks about a dirty one (`ChangedOnDisk`);
a save finds the file changed since it was read and asks instead of writing (`SaveConflict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea
from textual.worker import get_current_worker

from studio.tui.syntax import pick_language
from studio.tui.widgets.code_area import CodeArea


class CodeEditor(Vertical):
    """Edits one project file at a time.

    `dirty` compares the text with the last loaded or saved text, because TextArea's `Changed`
    also fires on `load_text`. `disk_text` is the file as last read or written by the editor: a
    file whose content differs from it was changed by someone else.
    """

    ALLOW_MAXIMIZE = True
    """alt+z (`view.maximize`) gives this pane the whole screen."""

    WATCH_INTERVAL_S = 1.0

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
    class ChangedOnDisk(Message):
        """The open file changed on disk while the buffer has unsaved edits: the app asks what to do."""

        editor: CodeEditor
        file: str
        disk_text: str

        @property
        def control(self) -> CodeEditor:
            return self.editor

    @dataclass
    class Reloaded(Message):
        """A clean buffer took the file's new text after an outside change."""

        editor: CodeEditor
        file: str

        @property
        def control(self) -> CodeEditor:
            return self.editor

    @dataclass
    class SaveConflict(Message):
        """ctrl+s found the file changed on disk since it was read: nothing was written."""

        editor: CodeEditor
        file: str
        disk_text: str

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

    def __init__(self, root: Path, *, follow_disk: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.follow_disk = follow_disk
        """Stat the file every second (off in tests: they call `check_disk()` themselves)."""
        self.root = Path(root)
        self.file: str | None = None
        self.baseline = ""
        self.disk_text: str | None = None
        self._disk_stamp: tuple[int, int] | None = None
        self._asking = False
        """A ChangedOnDisk question is open: do not ask again for the same change."""
        self.notice: str | None = None

    def on_mount(self) -> None:
        if self.follow_disk:
            self.set_interval(self.WATCH_INTERVAL_S, self.check_disk)

    def compose(self):
        yield Static("no file open · select a route (ctrl+f finds one)", id="editor-title", markup=False)
        # read-only until a file opens: typing there belonged to no file and was lost with the first route
        yield CodeArea.code_editor("", language=None, id="code", soft_wrap=False, read_only=True)

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
        self.disk_text = text
        self._disk_stamp = self._stamp(file)
        self._asking = False
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

    def save(self, *, overwrite: bool = False) -> None:
        """Write the buffer; a file changed on disk since it was read gets `SaveConflict` instead,
        unless `overwrite` (the user said so)."""
        if self.file is None:
            return
        self._write(self.file, self.text_area.text, None if overwrite else self.disk_text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def _write(self, file: str, text: str, expected: str | None) -> None:
        path = self.root / file
        try:
            if expected is not None:
                current = _read(path)
                if current is not None and current != expected:
                    self.post_message(self.SaveConflict(self, file, current))
                    return
            path.write_text(text, encoding="utf-8")
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
            self.disk_text = message.text
            self._disk_stamp = self._stamp(message.file)
            self._refresh_title()
        self.post_message(self.Saved(self, message.file))

    def reload_from_disk(self) -> None:
        """Take the file's text from disk (after $EDITOR, or the user chose reload), keeping the cursor."""
        if self.file is None:
            return
        row, column = self.text_area.cursor_location
        self.open(self.file)
        area = self.text_area
        row = min(row, area.document.line_count - 1)
        area.move_cursor((row, min(column, len(area.document.get_line(row)))))

    def keep_mine(self, disk_text: str) -> None:
        """The user keeps the buffer over an outside change: the next save overwrites it knowingly."""
        self.disk_text = disk_text
        self._disk_stamp = self._stamp(self.file) if self.file else None
        self._asking = False

    def check_disk(self) -> None:
        """Compare the file on disk with what the editor last read or wrote; act on an outside change."""
        if self.file is None or self._asking:
            return
        stamp = self._stamp(self.file)
        if stamp == self._disk_stamp:
            return
        self._disk_stamp = stamp
        current = _read(self.root / self.file)
        if current is None or current == self.disk_text:
            return  # deleted (the save recreates it) or touched without a change
        if not self.dirty:
            self.reload_from_disk()
            self.post_message(self.Reloaded(self, self.file))
            return
        self._asking = True
        self.post_message(self.ChangedOnDisk(self, self.file, current))

    @property
    def asking(self) -> bool:
        """A question about an outside change (the watcher's or a save's) is open."""
        return self._asking

    def asking_now(self) -> None:
        """A save conflict's question is open: the watcher does not ask about the same change again."""
        self._asking = True

    def answered(self) -> None:
        """The question about the outside change is closed (whatever the answer); that change was seen."""
        self._asking = False
        if self.file is not None:
            self._disk_stamp = self._stamp(self.file)

    def _stamp(self, file: str) -> tuple[int, int] | None:
        try:
            info = (self.root / file).stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._refresh_title()

    def _refresh_title(self) -> None:
        title = self.query_one("#editor-title", Static)
        if self.file is None:
            title.update("no file open · select a route (ctrl+f finds one)")
            return
        marker = " ● modified" if self.dirty else ""
        extra = f"  ({self.notice})" if self.notice else ""
        title.update(f"{self.file}{marker}{extra}")
        title.set_class(self.dirty, "-dirty")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None

"""The editor's TextArea with a debugger gutter: a breakpoint mark per line, the paused line marked.

The marks are read from the app's debugger state at render time, so they follow the open file and
survive reloads without the editor keeping a copy.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widgets import TextArea

BREAKPOINT = Style(color="red", bold=True)
PAUSED = Style(color="yellow", bold=True)
PAUSED_LINE = Style(bgcolor="#4a3b00")



class CodeArea(TextArea):
    """Marks come from `app.debug_marks(file) -> (breakpoint lines, paused line | None)` for the
    editor's open file (`parent.file`), 1-based."""

    def edit(self, edit):
        """Every edit passes here: tell the app when it added or removed lines, so breakpoints below
        it move with their code (`app.debug_lines_shifted`)."""
        top, bottom = edit.top, edit.bottom
        removed = bottom[0] - top[0]
        result = super().edit(edit)
        delta = edit.text.count("\n") - removed
        shifted = getattr(self.app, "debug_lines_shifted", None)
        file = getattr(self.parent, "file", None)
        if delta and shifted is not None and file is not None:
            # text inserted at the very start of a line pushes that line itself down
            after = top[0] if top[1] == 0 and removed == 0 else top[0] + 1
            shifted(file, after, delta)
        return result

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        marks = getattr(self.app, "debug_marks", None)
        file = getattr(self.parent, "file", None)
        if marks is None or file is None or not self.show_line_numbers:
            return strip
        breakpoints, paused = marks(file)
        if not breakpoints and paused is None:
            return strip
        try:
            line_index, section = self.wrapped_document._offset_to_line_info[y + int(self.scroll_offset.y)]
        except (IndexError, AttributeError):
            return strip
        line = line_index + 1
        if section != 0 or (line not in breakpoints and line != paused):
            return strip
        if line == paused:
            strip = strip.apply_style(PAUSED_LINE)
        glyph, style = ("◉", BREAKPOINT) if line in breakpoints and line == paused else \
            ("●", BREAKPOINT) if line in breakpoints else ("▶", PAUSED)
        at = max(int(self.gutter_width) - 1, 0)  # the gutter's last cell: a space after the line number
        return Strip.join([strip.crop(0, at), Strip([Segment(glyph, style)], 1), strip.crop(at + 1, strip.cell_length)])

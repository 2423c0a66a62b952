"""`AfterPaint`: a placeholder for a widget nobody looks at on the first frames (a hidden tab).

Textual's `Lazy` mounts its widget from the screen's after-refresh callbacks, and the screen awaits
each of those mounts in turn before it lays out again: the lazy History, Trace, Debug and Profile
tabs (a few hundred widgets) held the log view's first layout back by about a second. An
`AfterPaint` mounts its widget only when `reveal()` is called (the bottom panel calls it once the
log view's newest page is on screen, or when its tab is opened) and awaits the mount in its
parent's message pump, so the screen keeps laying out and painting meanwhile.
"""

from __future__ import annotations

from textual.widget import Widget


class AfterPaint(Widget):
    DEFAULT_CSS = "AfterPaint { display: none; }"

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self._widget = widget
        self._revealed = False

    def reveal(self) -> None:
        """Mount the widget in place of this placeholder (once; later calls do nothing)."""
        parent = self.parent
        if self._revealed or parent is None or not self.is_attached:
            return
        self._revealed = True

        async def mount() -> None:
            if self.is_attached:
                await parent.mount(self._widget, after=self)
                await self.remove()

        parent.call_later(mount)


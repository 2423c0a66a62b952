"""The studio's side of the debugger: actions (breakpoints, continue/step/next/return/stop, profile)
and the wiring between the runtime's DebugHub, the editor's gutter and the debug pane.

`DebugActions` is mixed into StudioApp; the runtime does the debugging (studio/runtime/debug.py),
this only forwards keys and shows what the hub reports.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.css.query import NoMatches
from textual.message import Message

from studio.runtime.debug import (
    DEBUG_HEADER,
    PROFILE_HEADER,
    BreakpointError,
    DebugPaused,
    DebugResumed,
    resolve_breakpoint,
)

BREAKPOINTS_FILE = "breakpoints.json"
"""Under .funcstudio/: the studio's breakpoints, project-relative, restored when it opens again."""


@dataclass
class DebugEvent(Message):
    """A DebugPaused or DebugResumed from the runtime's bus, delivered on the UI thread."""

    event: Any


class DebugActions:
    """Debugger actions and handlers for StudioApp (it provides runtime, root, notify, open_file)."""

    _debug_current: Any = None
    """The Pause the pane shows (None when nothing is paused)."""
    _profile_next: bool = False
    _profile_label: str = ""
    _marks_cache: tuple = ((), None)

    # -- from the runtime's threads ----------------------------------------------------------------

    def forward_debug_event(self, event) -> None:
        if isinstance(event, (DebugPaused, DebugResumed)):
            self.post_message(DebugEvent(event))

    # -- state -------------------------------------------------------------------------------------

    _breakpoints_restored: bool = False
    _breakpoints_saved: list | None = None

    @property
    def debug_hub(self):
        runtime = getattr(self, "runtime", None)
        if runtime is None:
            return None
        if not self._breakpoints_restored:
            self._breakpoints_restored = True
            self._restore_breakpoints(runtime.debug)
        return runtime.debug

    # -- breakpoints survive the studio: .funcstudio/breakpoints.json -------------------------------

    def _breakpoints_file(self):
        return self.root / ".funcstudio" / BREAKPOINTS_FILE

    def _restore_breakpoints(self, hub) -> None:
        try:
            data = json.loads(self._breakpoints_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for item in data.get("breakpoints", []) if isinstance(data, dict) else []:
            try:
                hub.add(resolve_breakpoint(str(self.root / item["file"]), int(item["line"]),
                                           condition=item.get("condition")))
            except (BreakpointError, KeyError, TypeError, ValueError):
                continue  # the file or the line is gone: drop that one
        self._breakpoints_saved = hub.breakpoints()

    def _save_breakpoints(self, hub) -> None:
        current = hub.breakpoints()
        if current == self._breakpoints_saved or not self._breakpoints_file().parent.is_dir():
            return  # unchanged, or no .funcstudio/ (the store makes it, with its .gitignore)
        items = []
        for b in current:
            relative = self._project_relative(b.file)
            if relative is not None:
                items.append({"file": relative, "line": b.line, "condition": b.condition})
        try:
            self._breakpoints_file().write_text(json.dumps({"breakpoints": items}, indent=1), encoding="utf-8")
        except OSError:
            return
        self._breakpoints_saved = current

    def debug_request_headers(self) -> list[tuple[str, str]]:
        """Headers for the invoke panel's next request: the breakpoints apply, and maybe a profile."""
        headers = []
        hub = self.debug_hub
        if hub is not None and hub.spec() is not None:
            headers.append((DEBUG_HEADER, "1"))
        if self._profile_next:
            self._profile_next = False
            headers.append((PROFILE_HEADER, "1"))
        return headers

    def debug_marks(self, file: str) -> tuple[frozenset[int], int | None]:
        """(breakpoint lines, paused line) of a project-relative file, for the editor's gutter."""
        key, marks = self._marks_cache
        hub = self.debug_hub
        path = os.path.realpath(self.root / file)
        version = (path, tuple(hub.breakpoints()) if hub is not None else (), self._debug_current)
        if key == version:
            return marks
        lines = frozenset(b.line for b in version[1] if b.file == path)
        pause = self._debug_current
        paused = pause.frame.line if pause is not None and pause.frame.file == path else None
        self._marks_cache = (version, (lines, paused))
        return lines, paused

    def debug_lines_shifted(self, file: str, after: int, delta: int) -> None:
        """The editor added or removed lines below line `after` (1-based) of a project file."""
        hub = self.debug_hub
        if hub is not None and hub.breakpoints():
            hub.shift_lines(str(self.root / file), after, delta)
            self._refresh_debug_views()

    def _debug_pane(self):
        from studio.tui.widgets.debug_pane import DebugPane

        try:
            return self.query_one(DebugPane)
        except NoMatches:
            return None

    def _refresh_debug_views(self) -> None:
        from studio.tui.widgets.editor import CodeEditor

        hub = self.debug_hub
        pane = self._debug_pane()
        if hub is not None:
            self._save_breakpoints(hub)
        if pane is not None and hub is not None:
            pane.show_breakpoints(hub.breakpoints())
            pane.set_status(self._debug_status())
        try:
            self.query_one(CodeEditor).text_area.refresh()
        except NoMatches:
            pass

    def _debug_status(self) -> str:
        hub = self.debug_hub
        if hub is None:
            return ""
        count = len(hub.breakpoints())
        return (f"{count} breakpoint{'s' if count != 1 else ''} · every request "
                f"{'on' if hub.all_requests else 'off (alt+a)'} · stop on exception "
                f"{'on' if hub.stop_on_exception else 'off (alt+e)'}")

    # -- actions -----------------------------------------------------------------------------------

    def action_debug_toggle_breakpoint(self) -> None:
        from studio.tui.widgets.editor import CodeEditor

        hub = self.debug_hub
        if hub is None:
            self.notify("the runtime is not running yet", severity="warning")
            return
        editor = self.query_one(CodeEditor)
        if editor.file is None:
            self.notify("open a file first: breakpoints go on an editor line", severity="warning")
            return
        line = editor.text_area.cursor_location[0] + 1
        path = self.root / editor.file
        if hub.remove(str(path), line):
            self.notify(f"breakpoint cleared at {editor.file}:{line}", timeout=2)
        else:
            try:
                hub.add(resolve_breakpoint(str(path), line))
            except BreakpointError as exc:
                self.notify(str(exc).replace(str(self.root) + os.sep, ""), severity="warning")
                return
            self.notify(f"breakpoint set at {editor.file}:{line}", timeout=2)
        self._refresh_debug_views()

    def action_debug_all_requests(self) -> None:
        hub = self.debug_hub
        if hub is None:
            return
        hub.all_requests = not hub.all_requests
        self.notify("breakpoints apply to every request (curl, browsers)" if hub.all_requests
                    else "breakpoints apply to the invoke panel's requests only", timeout=3)
        self._refresh_debug_views()

    def action_debug_stop_on_exception(self) -> None:
        hub = self.debug_hub
        if hub is None:
            return
        hub.stop_on_exception = not hub.stop_on_exception
        self.notify("stop on uncaught exceptions: " + ("on" if hub.stop_on_exception else "off"), timeout=3)
        self._refresh_debug_views()

    def action_debug_continue(self) -> None:
        self._debug_command("continue")

    def action_debug_step(self) -> None:
        self._debug_command("step")

    def action_debug_next(self) -> None:
        self._debug_command("next")

    def action_debug_return(self) -> None:
        self._debug_command("return")

    def action_debug_stop(self) -> None:
        self._debug_command("quit")

    def _debug_command(self, command: str) -> None:
        hub, pause = self.debug_hub, self._debug_current
        if hub is None or pause is None:
            self.notify("nothing is paused", severity="warning", timeout=2)
            return
        if not hub.command(pause.request_id, command):
            self.notify("that invocation is no longer paused", severity="warning", timeout=2)

    def action_debug_profile(self) -> None:
        self._profile_next = True
        self.action_send_request()

    # -- handlers ----------------------------------------------------------------------------------

    def on_debug_event(self, message: DebugEvent) -> None:
        event = message.event
        if isinstance(event, DebugPaused):
            self._show_pause(event.pause)
            return
        current = self._debug_current
        if current is not None and current.request_id == event.request_id:
            self._debug_current = None
            hub = self.debug_hub
            others = hub.paused() if hub is not None else []
            if others:
                self._show_pause(others[-1])
                return
            pane = self._debug_pane()
            if pane is not None:
                pane.show_resumed()
            self._refresh_debug_views()

    def _show_pause(self, pause) -> None:
        fresh = self._debug_current is None or self._debug_current.request_id != pause.request_id \
            or self._debug_current.frame != pause.frame
        self._debug_current = pause
        pane = self._debug_pane()
        if pane is not None:
            pane.show_pause(pause)
        self.action_show_tab("debug")
        file = self._project_relative(pause.frame.file)
        if file is not None and fresh:
            self.open_file(file, pause.frame.line)
        self._refresh_debug_views()
        if pane is not None:
            for expression in pane.watches:
                self._evaluate(pause.request_id, expression)

    def on_debug_pane_frame_chosen(self, message) -> None:
        hub = self.debug_hub
        if hub is not None:
            hub.select_frame(message.request_id, message.index)
        file = self._project_relative(message.file)
        if file is not None:
            self.open_file(file, message.line)

    def on_debug_pane_evaluate_wanted(self, message) -> None:
        pause = self._debug_current
        if pause is None:
            pane = self._debug_pane()
            if pane is not None:
                pane.show_watch(message.expression, "(not paused)")
            return
        self._evaluate(pause.request_id, message.expression)

    @work(thread=True, exit_on_error=False, group="debug-evaluate")
    def _evaluate(self, request_id: str, expression: str) -> None:
        hub = self.debug_hub
        if hub is None:
            return
        result = hub.evaluate(request_id, expression)
        pane = self._debug_pane()
        if pane is not None:
            self.call_from_thread(pane.show_watch, expression, result.text)

    def on_debug_pane_breakpoint_chosen(self, message) -> None:
        file = self._project_relative(message.file)
        if file is not None:
            self.open_file(file, message.line)

    def on_profile_view_source_wanted(self, message) -> None:
        file = self._project_relative(message.file)
        if file is None:
            self.notify(f"{message.file} is outside the project", severity="warning")
            return
        self.open_file(file, message.line)

    def debug_record_arrived(self, record, what: str) -> None:
        """The invoke panel's record: show its profile when it was a profiled run."""
        rows = list(record.profile) if record is not None else []
        if not rows:
            return
        from studio.tui.widgets.profile_view import ProfileView

        try:
            view = self.query_one(ProfileView)
        except NoMatches:
            return
        view.show(rows, what)
        self.action_show_tab("profile")

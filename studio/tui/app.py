"""The studio: route tree, editor, invoke panel and response, logs/history/trace, over the runtime.

The app is a shell over a UI-free `StudioSession` (session.py): discovery, the runtime wired to the
store exactly as `serve` wires it, and one channel to it (invoke, replay, records, inner routes,
restart, events). The first frame is composed with placeholders; the session starts in one thread
worker (`_start_services`) that posts `ProjectLoaded` and `RuntimeReady`; the store is read from the
first frame on (`StoreReady`, its readers open lazily), in parallel, and a `StoreWatcher` posts
`StoreChanged` whenever any process on the project commits to it. Workers never touch widgets: each
posts a typed message (messages.py) and an `@on` handler here owns the state. Every invocation is
the shared `InvocationRecord` view, live or from the store.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from textual import events, on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from studio.tui import actions
from studio.tui.commands import ActionProvider, RouteProvider
from studio.tui.debugging import DebugActions
from studio.tui.messages import (
    AsyncInvocationFinished,
    InvocationLoaded,
    InvokeCompleted,
    InvokeFailed,
    InvokeRequested,
    OpenLocation,
    OpenRequestWanted,
    ProjectLoaded,
    ProjectLoadFailed,
    ReplayCompleted,
    RuntimeEventReceived,
    RuntimeFailed,
    RuntimeReady,
    SaveRequestWanted,
    StoreChanged,
    StoreReady,
    StoreSaid,
)
from studio.tui.request_model import RequestSpec
from studio.tui.route_index import Entry
from studio.tui.widgets.debug_pane import DebugPane
from studio.tui.widgets.deferred import AfterPaint
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.history import HistoryView
from studio.tui.widgets.invoke_panel import InvokePanel
from studio.tui.widgets.log_view import LogsPane, LogView
from studio.tui.widgets.profile_view import ProfileView
from studio.tui.widgets.response_view import ResponseData, ResponseView
from studio.tui.widgets.route_tree import RouteTree
from studio.tui.widgets.trace_view import TraceView

UNSAVED_CHOICES = (("save", "Save"), ("discard", "Discard"), ("cancel", "Cancel"))


@dataclass(frozen=True)
class StudioOptions:
    """Switches for tests and screenshots: everything nondeterministic can be turned off."""

    fixed: bool = False
    """Hide the port, durations, timestamps and reload times; no cursor blink."""
    start_runtime: bool = True
    startup_timer: float | None = None
    """`time.perf_counter()` at process start; the app records the first-frame delay against it."""
    exit_when_ready: bool = False
    """Benchmarks: exit as soon as the first frame is interactive."""
    quiet: bool = False
    """Screenshots: no toast notifications."""


class StudioHeader(Static):
    DEFAULT_CSS = """
    StudioHeader { height: 1; background: $primary; color: $text; padding: 0 1; text-style: bold; }
    """


class StudioFooter(Footer):
    """Textual's footer, recomposed in its own message pump when the keys change: the stock one
    recomposes from the screen's after-refresh callbacks, and the screen lays out nothing else while
    its forty keys mount (at startup the focus and the keys change several times)."""

    def bindings_changed(self, screen) -> None:
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_later(self.recompose)


class BottomPanel(Vertical):
    """Logs, history and trace as tabs. Resized by key (alt+up / alt+down) or by dragging its top
    edge, and maximized over the editor and invoke panel (alt+m)."""

    ALLOW_MAXIMIZE = True
    """alt+z (`view.maximize`) gives this pane the whole screen (alt+m: the panel's own maximize)."""

    DEFAULT_CSS = """
    BottomPanel { height: auto; }
    BottomPanel.-maximized { height: 1fr; }
    BottomPanel.-maximized #bottom { height: 1fr; }
    """

    MIN_HEIGHT = 5
    STEP = 4

    def __init__(self, fixed: bool, root: Path, mask, store: tuple) -> None:
        super().__init__()
        self.fixed = fixed
        self.root = root
        self.mask = mask
        self.log_source, self.invocations = store

    @property
    def maximized(self) -> bool:
        return self.has_class("-maximized")

    def set_height(self, rows: int) -> int:
        """Give the tabs `rows` rows (clamped to the screen, leaving the header, a little of the
        editor and the footer); leaves the maximized state. Returns the height set."""
        tabs = self.query_one("#bottom", TabbedContent)
        rows = max(self.MIN_HEIGHT, min(rows, self.screen.size.height - 6))
        tabs.styles.height = rows
        self.set_maximized(False)
        return rows

    def resize(self, delta: int) -> int:
        tabs = self.query_one("#bottom", TabbedContent)
        return self.set_height(tabs.outer_size.height + delta)

    def set_maximized(self, on: bool) -> None:
        self.set_class(on, "-maximized")
        for main in self.app.query("#main"):
            main.display = not on

    def on_mouse_down(self, event) -> None:
        if event.y == 0:  # the panel's top edge is its grip
            self._dragging = True
            self.capture_mouse()
            event.stop()

    def on_mouse_move(self, event) -> None:
        if getattr(self, "_dragging", False):
            self.set_height(self.screen.size.height - 1 - event.screen_y)

    def on_mouse_up(self, event) -> None:
        if getattr(self, "_dragging", False):
            self._dragging = False
            self.release_mouse()

    def compose(self) -> ComposeResult:
        # each view reads the store itself from its mount on: nothing waits for discovery or the runtime
        with TabbedContent(id="bottom", initial="logs"):
            with TabPane("Logs", id="logs"):
                yield LogsPane(self.log_source, fixed_clock=self.fixed, mask=self.mask, id="logs-pane")
            # the other tabs mount once the log view's newest lines are on screen (`_reveal_tabs`):
            # as `Lazy` they held the screen's first layout back by about a second
            with TabPane("History", id="history"):
                yield AfterPaint(HistoryView(self.invocations, fixed_clock=self.fixed, id="history-view"))
            with TabPane("Trace", id="trace"):
                yield AfterPaint(TraceView(self.root, mask=self.mask, id="trace-view"))
            with TabPane("Debug", id="debug"):
                yield AfterPaint(DebugPane(self.root, mask=self.mask, id="debug-pane"))
            with TabPane("Profile", id="profile"):
                yield AfterPaint(ProfileView(self.root, id="profile-view"))

    REVEAL_DELAY_S = 0.2
    REVEAL_AFTER_S = 1.0
    """The other tabs mount by then even if the log view's first page never came (no store)."""

    def on_mount(self) -> None:
        self.set_timer(self.REVEAL_AFTER_S, self._reveal_tabs)

    def on_logs_pane_filtered(self, message: LogsPane.Filtered) -> None:
        # a moment after the frame that draws the newest page, so that frame is not kept waiting
        self.call_after_refresh(self.set_timer, self.REVEAL_DELAY_S, self._reveal_tabs)

    def on_tabbed_content_tab_activated(self, message: TabbedContent.TabActivated) -> None:
        self._reveal_tabs()  # a tab opened before then: now

    def _reveal_tabs(self) -> None:
        for placeholder in self.query(AfterPaint):
            placeholder.reveal()


class StudioApp(DebugActions, App):
    """`funcstudio ./project`."""

    TITLE = "funcstudio"
    CSS_PATH = Path(__file__).with_name("studio.tcss")
    BINDINGS = actions.bindings("app")
    COMMANDS = App.COMMANDS | {RouteProvider, ActionProvider}

    def __init__(self, root: str | Path, *, host: str | None = None, port: int | None = None,
                 options: StudioOptions | None = None) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.host = host
        self.port = port
        self.options = options or StudioOptions()
        self.project = None
        self.settings = None
        self._loaded_requests: dict = {}
        """function id -> the saved request (`saved_requests.LoadedRequest`) last loaded for it."""
        self._request_env: str | None = None
        self.session = None
        """The `StudioSession` (session.py), once `_start_services` made it."""
        self.sidebar_extra = 0
        """Columns alt+right / alt+left added to the route tree's width."""
        self._keymap_seen: dict | None = None
        """The keymap whose problems were said last."""
        self.store = None
        self.log_source = None
        self.url: str | None = None
        self.reload_info: str = ""
        self.store_note: str = ""
        """The recorder's last word when it is off or had to start afresh (shown in the header)."""
        self.pending_request_id: str | None = None
        self.pending_function: str | None = None
        self._after_save = None
        """What the unsaved guard runs once its save is written (dropped if the save fails or conflicts)."""
        self.last_record = None
        """The `InvocationRecord` shown last (replay's default)."""
        self._replay_running = False
        """True from ctrl+r until its diff is shown or it failed: one replay at a time."""
        self._async_results: dict[str, object] = {}
        """Async results that arrived before their 202 was handled (request id -> record)."""
        self._awaiting_async: dict[str, str | None] = {}
        """Accepted async invocations still running: request id -> the function whose view waits."""
        self.responses: dict[str | None, ResponseData] = {}
        """The last response of each function, by function id: switching back shows it again."""
        self.inner_routes: dict[str, list] = {}
        self.ready_after_s: float | None = None
        self.last_saved_response: Path | None = None
        self.status_problems: list[str] = []
        self.watcher = None

    def mask(self, text: str) -> str:
        """In fixed mode, hide what changes between runs: the port and the project's absolute path."""
        if not self.options.fixed:
            return text
        if self.url:
            text = text.replace(self.url.split("://", 1)[1], "127.0.0.1:<port>")
        return text.replace(str(self.root), "<project>")

    def notify(self, *args, **kwargs) -> None:
        """Toasts are plain text: file names such as `users/[id].py` must keep their brackets."""
        kwargs.setdefault("markup", False)
        if not self.options.quiet:
            super().notify(*args, **kwargs)

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        fixed = self.options.fixed
        yield StudioHeader(self._header_text(), id="header", markup=False)
        with Horizontal(id="main"):
            yield RouteTree(id="sidebar")
            with Vertical(id="work"):
                yield CodeEditor(self.root, follow_disk=not fixed, id="editor")
                with Horizontal(id="io"):
                    yield InvokePanel(id="invoke")
                    yield ResponseView(show_timing=not fixed, mask=self.mask, id="response")
        # the bottom panel is in the first frame, so the log view reads and paints its newest page at
        # once; its other tabs mount after that (BottomPanel._reveal_tabs); services start after the
        # first frame, so their results always find it
        yield BottomPanel(fixed, self.root, self.mask, self._open_store())
        yield StudioFooter()

    def on_mount(self) -> None:
        self._no_blink()
        self.query_one(RouteTree).show_loading()
        # after the first frame: discovery and the runtime must not compete with the first paint
        self.call_after_refresh(self._start_services)
        self.watcher.start()
        self.post_message(StoreReady((self.log_source, self.store)))

    def _open_store(self) -> tuple:
        """The store's readers, from the first frame on: they need neither discovery nor the runtime
        (their connections open on first use, in the views' workers), and the watcher notices rows
        written by any process, the studio's own recorder included."""
        from studio.store.db import db_path
        from studio.store.watch import StoreWatcher
        from studio.tui.invocation_source import InvocationSource
        from studio.tui.log_source import LogSource

        path = db_path(self.root)
        self.store = InvocationSource(path)
        self.log_source = LogSource(path)
        self.watcher = StoreWatcher(path, lambda: self.post_message(StoreChanged()))
        return self.log_source, self.store

    def _no_blink(self) -> None:
        """Fixed mode: no blinking cursors (run again once the lazy parts are in)."""
        if self.options.fixed:
            for widget in self.query("TextArea, Input"):
                widget.cursor_blink = False

    def on_ready(self) -> None:
        if self.options.startup_timer is not None:
            self.ready_after_s = time.perf_counter() - self.options.startup_timer
        if self.options.exit_when_ready:
            self.exit(self.ready_after_s)

    def _header_text(self) -> str:
        name = self.project.name if self.project is not None else self.root.name
        parts = ["funcstudio", name]
        if self.url:
            parts.append("http://127.0.0.1:<port>" if self.options.fixed else self.url)
        elif self.options.start_runtime:
            parts.append("starting runtime…")
        if self.project is not None:
            count = len(self.project.functions)
            parts.append(f"{count} function{'s' if count != 1 else ''}")
        if self.reload_info and not self.options.fixed:
            parts.append(self.reload_info)
        if self.store_note:
            parts.append(self.store_note)
        return " · ".join(parts)

    def _refresh_header(self) -> None:
        for header in self.query(StudioHeader):  # none while the app is closing
            header.update(self._header_text())

    # -- start and stop ------------------------------------------------------------------

    @property
    def runtime(self):
        return self.session.runtime if self.session is not None else None

    @property
    def recorder(self):
        return self.session.recorder if self.session is not None else None

    @work(thread=True, exclusive=True, exit_on_error=False, group="startup", description="Starting services")
    def _start_services(self) -> None:
        from studio.tui.session import StudioSession

        session = StudioSession(self.root, host=self.host, port=self.port, listener=self._on_session_event)
        try:
            project = session.load()
        except Exception as exc:  # noqa: BLE001 - shown in the UI, never a crash
            self.post_message(ProjectLoadFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.settings = session.settings
        self.session = session
        self.post_message(ProjectLoaded(project))
        if not self.options.start_runtime:
            return
        try:
            url = session.start()
        except Exception as exc:  # noqa: BLE001
            self.post_message(RuntimeFailed(f"{type(exc).__name__}: {exc}"))
            return
        if get_current_worker().is_cancelled:
            session.stop()
            return
        self.post_message(RuntimeReady(url, session.runtime))
        self.call_from_thread(self._recorder_started, session.recorder)

    def _recorder_started(self, recorder) -> None:
        """Saved requests go through the recorder, the store's one writer; the session reads records
        through the same reader as the views."""
        if self.store is not None:
            self.store.writer = recorder
            if self.session is not None:
                self.session.invocations = self.store

    def _on_session_event(self, event) -> None:
        """Runs on the runtime's and the store's threads: turn each event into a message, never block."""
        from studio.tui.session import AsyncFinished, StoreCommitted, StoreProblem

        if isinstance(event, StoreCommitted):
            return  # the StoreWatcher reports every writer's commits, this one's included
        if isinstance(event, StoreProblem):
            self.post_message(StoreSaid(event.sentence))
        elif isinstance(event, AsyncFinished):
            self.post_message(AsyncInvocationFinished(event.record))
        else:
            from studio.runtime.events import InstanceExited, ProjectChanged

            if isinstance(event, (ProjectChanged, InstanceExited)):
                self.post_message(RuntimeEventReceived(event))
            self.forward_debug_event(event)
        self.forward_debug_event(event)

    def on_unmount(self) -> None:
        self.stop_services()

    async def _on_message(self, message) -> None:
        # Once shutdown has begun, the screens are being taken apart while the app's queue may still drain
        # (Pilot's teardown runs beside it): a worker's late result has nothing left to be shown on. Events
        # (Unmount among them) still run.
        if not self.is_running and not isinstance(message, events.Event):
            return
        await super()._on_message(message)

    def stop_services(self) -> None:
        """Stop the runtime (every worker killed) and flush the store; safe to call twice."""
        if self.session is not None:
            self.session.stop()
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            watcher.stop()

    # -- service messages ----------------------------------------------------------------

    @on(ProjectLoaded)
    def _project_loaded(self, message: ProjectLoaded) -> None:
        self.project = message.project
        self.query_one(InvokePanel).event_builder = self._scf_event
        tree = self.query_one(RouteTree)
        tree.set_project(message.project, self.inner_routes)
        for pane in self.query(LogsPane):
            pane.add_functions([fn.id for fn in message.project.functions])
        self._refresh_header()
        self._check_keymap()

    def _check_keymap(self) -> None:
        """Apply settings.keymap; its problems are said once per change of the keymap, not per reload."""
        keymap = dict(getattr(self.settings, "keymap", None) or {})
        usable, problems = actions.checked_keymap(keymap)
        self.set_keymap(usable)
        if keymap == self._keymap_seen:
            return
        self._keymap_seen = keymap
        if problems:
            self.notify("\n".join(problems), title="keymap in funcstudio.toml", severity="warning", timeout=12)

    def _scf_event(self, template: str, function_id: str | None) -> dict:
        """The studio's SCF events come from the builder `invoke --event` uses (declared trigger, now)."""
        from studio.runtime.templates import event_for_function

        function = self.project.function(function_id) if self.project is not None and function_id else None
        return event_for_function(template, function)

    @on(ProjectLoadFailed)
    def _project_failed(self, message: ProjectLoadFailed) -> None:
        self.notify(f"discovery failed: {message.reason}", severity="error", timeout=15)

    @on(RuntimeReady)
    def _runtime_ready(self, message: RuntimeReady) -> None:
        self.url = message.url
        self.query_one(InvokePanel).set_base_url(self.mask(message.url))
        self._refresh_header()

    @on(StoreSaid)
    def _store_said(self, message: StoreSaid) -> None:
        # Read from the sentence itself: it may arrive before the recorder is kept in self.recorder.
        off = message.sentence.startswith("recording is off")
        self.store_note = "recording off" if off else (
            "recording in a fresh store" if "fresh store" in message.sentence else "")
        self.notify(message.sentence, severity="warning" if off else "information", timeout=10)
        self._refresh_header()

    @on(RuntimeFailed)
    def _runtime_failed(self, message: RuntimeFailed) -> None:
        self.status_problems.append(message.reason)
        self.notify(f"runtime not started: {message.reason}", severity="error", timeout=15)
        self._refresh_header()

    @on(StoreReady)
    def _store_ready(self, message: StoreReady) -> None:
        if not self.query(LogsPane):  # the lazy bottom panel is not in yet: try after the next refresh
            self.call_after_refresh(self._store_ready, message)
            return
        self._no_blink()
        if self.project is not None:
            self.query_one(LogsPane).add_functions([fn.id for fn in self.project.functions])
        self._migrate_in_background()

    @on(RuntimeEventReceived)
    def _runtime_event(self, message: RuntimeEventReceived) -> None:
        from studio.runtime.events import InstanceExited, ProjectChanged

        event = message.event
        if isinstance(event, InstanceExited) and event.reason in ("timeout", "memory", "crash", "exit"):
            self.notify(f"{event.function_id}: instance ended ({event.reason})", severity="warning", timeout=6)
        if isinstance(event, InstanceExited) and event.leftovers:
            self.notify(f"{event.function_id}: " + "; ".join(event.leftovers), severity="warning", timeout=8)
        if isinstance(event, ProjectChanged):
            stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
            self.reload_info = f"reloaded {stamp} ({event.reload_ms:.0f} ms)"
            for editor in self.query(CodeEditor):  # the open file may be what changed (none while closing)
                editor.check_disk()
            if self.runtime is not None:
                self.settings = self.session.settings = self.runtime.settings  # the keymap may have changed
            if self.session is not None and self.session.project is not None:
                self.post_message(ProjectLoaded(self.session.project, event.reload_ms))
            self._refresh_header()

    @on(LogView.TopChanged)
    def _log_top_changed(self, message: LogView.TopChanged) -> None:
        """Retention in the studio's own recorder never removes a line on screen (or a newer one)."""
        recorder = self.recorder
        if recorder is not None:
            recorder.keep_from(message.line_id)

    @on(StoreChanged)
    def _store_changed(self, message: StoreChanged) -> None:
        """Any process committed: new lines and invocations in, lines of finished invocations get
        their status."""
        for pane in self.query(LogsPane):
            pane.store_changed()
        for history in self.query(HistoryView):
            history.refresh_newer()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        from studio.tui.screens.modals import TextScreen

        if event.state == WorkerState.ERROR:
            error = event.worker.error
            import traceback

            text = "".join(traceback.format_exception(type(error), error, error.__traceback__)) if error else ""
            self.push_screen(TextScreen(f"{event.worker.description or event.worker.name} failed", text))

    # -- route selection and the editor ---------------------------------------------------

    @on(RouteTree.RouteSelected)
    def _route_selected(self, message: RouteTree.RouteSelected) -> None:
        entry = message.entry
        if entry.kind not in ("helper", "problem"):
            self.query_one(InvokePanel).set_target(entry)
            self.query_one(ResponseView).show_for(entry.function_id, self.responses.get(entry.function_id))
        if entry.file:
            self.open_file(entry.file, entry.line)

    def open_file(self, file: str, line: int | None = None) -> None:
        """Open a project file, asking first when the open one has unsaved changes."""
        editor = self.query_one(CodeEditor)
        if editor.file == file:
            if line:
                editor.goto(line)
            return

        def go() -> None:
            notice = editor.open(file, line)
            if notice:
                self.notify(notice, severity="warning")

        self.guard_unsaved(go)

    def guard_unsaved(self, then) -> None:
        """Run `then` now, or after the user saves or discards the open file's changes."""
        from studio.tui.screens.modals import ConfirmScreen

        editor = self.query_one(CodeEditor)
        if not editor.dirty:
            then()
            return

        def decided(choice: str | None) -> None:
            if choice == "save":  # through the editor's own save: it refuses to overwrite an outside change
                self._after_save = then
                editor.save()
            elif choice == "discard":
                editor.baseline = editor.text_area.text
                then()

        self.push_screen(ConfirmScreen(f"{editor.file} has unsaved changes.", UNSAVED_CHOICES), decided)

    @on(OpenLocation)
    def _open_location(self, message: OpenLocation) -> None:
        self.open_file(message.file, message.line)

    @on(TraceView.FrameOpened)
    def _frame_opened(self, message: TraceView.FrameOpened) -> None:
        file = self._project_relative(message.file)
        if file is None:
            self.notify(f"{message.file} is outside the project", severity="warning")
            return
        self.open_file(file, message.line)
        self.query_one(CodeEditor).text_area.focus()

    def _project_relative(self, file: str) -> str | None:
        path = Path(file)
        if not path.is_absolute():
            candidate = self.root / path
            if candidate.exists():
                return path.as_posix()
            if self.project is not None:
                for fn in self.project.functions:
                    nested = self.root / fn.code_root / path
                    if nested.exists():
                        return (Path(fn.code_root) / path).as_posix()
            return None
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    @on(CodeEditor.Saved)
    def _saved(self, message: CodeEditor.Saved) -> None:
        self.notify(f"saved {message.file}", timeout=2)
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    @on(CodeEditor.SaveFailed)
    def _save_failed(self, message: CodeEditor.SaveFailed) -> None:
        self._after_save = None
        self.notify(f"cannot save {message.file}: {message.reason}", severity="error", timeout=10)

    @on(CodeEditor.SaveConflict)
    def _save_conflict(self, message: CodeEditor.SaveConflict) -> None:
        """ctrl+s on a file changed on disk since it was read: ask, never overwrite in silence."""
        from studio.tui.screens.modals import ConfirmScreen

        editor = message.editor
        if editor.asking:  # the watcher already asks about this same outside change: its answer decides
            self._after_save = None
            return
        editor.asking_now()

        def decided(choice: str | None) -> None:
            editor.answered()
            if choice == "overwrite":
                editor.save(overwrite=True)
                return
            if choice == "diff":
                self._show_disk_diff(editor, message.disk_text, then=lambda: self._save_conflict(message))
                return
            self._after_save = None
            if choice == "reload":
                editor.reload_from_disk()

        self.push_screen(ConfirmScreen(
            f"{message.file} changed on disk since it was opened; saving would overwrite that change.",
            (("overwrite", "Overwrite"), ("reload", "Reload from disk"), ("diff", "Show diff"), ("cancel", "Cancel")),
            default="cancel"), decided)

    @on(CodeEditor.ChangedOnDisk)
    def _changed_on_disk(self, message: CodeEditor.ChangedOnDisk) -> None:
        from studio.tui.screens.modals import ConfirmScreen

        editor = message.editor

        def decided(choice: str | None) -> None:
            if choice == "diff":
                self._show_disk_diff(editor, message.disk_text, then=lambda: self._changed_on_disk(message))
                return
            editor.answered()
            if choice == "reload":
                editor.reload_from_disk()
            elif choice == "keep":  # the buffer stays; the next save overwrites knowingly
                editor.keep_mine(message.disk_text)
            # escape: decide later; the buffer stays and ctrl+s still asks before overwriting

        self.push_screen(ConfirmScreen(
            f"{message.file} changed on disk, and it has unsaved edits here.",
            (("keep", "Keep mine"), ("reload", "Reload from disk"), ("diff", "Show diff")),
            default="keep"), decided)

    @on(CodeEditor.Reloaded)
    def _reloaded(self, message: CodeEditor.Reloaded) -> None:
        self.notify(f"{message.file} changed on disk: reloaded", timeout=3)

    def _show_disk_diff(self, editor: CodeEditor, disk_text: str, then) -> None:
        import difflib

        from studio.tui.screens.modals import TextScreen

        diff = "".join(difflib.unified_diff(
            disk_text.splitlines(keepends=True), editor.text_area.text.splitlines(keepends=True),
            fromfile=f"{editor.file} (on disk)", tofile=f"{editor.file} (this buffer)")) or "(no difference)"
        self.push_screen(TextScreen(f"{editor.file}: disk → buffer", diff), lambda _result: then())

    # -- invoke pipeline -----------------------------------------------------------------

    @on(InvokeRequested)
    def _invoke_requested(self, message: InvokeRequested) -> None:
        if self.url is None:
            self.post_message(InvokeFailed(message.request_id, "the runtime is not running yet"))
            return
        self.pending_request_id = message.request_id
        self.pending_function = message.for_function
        self.query_one(ResponseView).show_pending(f"{message.method} {message.path}")
        self._invoke(message, self.debug_request_headers())

    @work(thread=True, exclusive=True, exit_on_error=False, group="invoke", description="Invoking")
    def _invoke(self, message: InvokeRequested, debug_headers: list[tuple[str, str]] | None = None) -> None:
        from studio.tui.session import SessionError

        spec = RequestSpec(mode="scf" if message.function_id else "http", method=message.method,
                           path=message.path, headers=list(message.headers),
                           body=message.body.decode("utf-8", "replace"), function_id=message.function_id,
                           invocation_type=message.invocation_type)
        try:
            # a request that may stop at a breakpoint waits as long as the person at the debugger takes
            answer = self.session.invoke(spec, extra_headers=debug_headers or [],
                                         timeout=None if debug_headers else 120.0)
        except SessionError as exc:
            if not get_current_worker().is_cancelled:
                self.post_message(InvokeFailed(message.request_id, str(exc)))
            return
        if get_current_worker().is_cancelled:
            return
        self.post_message(InvokeCompleted(
            message.request_id, answer.status, list(answer.headers), answer.body, answer.duration_ms,
            answer.request_id, answer.record, via_control=bool(message.function_id), accepted=answer.accepted))

    @on(InvokeCompleted)
    def _invoke_completed(self, message: InvokeCompleted) -> None:
        if message.request_id != self.pending_request_id:
            return  # a newer request superseded this one
        self.pending_request_id = None
        function_id = self.pending_function
        if message.accepted and message.gateway_request_id:
            early = self._async_results.pop(message.gateway_request_id, None)
            if early is not None:  # the result beat the 202 here
                self._show_record_for(function_id, early)
                return
            self._awaiting_async[message.gateway_request_id] = function_id
            self.query_one(ResponseView).show_pending(
                f"async (InvocationType=Event) accepted as {message.gateway_request_id[:8]}: its result shows here "
                "when it finishes")
            return
        record = message.record
        if record is not None:
            self._show_record_for(function_id, record, http=message)
            return
        response = ResponseData(status=message.status, headers=list(message.headers), body=message.body,
                                duration_ms=message.duration_ms, request_id=message.gateway_request_id,
                                function_id=function_id)
        self.responses[function_id] = response
        if self._showing(function_id):
            self.query_one(ResponseView).show_for(function_id, response)

    def _show_record_for(self, function_id: str | None, record, http: InvokeCompleted | None = None) -> None:
        """Keep `record` as `function_id`'s last response; show it (and its trace) if that function is shown."""
        self.last_record = record
        response = response_from_record(record)
        if http is not None and not http.via_control:  # a route: the bytes the client got
            response.status, response.headers, response.body = http.status, list(http.headers), http.body
        response.function_id = function_id
        self.responses[function_id] = response
        if not self._showing(function_id):
            return  # kept for its function; the user has moved on to another one
        self.query_one(ResponseView).show_for(function_id, response)
        error = error_json(record)
        self.query_one(TraceView).show_error(error)
        if error:
            self.query_one("#bottom", TabbedContent).active = "trace"
        self.debug_record_arrived(record, f"{response.function_id or 'the request'}")
        if record.function_id:
            self._refresh_inner_routes()

    @on(AsyncInvocationFinished)
    def _async_finished(self, message: AsyncInvocationFinished) -> None:
        record = message.record
        if record.request_id in self._awaiting_async:
            self._show_record_for(self._awaiting_async.pop(record.request_id), record)
        elif self.pending_request_id is not None:
            self._async_results[record.request_id] = record
            while len(self._async_results) > 50:
                self._async_results.pop(next(iter(self._async_results)))

    def _showing(self, function_id: str | None) -> bool:
        entry = self.query_one(InvokePanel).entry
        return (entry.function_id if entry is not None else None) == function_id

    @on(InvokeFailed)
    def _invoke_failed(self, message: InvokeFailed) -> None:
        if message.request_id == "replay":
            self._replay_running = False
        if self.pending_request_id not in (None, message.request_id):
            return
        self.pending_request_id = None
        self.query_one(ResponseView).show_failure(message.reason)

    @work(thread=True, exclusive=True, exit_on_error=False, group="routes")
    def _refresh_inner_routes(self) -> None:
        inner = self.session.inner_routes()
        if inner and inner != self.inner_routes and not get_current_worker().is_cancelled:
            self.call_from_thread(self._set_inner_routes, inner)

    def _set_inner_routes(self, inner: dict) -> None:
        self.inner_routes = inner
        if self.project is not None:
            self.query_one(RouteTree).set_project(self.project, inner)

    # -- history, replay, trace ----------------------------------------------------------

    @on(HistoryView.Chosen)
    def _history_chosen(self, message: HistoryView.Chosen) -> None:
        self._load_invocation(message.request_id, "show")

    @on(HistoryView.ExportWanted)
    def _history_export(self, message: HistoryView.ExportWanted) -> None:
        self._export_test(message.request_id)

    @work(thread=True, exit_on_error=False, group="export")
    def _export_test(self, request_id: str) -> None:
        """`funcstudio export ID --pytest -o tests/test_recorded_<id>.py`, as a user would run it (the
        test writer lives beside the CLI, above the studio's layer)."""
        import subprocess
        import sys

        target = self.root / "tests" / f"test_recorded_{request_id[:8]}.py"
        rel = target.relative_to(self.root).as_posix()
        result = subprocess.run([sys.executable, "-m", "studio", "export", str(self.root), request_id, "--pytest",
                                 "-o", str(target), "--force"], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["export failed"])[-1].removeprefix("Error: ")
            self.call_from_thread(self.notify, f"no test written: {reason}", severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, f"wrote {rel}; run it with python -m pytest {rel}", timeout=10)

    @on(LogView.OpenInvocation)
    def _log_line_opened(self, message: LogView.OpenInvocation) -> None:
        self._load_invocation(message.request_id, "open")

    @work(thread=True, exclusive=True, exit_on_error=False, group="invocation")
    def _load_invocation(self, request_id: str, purpose: str) -> None:
        if self.session is None:
            return
        record = self.session.record(request_id)
        if record is not None and not get_current_worker().is_cancelled:
            self.post_message(InvocationLoaded(record, purpose))
        elif record is None and purpose == "replay-base":
            self.post_message(InvokeFailed("replay", f"replay failed: no record of {request_id}"))

    @on(InvocationLoaded)
    def _invocation_loaded(self, message: InvocationLoaded) -> None:
        record = message.record
        if message.purpose == "replay-base":
            self._replay(record)
            return
        self.last_record = record
        shown = response_from_record(record)
        if record.stored:  # reopened from the store: say when it ran and on which code
            when = "00:00:00" if self.options.fixed else time.strftime("%Y-%m-%d %H:%M:%S",
                                                                      time.localtime(record.started_at))
            shown.recorded = f"ran {when} · code {(record.code_version or '?')[:12]}"
        self.query_one(ResponseView).show(shown)
        self.query_one(TraceView).show_error(error_json(record))
        if message.purpose == "open":  # from a log line: its trace when it failed, else its response
            if record.error:
                self.action_show_tab("trace")
            else:
                self.query_one("#response-body").focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay", description="Replaying")
    def _replay(self, before) -> None:
        from studio.tui.session import SessionError

        missing = [k for k, v in before.request_headers if v == "[redacted]"]
        if missing and before.trigger not in ("invoke", "async"):
            self.call_from_thread(
                self.notify, f"replayed without {', '.join(missing)} (redacted when recorded): "
                "to send it, copy the request into the invoke panel and add it there",
                severity="warning", timeout=10)
        try:
            after = self.session.replay(before)
        except SessionError as exc:
            self.post_message(InvokeFailed("replay", f"replay failed: {exc}"))
            return
        if after is None:
            self.post_message(InvokeFailed("replay", "replay failed: the runtime kept no record of the new run"))
            return
        self.post_message(ReplayCompleted(before, after))

    @on(ReplayCompleted)
    def _replay_completed(self, message: ReplayCompleted) -> None:
        from studio.tui.diffing import diff_records
        from studio.tui.screens.modals import TextScreen

        self._replay_running = False
        after = message.after
        self.last_record = after
        self.query_one(ResponseView).show(response_from_record(after))
        self.query_one(TraceView).show_error(error_json(after))
        diff, changed = diff_records(message.before.to_json(), after.to_json())
        title = "replay: " + ("the response changed" if changed else "same response and logs")
        self.push_screen(TextScreen(title, diff))

    # -- actions -------------------------------------------------------------------------

    def action_quit_studio(self) -> None:
        self.guard_unsaved(self.exit)

    def action_show_help(self) -> None:
        from studio.tui.screens.modals import HelpScreen

        keymap = getattr(self.settings, "keymap", None) or {}
        self.push_screen(HelpScreen(actions.help_rows(actions.checked_keymap(keymap)[0])))

    def action_save_file(self) -> None:
        editor = self.query_one(CodeEditor)
        if editor.file is None:
            self.notify("no file open", severity="warning")
            return
        editor.save()

    def action_send_request(self) -> None:
        panel = self.query_one(InvokePanel)
        if panel.entry is None and panel.mode != "http":
            self.notify("select a function first", severity="warning")
            return
        panel.send()

    def action_replay(self) -> None:
        if self.url is None:
            self.notify("the runtime is not running", severity="warning")
            return
        request_id = None
        if self.query_one("#bottom", TabbedContent).active == "history":
            request_id = self.query_one(HistoryView).selected_request_id
        if request_id is None and self.last_record is not None:
            request_id = self.last_record.request_id
        if request_id is None:
            self.notify("nothing to replay yet: send a request first", severity="warning")
            return
        if self._replay_running:  # a second ctrl+r would run it twice and stack two diffs
            self.notify("a replay is already running", severity="warning")
            return
        self._replay_running = True
        self._load_invocation(request_id, "replay-base")

    def action_restart_instances(self) -> None:
        self._restart_instances()

    @work(thread=True, exclusive=True, exit_on_error=False, group="restart")
    def _restart_instances(self) -> None:
        if self.session is None:
            return
        retired = self.session.restart_instances()
        self.call_from_thread(self.notify, f"restarted {retired} function(s)' instances")

    def action_focus_panel(self, name: str) -> None:
        target = {"routes": "#route-tree", "editor": "#code", "invoke": "#path", "response": "#response-body"}.get(name)
        if name == "invoke" and self.query_one(InvokePanel).mode == "scf":
            target = "#body"
        if target and self.query(target):
            if name == "routes":
                self.query_one("#sidebar").display = True
            self.query_one(target).focus()

    # -- focus and layout ----------------------------------------------------------------

    STACK_BELOW = (100, 30)
    """Below this many columns or rows: editor, request and response stacked, tree and bottom hidden."""

    def on_resize(self, event) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        stacked = width < self.STACK_BELOW[0] or height < self.STACK_BELOW[1]
        if stacked != self.has_class("-stacked"):
            self.set_class(stacked, "-stacked")
            # studio.tcss hides the tree and the bottom panel when stacked; f2 / ctrl+b and f8 / ctrl+t
            # bring them back (an inline display), which a change of layout forgets
            for selector in ("#sidebar", "#bottom"):
                for widget in self.query(selector):
                    widget.styles.clear_rule("display")
        for footer in self.query(Footer):
            footer.compact = stacked
        self._size_sidebar(width)

    def _size_sidebar(self, width: int | None = None) -> None:
        """The tree grows with the terminal (a fifth of it, 34 to 60 columns), plus what alt+left/right added."""
        width = width if width is not None else self.size.width
        base = max(34, min(60, width // 5))
        columns = max(20, min(width // 2, base + self.sidebar_extra))
        for sidebar in self.query("#sidebar"):
            sidebar.styles.width = columns

    def action_resize_sidebar(self, delta: int) -> None:
        self.sidebar_extra += delta
        self.query_one("#sidebar").display = True
        self._size_sidebar()

    def action_maximize_pane(self) -> None:
        """The pane holding the focus takes the whole screen; again (or escape) restores the layout."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        focused = self.focused
        panes = (RouteTree, CodeEditor, InvokePanel, ResponseView, BottomPanel)
        pane = next((node for node in (focused.ancestors_with_self if focused else ()) if isinstance(node, panes)),
                    None)
        if pane is None:
            self.notify("focus a pane first (f2 routes, f3 editor, f4 request, f12 response)", severity="warning")
            return
        screen.maximize(pane, container=False)

    JUMP_TARGETS = (
        ("f", "filter", "#route-filter", None), ("r", "routes", "#route-tree", None),
        ("e", "editor", "#code", None), ("m", "method", "#method", None), ("p", "path", "#path", None),
        ("b", "body", "#body", "tab-body"), ("q", "query", "#query", "tab-query"),
        ("h", "headers", "#headers", "tab-headers"), ("u", "user", "#user-token", "tab-user"),
        ("s", "response", "#response-body", None), ("l", "logs", "#log-view", "logs"),
        ("y", "history", "#history-table", "history"), ("t", "trace", "#trace-frames", "trace"),
    )
    """(letter, label, widget, tab pane holding it): what jump mode offers."""

    def action_jump(self) -> None:
        from studio.tui.screens.jump import JumpScreen, JumpTarget

        targets = []
        for key, label, selector, pane in self.JUMP_TARGETS:
            widgets = self.query(selector)
            if not widgets:
                continue
            widget = widgets.first()
            at = widget.region
            if pane is not None and not at.area:  # in a tab not shown: label its tab
                tabs = [t for t in self.query(f"Tab#--content-tab-{pane}") if t.display]
                if not tabs or not tabs[0].region.area:
                    continue
                at = tabs[0].region
            elif not at.area:
                continue
            targets.append(JumpTarget(key, label, at.offset))

        def chosen(key: str | None) -> None:
            target = next((t for t in self.JUMP_TARGETS if t[0] == key), None)
            if target is None:
                return
            _key, _label, selector, pane = target
            if pane is not None:
                for tabs in self.query(TabbedContent):
                    if tabs.query(f"TabPane#{pane}"):
                        tabs.active = pane
            widget = self.query_one(selector)
            widget.focus()
            for typed in screen.typed_ahead:  # typed right after the letter: meant for this field
                widget.post_message(events.Key(typed.key, typed.character))

        screen = JumpScreen(targets)
        self.push_screen(screen, chosen)

    def action_show_tab(self, name: str) -> None:
        bottom = self.query_one("#bottom", TabbedContent)
        bottom.display = True
        bottom.active = name
        focus = {"logs": "#log-view", "history": "#history-table", "trace": "#trace-frames",
                 "debug": "#debug-stack", "profile": "#profile-rows"}[name]
        self.query_one(focus).focus()

    def action_resize_panel(self, delta: int) -> None:
        for panel in self.query(BottomPanel):
            panel.resize(delta)

    def action_maximize_panel(self) -> None:
        for panel in self.query(BottomPanel):
            if not panel.maximized:  # hidden (stacked layout, ctrl+t): maximized alone it left a blank screen
                self.query_one("#bottom", TabbedContent).display = True
            panel.set_maximized(not panel.maximized)

    def action_toggle_errors_only(self) -> None:
        """Errors only in the logs (ERROR and CRITICAL lines) and the history (failed invocations)."""
        import dataclasses

        on = self.query_one(LogsPane).toggle_errors_only()
        for history in self.query(HistoryView):
            history.set_filters(dataclasses.replace(history.filters, status="errors" if on else None))
        self.notify("errors only: logs at ERROR and failed invocations" if on else "errors only: off", timeout=3)

    def action_toggle_panel(self, name: str) -> None:
        widget = self.query_one(f"#{name}")
        widget.display = not widget.display

    def action_filter_routes(self) -> None:
        self.query_one("#sidebar").display = True
        self.query_one("#route-filter").focus()

    def action_goto_line(self) -> None:
        from studio.tui.screens.modals import PromptScreen

        editor = self.query_one(CodeEditor)
        if editor.file is None:
            self.notify("no file open: select a route first", severity="warning", timeout=3)
            return

        def jump(value: str | None) -> None:
            if value and value.strip().isdigit():
                editor.goto(int(value))
                editor.text_area.focus()
            elif value:
                self.notify(f"not a line number: {value!r}", severity="warning")

        self.push_screen(PromptScreen("Go to line", "line number"), jump)

    def action_open_external(self) -> None:
        editor = self.query_one(CodeEditor)
        if editor.file is None:
            return
        command = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not command:
            self.notify("set $EDITOR to open files outside the studio", severity="warning")
            return

        line = editor.text_area.cursor_location[0] + 1

        def run() -> None:
            import shlex
            import subprocess

            try:
                with self.suspend():
                    subprocess.call(external_command(shlex.split(command), str(self.root / editor.file), line))
            except SuspendNotSupported:
                self.notify("this terminal cannot hand over to $EDITOR", severity="warning")
                return
            editor.reload_from_disk()

        self.guard_unsaved(run)

    def action_save_response(self) -> None:
        response = self.query_one(ResponseView).response
        if response is None:
            self.notify("no response yet", severity="warning")
            return
        content_type = next((v for k, v in response.headers if k.lower() == "content-type"), "")
        ext = ".json" if "json" in content_type else ".html" if "html" in content_type else \
            ".txt" if content_type.startswith("text/") else ".bin"
        name = (response.request_id or "last").replace("/", "_")
        target = self.root / ".funcstudio" / "responses" / f"{name}{ext}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(response.body)
        except OSError as exc:
            self.notify(f"cannot save the response: {exc}", severity="error")
            return
        self.last_saved_response = target
        self.notify(f"saved {target.relative_to(self.root)}")

    def _current_spec(self) -> RequestSpec | None:
        spec, error = self.query_one(InvokePanel).build_spec()
        if spec is None:
            self.notify(error or "the request is incomplete", severity="warning")
        return spec

    def action_copy_curl(self) -> None:
        from studio.tui.curl import CurlRequest, to_curl

        spec = self._current_spec()
        if spec is None or self.url is None:
            return
        command = to_curl(CurlRequest(spec.method, f"{self.url}{spec.target}", spec.headers, spec.body))
        self.copy_to_clipboard(command)
        target = self.root / ".funcstudio" / "last-curl.sh"
        try:
            target.parent.mkdir(exist_ok=True)
            target.write_text(command + "\n", encoding="utf-8")
        except OSError:
            pass
        self.notify(f"copied as curl (also saved to .funcstudio/last-curl.sh)\n{command}", timeout=6)

    def action_import_curl(self) -> None:
        from studio.tui.curl import CurlError, parse_curl
        from studio.tui.screens.modals import PromptScreen

        def imported(text: str | None) -> None:
            if not text:
                return
            try:
                request = parse_curl(text)
            except CurlError as exc:
                self.notify(f"import curl: {exc}", severity="error")
                return
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(request.url)
            spec = RequestSpec(method=request.method, path=parts.path or "/", query=parse_qsl(parts.query),
                               headers=request.headers, body=request.body)
            self.query_one(InvokePanel).load_spec(spec)
            self.notify(f"imported {spec.method} {spec.target}")

        self.push_screen(PromptScreen("Paste a curl command (one line or many)", "curl http://…",
                                      join_pasted_lines=True), imported)

    def action_save_request(self) -> None:
        self.post_message(SaveRequestWanted(self.query_one(InvokePanel).current_draft()))

    def action_load_request(self) -> None:
        entry = self.query_one(InvokePanel).entry
        self.post_message(OpenRequestWanted(entry.function_id if entry is not None else None))

    # -- saved requests: `.http` files in the project (studio/tui/saved_requests.py) ---------

    def _requests_dir(self) -> str:
        return getattr(getattr(self.settings, "requests", None), "dir", None) or "http-requests"

    @on(SaveRequestWanted)
    def _save_request_wanted(self, message: SaveRequestWanted) -> None:
        from studio.project.http_files import file_for_function
        from studio.tui.saved_requests import save_name
        from studio.tui.screens.modals import PromptScreen

        draft = message.draft
        spec, error = draft.build()
        if spec is None and not (error or "").startswith("path parameter"):  # {{id}} may come from an env
            self.notify(error or "the request is incomplete", severity="warning")
            return
        if not draft.function_id:
            self.notify("select a function first", severity="warning")
            return
        loaded = self._loaded_requests.get(draft.function_id)
        default = save_name(self._requests_dir(), loaded)
        where = f"{self._requests_dir()}/{file_for_function(draft.function_id)}"

        def named(name: str | None) -> None:
            if name and name.strip():
                self._write_saved(draft, name.strip(), loaded)

        self.push_screen(PromptScreen(f"Save as a request in {where} (or FILE.http#name)", "name", default), named)

    @work(thread=True, exit_on_error=False, group="saved")
    def _write_saved(self, draft, name: str, loaded) -> None:
        from studio.project.http_files import HttpFileError
        from studio.tui.saved_requests import save_draft

        try:
            rel, request = save_draft(self.root, self._requests_dir(), draft, name, loaded)
        except (HttpFileError, OSError) as exc:
            self.call_from_thread(self.notify, f"not saved: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"saved {rel}#{request.slug}")

    @on(OpenRequestWanted)
    def _open_request_wanted(self, message: OpenRequestWanted) -> None:
        self._list_saved(message.function_id)

    @work(thread=True, exit_on_error=False, group="saved")
    def _list_saved(self, function_id: str | None) -> None:
        from studio.tui.saved_requests import scan

        self._migrate_saved_requests()
        catalog = scan(self.root, self._requests_dir())
        self.call_from_thread(self._pick_saved, catalog, function_id)

    @work(thread=True, exit_on_error=False, group="saved")
    def _migrate_in_background(self) -> None:
        self._migrate_saved_requests()

    def _migrate_saved_requests(self) -> None:
        """Runs on a thread: move the store's old saved requests into files, once (and say so once)."""
        from studio.store.request_migration import migrate_saved_requests

        try:
            moved = migrate_saved_requests(self.root, self._requests_dir())
        except Exception as exc:  # noqa: BLE001 - an old store must not stop the studio
            moved = None
            self.call_from_thread(self.notify, f"old saved requests not moved: {exc}", severity="warning")
        if moved is not None:
            self.call_from_thread(self.notify, moved.message, timeout=10)

    def _pick_saved(self, catalog, function_id: str | None) -> None:
        from studio.tui.screens.requests import RequestsScreen

        def chosen(result: tuple[str, str | None] | None) -> None:
            if result is None:
                return
            key, env = result
            self._request_env = env
            entry = next((e for e in catalog.entries if e.key == key), None)
            if entry is not None:
                self.run_worker(self._load_saved(entry, env), group="saved-load", exit_on_error=False)

        self.push_screen(RequestsScreen(catalog, self._requests_dir(), function_id, self._request_env), chosen)

    async def _load_saved(self, entry, env_name: str | None) -> None:
        """Select the request's function (when it names one), then fill the panel from the file."""
        from studio.project.http_files import HttpFileError
        from studio.tui.request_model import PARAM_RE
        from studio.tui.saved_requests import entry_to_draft, environments

        panel = self.query_one(InvokePanel)
        if entry.function_id and (panel.entry is None or panel.entry.function_id != entry.function_id):
            if self.query_one(RouteTree).select_function(entry.function_id):
                for _ in range(100):
                    if panel.entry is not None and panel.entry.function_id == entry.function_id:
                        break
                    await asyncio.sleep(0.02)
        try:
            env = environments(self.root, self._requests_dir()).variables(env_name)
        except HttpFileError as exc:
            self.notify(str(exc), severity="error")
            return
        shown = panel.entry
        catch_all = {m.group(1) for m in PARAM_RE.finditer(getattr(shown, "path", None) or "") if m.group(2)}
        draft, loaded, missing = entry_to_draft(entry, env, shown.function_id if shown else None, panel.mode,
                                                catch_all, self.root)
        panel.load_request(draft)
        if draft.function_id:
            self._loaded_requests[draft.function_id] = loaded
        note = f"loaded {entry.key}" + (f" (environment {env_name})" if env_name else "")
        if missing:
            note += f"; not defined: {', '.join('{{' + m + '}}' for m in missing)}"
        self.notify(note, severity="warning" if missing else "information")

    # -- palette helpers -----------------------------------------------------------------

    def open_entry(self, entry: Entry) -> None:
        """Select a route or function (from the palette)."""
        tree = self.query_one(RouteTree)
        if entry.function_id and tree.select_function(entry.function_id):
            return
        self.post_message(RouteTree.RouteSelected(tree, entry))


def error_json(record) -> dict | None:
    """The trace view's shape of a record's error (frames with `is_user`)."""
    from dataclasses import asdict

    return asdict(record.error) if record.error is not None else None


def response_from_record(record) -> ResponseData:
    """What the response view shows of an `InvocationRecord`: its status, body and the runtime's own
    duration (the same number live and reopened from the store)."""
    from dataclasses import asdict

    from studio.runtime.timing import phases

    return ResponseData(
        status=int(record.status or 0), headers=[tuple(h) for h in record.response_headers],
        body=record.response_body, duration_ms=record.duration_ms, return_value=record.return_value,
        warnings=[asdict(w) for w in record.warnings], outbox=list(record.outbox),
        error=error_json(record), request_id=record.request_id, function_id=record.function_id,
        app_path=record.app_path, phases=phases(record),
    )


# Editors that open a file at a line with `+LINE FILE` (vi family, nano, emacs, micro, kakoune, ...) or
# another syntax; any other $EDITOR just gets the file.
PLUS_LINE_EDITORS = frozenset({"vi", "vim", "nvim", "gvim", "view", "nano", "pico", "emacs", "emacsclient",
                               "micro", "kak", "joe", "jed", "mg", "ne", "vis", "ed"})


def external_command(argv: list[str], path: str, line: int) -> list[str]:
    """$EDITOR's command for `path` at `line`: `+LINE` where the editor takes it."""
    name = os.path.basename(argv[0]) if argv else ""
    if name in PLUS_LINE_EDITORS:
        return [*argv, f"+{line}", path]
    if name in ("code", "code-insiders", "codium", "cursor"):
        return [*argv, "--goto", f"{path}:{line}"]
    if name in ("subl", "sublime_text", "zed", "hx", "helix"):
        return [*argv, f"{path}:{line}"]
    return [*argv, path]

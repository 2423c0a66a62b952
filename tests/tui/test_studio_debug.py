"""The debugger in the studio, driven from the keyboard over real workers: a breakpoint set with alt+b
stops a request sent with curl, the debug pane shows its stack and locals, the editor marks the
line; the invoke panel's request steps and continues; a profiled send lists functions and Enter
opens the source.

One running studio for the module (one event loop: a studio start is the expensive part), put back
to how it started before every test by the `studio` fixture, so each test passes alone, in any order
and on any xdist worker."""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass

import pytest
import pytest_asyncio
from debug_helpers import CALC_FILE, CALC_ID, project_files, reset_hub, write_debug_project
from studio_helpers import RUN, make_app, of, select_function, started, wait_until
from textual.widget import Widget
from textual.widgets import Input, OptionList, TextArea, Tree

from studio.tui.messages import InvokeCompleted
from studio.tui.screens.modals import PromptScreen
from studio.tui.widgets.debug_pane import DebugPane
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.profile_view import ProfileView

shared_loop = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Studio:
    """The module's running studio and what it looked like once started."""

    pilot: object
    messages: list
    project: object
    tab: str
    focused: Widget | None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory):
    project = write_debug_project(tmp_path_factory.mktemp("debug") / "proj")
    app = make_app(project)
    messages: list = []
    async with app.run_test(message_hook=lambda m: messages.append(m), **RUN) as pilot:
        await started(pilot)
        yield Studio(pilot, messages, project, app.query_one("#bottom").active, app.focused)


@pytest_asyncio.fixture(loop_scope="module")
async def studio(running):
    """The running studio as it started: no prompt open, the project's files and the editor's buffer
    as written, no breakpoints (`.funcstudio/breakpoints.json` says so too), nothing paused, no
    watches, no profile queued, the first tab shown, the first focus, no messages."""
    pilot, app = running.pilot, running.pilot.app
    while len(app.screen_stack) > 1:
        app.pop_screen()
    rewritten = False
    for relative, text in project_files().items():
        path = running.project / relative
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            rewritten = True
    editor = app.query_one(CodeEditor)
    if editor.file is not None and (editor.dirty or rewritten):
        editor.reload_from_disk()
    hub = app.runtime.debug
    reset_hub(hub)
    await wait_until(pilot, lambda: app._debug_current is None and not hub.paused(), timeout=60,
                     what="paused invocations let go")
    app._profile_next = False
    pane = app.query_one(DebugPane)
    pane.watches.clear()
    pane.watch_values.clear()
    pane._watches()
    app._refresh_debug_views()  # the pane, the gutter and .funcstudio/breakpoints.json follow the hub
    app.query_one("#bottom").active = running.tab
    app.set_focus(running.focused)
    await pilot.pause()
    running.messages.clear()
    breakpoints = app.root / ".funcstudio" / "breakpoints.json"
    assert not breakpoints.exists() or json.loads(breakpoints.read_text())["breakpoints"] == []
    return running


async def on_line(pilot, line: int) -> CodeEditor:
    """Open calc.py and put the editor's cursor on `line` with the keyboard."""
    await select_function(pilot, CALC_ID)
    editor = pilot.app.query_one(CodeEditor)
    await pilot.press("ctrl+g")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, PromptScreen), what="go-to-line prompt")
    await pilot.press(*str(line), "enter")
    await wait_until(pilot, lambda: editor.text_area.cursor_location[0] == line - 1, what=f"cursor on {line}")
    return editor


def pane(app) -> DebugPane:
    return app.query_one(DebugPane)


def locals_shown(app) -> list[str]:
    return [str(node.label) for node in app.query_one("#debug-locals", Tree).root.children]


async def paused_at(pilot, line: int, function: str):
    app = pilot.app
    await wait_until(pilot, lambda: app._debug_current is not None and app._debug_current.frame.line == line
                     and app._debug_current.frame.function == function, timeout=60, what=f"pause at {line}")
    await pilot.pause()
    return app._debug_current


@shared_loop
async def test_breakpoint_from_the_keyboard_stops_a_curl_request(studio):
    pilot = studio.pilot
    app = pilot.app
    editor = await on_line(pilot, 8)
    await pilot.press("alt+b")
    assert app.debug_marks(CALC_FILE) == (frozenset({8}), None)
    await pilot.press("alt+a")  # every request, not only the invoke panel's
    assert app.runtime.debug.all_requests
    done: dict = {}
    curl = threading.Thread(target=lambda: done.update(out=subprocess.run(
        ["curl", "-sS", f"{app.url}/api/calc"], capture_output=True, timeout=120).stdout), daemon=True)
    curl.start()
    pause = await paused_at(pilot, 8, "handler")
    assert app.query_one("#bottom").active == "debug"
    assert "value: int = 21" in locals_shown(app)
    assert "paused (breakpoint) at cloud-functions/api/calc.py:8 in handler" in str(
        pane(app).query_one("#debug-title").render())
    assert editor.file == CALC_FILE and editor.text_area.cursor_location[0] == 7
    assert app.debug_marks(CALC_FILE) == (frozenset({8}), 8)
    assert "curl" not in done  # still waiting for its answer
    await pilot.press("alt+t")  # step into double()
    inside = await paused_at(pilot, 2, "double")
    assert "n: int = 21" in locals_shown(app)
    stack = app.query_one("#debug-stack", OptionList)
    assert stack.option_count == len(inside.stack) and stack.highlighted == inside.index
    editor = app.query_one(CodeEditor)
    assert editor.text_area.cursor_location[0] == 1  # the editor followed the step into double()
    stack.focus()
    await pilot.pause()
    await pilot.press("up", "enter")  # select the caller's frame: the editor and the locals follow
    outer = await paused_at(pilot, 8, "handler")
    assert outer.index == inside.index - 1 and "value: int = 21" in locals_shown(app)
    await wait_until(pilot, lambda: editor.text_area.cursor_location[0] == 7, what="editor on the caller's line")
    await pilot.press("f7")
    await wait_until(pilot, lambda: app._debug_current is None, what="resumed")
    curl.join(60)
    assert done["out"] == b"result=42"
    assert "not paused" in str(pane(app).query_one("#debug-title").render())
    assert pause.request_id not in [p.request_id for p in app.runtime.debug.paused()]


@shared_loop
async def test_invoke_panel_request_steps_watches_and_continues(studio):
    pilot, messages = studio.pilot, studio.messages
    app = pilot.app
    await on_line(pilot, 8)
    await pilot.press("alt+b")
    assert app.debug_marks(CALC_FILE)[0] == frozenset({8})
    await pilot.press("ctrl+j")
    pause = await paused_at(pilot, 8, "handler")
    app.query_one("#debug-eval", Input).focus()
    await pilot.press(*"value * 2", "enter")
    await wait_until(pilot, lambda: pane(app).watch_values.get("value * 2") == "42", what="watch value")
    await pilot.press("alt+n")
    await paused_at(pilot, 9, "handler")
    assert "result: int = 42" in locals_shown(app)
    await wait_until(pilot, lambda: pane(app).watch_values.get("value * 2") == "42", what="watch re-evaluated")
    stack = app.query_one("#debug-stack", OptionList)
    assert not of(messages, InvokeCompleted)
    await pilot.press("f7")
    await wait_until(pilot, lambda: of(messages, InvokeCompleted), timeout=60, what="InvokeCompleted")
    assert of(messages, InvokeCompleted)[-1].body == b"result=42"
    assert stack.option_count == 0
    assert pause.request_id


@shared_loop
async def test_breakpoint_toggles_off_and_blank_lines_refuse(studio):
    pilot = studio.pilot
    app = pilot.app
    await on_line(pilot, 8)
    await pilot.press("alt+b")
    assert app.debug_marks(CALC_FILE)[0] == frozenset({8})
    await pilot.press("alt+b")
    assert app.debug_marks(CALC_FILE)[0] == frozenset()
    await on_line(pilot, 4)  # blank line
    await pilot.press("alt+b")
    assert app.runtime.debug.breakpoints() == []


@shared_loop
async def test_profile_lists_functions_and_enter_opens_the_source(studio):
    pilot, messages = studio.pilot, studio.messages
    app = pilot.app
    await select_function(pilot, CALC_ID)
    assert app.query_one("#bottom").active != "profile"
    await pilot.press("alt+p")
    await wait_until(pilot, lambda: of(messages, InvokeCompleted), timeout=60, what="InvokeCompleted")
    await wait_until(pilot, lambda: app.query_one("#bottom").active == "profile", what="profile tab")
    view = app.query_one(ProfileView)
    functions = [row["function"] for row in view.rows]
    assert functions[0] == "handler" and "double" in functions
    rows = app.query_one("#profile-rows", OptionList)
    rows.focus()
    rows.highlighted = functions.index("double")
    await pilot.press("enter")
    await pilot.pause()
    editor = app.query_one(CodeEditor)
    assert editor.file == CALC_FILE and editor.text_area.cursor_location[0] == 0
    assert isinstance(editor.text_area, TextArea)


@shared_loop
async def test_breakpoints_move_with_their_code_when_lines_are_added_or_removed(studio):
    pilot = studio.pilot
    app = pilot.app
    editor = await on_line(pilot, 8)
    await pilot.press("alt+b")
    await on_line(pilot, 6)  # `def handler(...)`: a new line above it pushes the breakpoint down
    await pilot.press("home", "enter")
    assert app.debug_marks(CALC_FILE)[0] == frozenset({9})
    await pilot.press("backspace")  # and back up
    assert app.debug_marks(CALC_FILE)[0] == frozenset({8})
    await on_line(pilot, 9)  # below it: nothing moves
    await pilot.press("end", "enter")
    assert app.debug_marks(CALC_FILE)[0] == frozenset({8})
    await pilot.press("backspace")
    assert not editor.dirty


@shared_loop
async def test_breakpoints_are_kept_for_the_next_studio(studio):
    pilot, project = studio.pilot, studio.project
    await on_line(pilot, 3)
    await pilot.press("alt+b")
    saved = json.loads((project / ".funcstudio" / "breakpoints.json").read_text())
    assert saved == {"breakpoints": [{"file": CALC_FILE, "line": 3, "condition": None}]}
    from studio.runtime.debug import DebugHub
    from studio.runtime.events import EventBus

    restored = DebugHub(EventBus())
    make_app(project)._restore_breakpoints(restored)  # what the next studio on this project does
    assert [(b.file, b.line) for b in restored.breakpoints()] == [(str((project / CALC_FILE).resolve()), 3)]
    await pilot.press("alt+b")  # cleared here: the file says so too
    assert json.loads((project / ".funcstudio" / "breakpoints.json").read_text()) == {"breakpoints": []}

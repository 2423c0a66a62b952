"""The debugger in the studio, driven from the keyboard over real workers: a breakpoint set with alt+b
stops a request sent with curl, the debug pane shows its stack and locals, the editor marks the
line; the invoke panel's request steps and continues; a profiled send lists functions and Enter
opens the source. One running studio for the module (one event loop)."""

from __future__ import annotations

import subprocess
import textwrap
import threading

import pytest
import pytest_asyncio
from helpers import write_files
from studio_helpers import RUN, make_app, of, select_function, started, wait_until
from textual.widgets import Input, OptionList, TextArea, Tree

from studio.tui.messages import InvokeCompleted
from studio.tui.screens.modals import PromptScreen
from studio.tui.widgets.debug_pane import DebugPane
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.profile_view import ProfileView

shared_loop = pytest.mark.asyncio(loop_scope="module")
CALC = "cloud-functions/api/calc"

FILES = {
    f"{CALC}.py": """
        def double(n):
            twice = n * 2
            return twice


        def handler(event, context):
            value = 21
            result = double(value)
            return {"statusCode": 200, "body": f"result={result}"}
    """,
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory):
    files = {name: textwrap.dedent(text).lstrip("\n") for name, text in FILES.items()}
    project = write_files(tmp_path_factory.mktemp("debug") / "proj", files)
    app = make_app(project)
    messages: list = []
    async with app.run_test(message_hook=lambda m: messages.append(m), **RUN) as pilot:
        await started(pilot)
        yield pilot, messages, project


async def on_line(pilot, line: int) -> CodeEditor:
    """Open calc.py and put the editor's cursor on `line` with the keyboard."""
    await select_function(pilot, CALC)
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
async def test_breakpoint_from_the_keyboard_stops_a_curl_request(shared):
    pilot, _messages, project = shared
    app = pilot.app
    editor = await on_line(pilot, 8)
    await pilot.press("alt+b")
    assert app.debug_marks(f"{CALC}.py") == (frozenset({8}), None)
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
    assert editor.file == f"{CALC}.py" and editor.text_area.cursor_location[0] == 7
    assert app.debug_marks(f"{CALC}.py") == (frozenset({8}), 8)
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
    app.runtime.debug.all_requests = False


@shared_loop
async def test_invoke_panel_request_steps_watches_and_continues(shared):
    pilot, messages, _project = shared
    app = pilot.app
    await on_line(pilot, 8)
    if not app.debug_marks(f"{CALC}.py")[0]:
        await pilot.press("alt+b")
    messages.clear()
    await pilot.press("ctrl+j")
    pause = await paused_at(pilot, 8, "handler")
    app.query_one("#debug-eval", Input).focus()
    await pilot.press(*"value * 2", "enter")
    await wait_until(pilot, lambda: pane(app).watch_values.get("value * 2") == "42", what="watch value")
    await pilot.press("alt+n")
    await paused_at(pilot, 9, "handler")
    assert "result: int = 42" in locals_shown(app)
    await wait_until(pilot, lambda: pane(app).watch_values.get("value * 2") == "42", what="watch re-evaluated")
    # selecting the outer frame moves the editor and the locals with it
    stack = app.query_one("#debug-stack", OptionList)
    assert not of(messages, InvokeCompleted)
    await pilot.press("f7")
    await wait_until(pilot, lambda: of(messages, InvokeCompleted), timeout=60, what="InvokeCompleted")
    assert of(messages, InvokeCompleted)[-1].body == b"result=42"
    assert stack.option_count == 0
    assert pause.request_id


@shared_loop
async def test_breakpoint_toggles_off_and_blank_lines_refuse(shared):
    pilot, _messages, _project = shared
    app = pilot.app
    await on_line(pilot, 8)
    await pilot.press("alt+b")
    assert app.debug_marks(f"{CALC}.py")[0] == frozenset()
    await on_line(pilot, 4)  # blank line
    await pilot.press("alt+b")
    assert app.runtime.debug.breakpoints() == []


@shared_loop
async def test_profile_lists_functions_and_enter_opens_the_source(shared):
    pilot, messages, _project = shared
    app = pilot.app
    await select_function(pilot, CALC)
    messages.clear()
    await pilot.press("alt+p")
    await wait_until(pilot, lambda: app.query_one("#bottom").active == "profile", timeout=60, what="profile tab")
    view = app.query_one(ProfileView)
    functions = [row["function"] for row in view.rows]
    assert functions[0] == "handler" and "double" in functions
    rows = app.query_one("#profile-rows", OptionList)
    rows.focus()
    rows.highlighted = functions.index("double")
    await pilot.press("enter")
    await pilot.pause()
    editor = app.query_one(CodeEditor)
    assert editor.file == f"{CALC}.py" and editor.text_area.cursor_location[0] == 0
    assert isinstance(editor.text_area, TextArea)


@shared_loop
async def test_breakpoints_move_with_their_code_when_lines_are_added_or_removed(shared):
    pilot, _messages, _project = shared
    app = pilot.app
    app.runtime.debug.clear()
    editor = await on_line(pilot, 8)
    await pilot.press("alt+b")
    await on_line(pilot, 6)  # `def handler(...)`: a new line above it pushes the breakpoint down
    await pilot.press("home", "enter")
    assert app.debug_marks(f"{CALC}.py")[0] == frozenset({9})
    await pilot.press("backspace")  # and back up
    assert app.debug_marks(f"{CALC}.py")[0] == frozenset({8})
    await on_line(pilot, 9)  # below it: nothing moves
    await pilot.press("end", "enter")
    assert app.debug_marks(f"{CALC}.py")[0] == frozenset({8})
    await pilot.press("backspace")
    assert not editor.dirty
    app.runtime.debug.clear()


@shared_loop
async def test_breakpoints_are_kept_for_the_next_studio(shared):
    pilot, _messages, project = shared
    app = pilot.app
    app.runtime.debug.clear()
    await on_line(pilot, 3)
    await pilot.press("alt+b")
    saved = (project / ".funcstudio" / "breakpoints.json").read_text()
    assert '"file": "cloud-functions/api/calc.py"' in saved and '"line": 3' in saved
    from studio.runtime.debug import DebugHub
    from studio.runtime.events import EventBus

    restored = DebugHub(EventBus())
    make_app(project)._restore_breakpoints(restored)  # what the next studio on this project does
    assert [(b.file, b.line) for b in restored.breakpoints()] == [(str((project / f"{CALC}.py").resolve()), 3)]
    await pilot.press("alt+b")  # cleared here: the file says so too
    assert '"line": 3' not in (project / ".funcstudio" / "breakpoints.json").read_text()

"""The studio's core loop on discovery alone (no runtime): the crash on a dynamic route, drafts per
function, go to line, and names with brackets (issue 12, findings 1, 4, 5 and 7)."""

from __future__ import annotations

from studio_helpers import RUN, make_app, wait_until
from textual.widgets import Label, TextArea, Tree

from studio.tui.request_model import RequestDraft, RequestSpec
from studio.tui.screens.modals import ConfirmScreen, PromptScreen
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.invoke_panel import InvokePanel
from studio.tui.widgets.route_tree import RouteTree

USER = "cloud-functions/api/users/[id]"
HELLO = "cloud-functions/api/hello"


async def discovered(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.project is not None, what="discovery")
    await wait_until(pilot, lambda: bool(app.query("#body")), what="the request tabs")
    await pilot.pause()


def tree_line_of(app, function_id: str) -> int:
    tree = app.query_one("#route-tree", Tree)
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and getattr(node.data, "function_id", None) == function_id:
            return line
    raise AssertionError(f"{function_id} not in the tree")


async def test_enter_twice_on_a_dynamic_route_keeps_the_studio_and_the_param(showcase):
    """Finding 1: the second Enter rebuilt the :id field under the same DOM id (DuplicateIds)."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        tree = app.query_one("#route-tree", Tree)
        tree.focus()
        tree.cursor_line = tree_line_of(app, USER)
        await pilot.press("enter")
        await pilot.pause()
        panel = app.query_one(InvokePanel)
        panel.param_input("id").value = "42"
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert list(panel._param_inputs) == ["id"] and panel.param_input("id").value == "42"
        assert len(panel.query("#params Input")) == 1
        assert panel.query_one("#request-url").render().plain.endswith("/api/users/42")


async def test_each_function_keeps_its_own_draft(showcase):
    """Finding 4: a query and a header imported for one function are not sent to the next."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        tree = app.query_one(RouteTree)
        panel = app.query_one(InvokePanel)
        tree.select_function(HELLO)
        await pilot.pause()
        panel.load_spec(RequestSpec(method="POST", path="/api/hello", query=[("debug", "1")],
                                    headers=[("Authorization", "Bearer secret")], body='{"a": 1}'))
        await pilot.pause()
        assert "?debug=1" in panel.query_one("#request-url").render().plain

        tree.select_function(USER)
        await pilot.pause()
        draft = panel.current_draft()
        assert (draft.method, draft.query, draft.headers, draft.body) == ("GET", "", "", "")
        panel.param_input("id").value = "7"
        await pilot.pause()
        spec, error = panel.build_spec()
        assert error is None and spec.target == "/api/users/7" and spec.headers == []

        tree.select_function(HELLO)  # back: everything typed for hello is there again
        await pilot.pause()
        spec, error = panel.build_spec()
        assert error is None
        assert (spec.method, spec.target, spec.body) == ("POST", "/api/hello?debug=1", '{"a": 1}')
        assert ("Authorization", "Bearer secret") in spec.headers
        tree.select_function(USER)
        await pilot.pause()
        assert panel.param_input("id").value == "7"


async def test_the_seam_for_saved_requests(showcase):
    """`current_draft()` / `load_request(draft)` round-trip every field the panel holds."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        app.query_one(RouteTree).select_function(USER)
        await pilot.pause()
        panel = app.query_one(InvokePanel)
        draft = RequestDraft(function_id=USER, method="DELETE", path="/api/users/:id", params={"id": "9"},
                             query="a=1\nb=2", headers="X-A: 1", body="hi")
        panel.load_request(draft)
        await pilot.pause()
        assert panel.current_draft() == draft
        assert panel.query_one("#request-url").render().plain == "DELETE /api/users/9?a=1&b=2"


async def test_go_to_line_places_the_cursor_without_selecting(showcase):
    """Finding 5: ctrl+g, a line, Enter, then typing inserts (the whole line was selected and replaced)."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        app.query_one(RouteTree).select_function(HELLO)
        await pilot.pause()
        editor = app.query_one(CodeEditor)
        original = editor.text_area.document.get_line(2)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), what="the prompt")
        await pilot.press("3", "enter")
        await wait_until(pilot, lambda: app.focused is editor.text_area, what="the editor focused")
        await pilot.press("X")
        assert editor.text_area.document.get_line(2) == "X" + original


async def test_names_with_brackets_keep_them(showcase):
    """Finding 7: `[id]` in a file name is text, not markup, in dialogs and the palette."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        app.query_one(RouteTree).select_function(USER)
        await pilot.pause()
        editor = app.query_one(CodeEditor)
        editor.text_area.insert("# scratch\n", (0, 0))
        await pilot.pause()
        app.query_one(RouteTree).select_function(HELLO)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the unsaved question")
        label = app.screen.query_one(Label)
        assert "users/[id].py" in label.render().plain
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"open users")
        await wait_until(pilot, lambda: "[id].py" in _palette_text(app), timeout=10, what="the palette hit")


def _palette_text(app) -> str:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    if not lists:
        return ""
    command_list = lists.first()
    return "\n".join(str(command_list.get_option_at_index(i).prompt) for i in range(command_list.option_count))


async def test_studio_and_cli_build_the_same_scf_timer_event(scf_demo):
    """Finding 6: the studio's timer event is `invoke --event timer`'s: declared trigger, its message, now."""
    import json
    from datetime import datetime, timezone

    from studio.cli.invoke_event import prepare_event, use_declared_timer

    app = make_app(scf_demo, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        tick = next(fn for fn in app.project.functions if fn.name == "tick")
        app.query_one(RouteTree).select_function(tick.id)
        await pilot.pause()
        studio_event = json.loads(app.query_one("#body", TextArea).text)
    cli_event = use_declared_timer(prepare_event(tick.id, "timer", (), None), tick, ())
    timer = next(t for t in tick.triggers if t.type == "timer")
    assert studio_event["TriggerName"] == cli_event["TriggerName"] == timer.name != "EveryDay"
    assert studio_event["Message"] == cli_event["Message"] == (timer.message or "")
    fired = datetime.strptime(studio_event.pop("Time"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - fired).total_seconds()) < 600  # now, not the template's 2019
    cli_event.pop("Time")
    assert studio_event == cli_event


async def test_focus_ring_pane_keys_tab_and_jump(showcase):
    """Item 5: the focused pane is marked; f12 reaches the response; Tab leaves the body (ctrl+] indents);
    jump mode reaches a field in two keys; alt+z maximizes the focused pane and restores it."""
    from studio.tui.screens.jump import JumpScreen

    app = make_app(showcase, start_runtime=False)
    async with app.run_test(size=(160, 48), notifications=False, tooltips=False) as pilot:
        await discovered(pilot)
        app.query_one(RouteTree).select_function(HELLO)
        await pilot.pause()
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.focused is app.query_one("#path"), what="f4")
        invoke, editor = app.query_one("#invoke"), app.query_one("#editor")
        assert invoke.styles.border_left[1] != editor.styles.border_left[1]  # the ring is on the request only

        await pilot.press("f12")
        await wait_until(pilot, lambda: app.focused is app.query_one("#response-body"), what="f12")

        body = app.query_one("#body", TextArea)
        body.focus()
        await pilot.pause()
        await pilot.press("ctrl+right_square_bracket")
        assert body.text == "  "
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is not body and body.text == "  "

        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen), what="jump mode")
        await pilot.press("p")
        await wait_until(pilot, lambda: app.focused is app.query_one("#path"), what="jump to the path")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen), what="jump mode")
        await pilot.press("q")  # a field in a tab not shown: its tab opens
        await wait_until(pilot, lambda: app.focused is app.query_one("#query"), what="jump to the query")

        await pilot.press("alt+z")
        await pilot.pause()
        assert app.screen.maximized is invoke
        await pilot.press("alt+z")
        await pilot.pause()
        assert app.screen.maximized is None


async def test_small_terminal_stacks_and_wide_one_grows_the_tree(showcase):
    """Item 5: at 80x24 editor, request and response are stacked, usable, and ^j stays in the footer;
    the tree grows on a wide terminal and alt+right widens it."""
    from textual.widgets._footer import FooterKey

    app = make_app(showcase, start_runtime=False)
    async with app.run_test(size=(80, 24), notifications=False, tooltips=False) as pilot:
        await discovered(pilot)
        assert app.has_class("-stacked") and not app.query_one("#sidebar").display
        for pane in ("#editor", "#invoke", "#response"):
            region = app.query_one(pane).region
            assert region.height >= 5 and region.width >= 70, (pane, region)
        send = [k for k in app.query(FooterKey) if k.key == "ctrl+j"]
        assert send and send[0].region.right <= 80 and send[0].region.width > 0
        await pilot.press("f2")  # the tree comes back on demand
        await pilot.pause()
        assert app.query_one("#sidebar").display
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(size=(220, 60), notifications=False, tooltips=False) as pilot:
        await discovered(pilot)
        assert not app.has_class("-stacked")
        sidebar = app.query_one("#sidebar")
        assert sidebar.region.width == 44
        await pilot.press("alt+right")
        await pilot.pause()
        assert sidebar.region.width == 48


async def test_fuzzy_route_filter_and_enter_opens_the_first_match(showcase):
    """Item 5: `uid` finds /api/users/:id; Enter in the filter opens it; the markers have a legend."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        tree = app.query_one(RouteTree)
        assert "catch-all" in str(tree.query_one("#route-legend").render())
        await pilot.press("ctrl+f", *"uid")
        await pilot.pause()
        assert [e.path for e in tree.visible_entries() if e.kind == "route"] == ["/api/users/:id"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one(CodeEditor).file == USER + ".py", what="opened")


def test_external_editor_gets_the_line():
    from studio.tui.app import external_command

    assert external_command(["nvim"], "/p/a.py", 12) == ["nvim", "+12", "/p/a.py"]
    assert external_command(["/usr/bin/emacs", "-nw"], "/p/a.py", 3) == ["/usr/bin/emacs", "-nw", "+3", "/p/a.py"]
    assert external_command(["code", "-w"], "/p/a.py", 7) == ["code", "-w", "--goto", "/p/a.py:7"]
    assert external_command(["hx"], "/p/a.py", 7) == ["hx", "/p/a.py:7"]
    assert external_command(["myeditor"], "/p/a.py", 7) == ["myeditor", "/p/a.py"]


async def test_typing_right_after_a_jump_letter_goes_to_the_field(showcase):
    """ctrl+o, b and the body typed at once (a fast typist, a paste): each key after the letter dismissed
    the jump screen again, popping the studio's own screen (blank, then ScreenStackError). The keys
    typed after the letter now land in the field jumped to."""
    from textual import events

    from studio.tui.screens.jump import JumpScreen

    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await discovered(pilot)
        app.query_one(RouteTree).select_function(HELLO)
        await pilot.pause()
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, JumpScreen), what="jump mode")
        jump = app.screen
        for key, character in (("b", "b"), ("left_curly_bracket", "{"), ("x", "x"), ("right_curly_bracket", "}")):
            jump.post_message(events.Key(key, character))  # all queued before the screen is gone
        body = app.query_one("#body", TextArea)
        await wait_until(pilot, lambda: app.focused is body, what="jump to the body")
        await pilot.pause()
        assert len(app.screen_stack) == 1 and not isinstance(app.screen, JumpScreen)
        assert body.text == "{x}"

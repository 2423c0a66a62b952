"""Finding a route without the mouse: the studio opens in the route filter; down or enter goes into
the tree on the first match, escape goes back; enter on a route opens it (no runtime needed)."""

from __future__ import annotations

from studio_helpers import RUN, make_app, wait_until
from textual.widgets import Input, Tree

from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.route_tree import RouteTree


async def test_filter_tree_and_back_by_keys(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        routes = app.query_one(RouteTree)
        tree = app.query_one("#route-tree", Tree)
        flt = app.query_one("#route-filter", Input)
        assert app.focused is flt

        await pilot.press(*"boom")
        assert [e.function_id for e in routes.visible_entries()] == ["cloud-functions/api/boom"]
        await pilot.press("down")
        assert app.focused is tree and tree.cursor_node.data.function_id == "cloud-functions/api/boom"
        await pilot.press("enter")
        await wait_until(pilot, lambda: (app.query_one(CodeEditor).file or "").endswith("api/boom.py"),
                         what="the file opens")

        await pilot.press("escape")
        assert app.focused is flt
        await pilot.press(*["backspace"] * 4, *"users")
        await pilot.press("enter")  # enter works like down
        assert app.focused is tree and "users" in tree.cursor_node.data.function_id
        await pilot.press("down")  # inside the tree, down is the tree's own
        assert app.focused is tree and tree.cursor_line > 0


async def test_enter_pressed_before_discovery_opens_the_match_when_it_comes(showcase):
    """ctrl+f, a filter, down, enter typed ahead of discovery, then f4: the enter was eaten (the tree held
    only its placeholder) and the route never opened. It opens once discovery brings the match."""
    from textual.app import App

    from studio.project.loader import load_project

    selected: list[str] = []

    class Host(App):
        def compose(self):
            yield RouteTree(id="routes")
            yield Input(id="elsewhere")

        def on_route_tree_route_selected(self, message: RouteTree.RouteSelected) -> None:
            selected.append(message.entry.function_id)

    app = Host()
    async with app.run_test(**RUN) as pilot:
        routes = app.query_one(RouteTree)
        routes.show_loading()
        app.query_one("#route-filter", Input).focus()
        await pilot.press(*"users/:id", "down", "enter", "enter")
        app.query_one("#elsewhere", Input).focus()  # f4: the focus moves on before discovery ends
        await pilot.pause()
        assert selected == []
        routes.set_project(load_project(showcase))
        await pilot.pause()
        assert selected == ["cloud-functions/api/users/[id]"]


async def test_at_80x24_the_empty_editor_says_how_to_reach_the_hidden_tree(showcase):
    """The stacked layout hides the tree, and the first screen said only 'select a route': of what?
    It names the key, and that key brings the tree back."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(size=(80, 24), notifications=False, tooltips=False) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        assert not app.query_one("#sidebar").display or not app.query_one("#sidebar").region.area
        assert "ctrl+f" in str(app.query_one("#editor-title").render())
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.query_one("#sidebar").region.area and app.focused is app.query_one("#route-filter", Input)

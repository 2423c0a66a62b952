"""Keyboard and palette: the action registry, remapping through settings.keymap, help, the palette."""

from __future__ import annotations

from studio_helpers import RUN, make_app, of, select_function, started, wait_until

from studio.tui import actions
from studio.tui.messages import InvokeRequested
from studio.tui.screens.modals import HelpScreen


def test_every_binding_has_a_unique_id_and_tooltip():
    ids = [spec.id for spec in actions.ACTIONS]
    assert len(ids) == len(set(ids))
    for spec in actions.ACTIONS:
        assert "." in spec.id and spec.tooltip.endswith(".")
    usable, problems = actions.checked_keymap({"invoke.send": "alt+enter", "nope.nothing": "x", "editor.save": ""})
    assert usable == {"invoke.send": "alt+enter"}
    assert any("nope.nothing" in p for p in problems) and any("editor.save" in p for p in problems)


async def test_keymap_from_settings_remaps_send(showcase):
    with open(showcase / "funcstudio.toml", "a") as fh:
        fh.write('\n[keymap]\n"invoke.send" = "alt+enter"\n')
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        await started(pilot)
        await select_function(pilot, "cloud-functions/api/hello")
        await pilot.press("ctrl+j")  # the old key no longer sends
        await pilot.pause()
        assert not of(messages, InvokeRequested)
        await pilot.press("alt+enter")
        await wait_until(pilot, lambda: of(messages, InvokeRequested), what="alt+enter sends")


async def test_help_lists_every_action(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[1] for row in app.screen.rows}
        assert ids == {spec.id for spec in actions.ACTIONS}
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_opens_a_route(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"open shop")
        await wait_until(
            pilot, lambda: len(app.screen.query("CommandList Option, CommandList")) > 0, what="palette hits"
        )
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: app.query_one("#editor").file == "cloud-functions/api/shop/[category]/[item].py",
            what="route opened",
        )


async def test_toggle_panels_and_external_editor_without_a_terminal(showcase, monkeypatch):
    monkeypatch.setenv("EDITOR", "true")
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        await pilot.press("ctrl+b")
        assert not app.query_one("#sidebar").display
        await pilot.press("ctrl+b", "ctrl+t")
        assert app.query_one("#sidebar").display and not app.query_one("#bottom").display
        await select_function(pilot, "cloud-functions/api/hello")
        await pilot.press("alt+o")  # headless: suspend is not supported; the studio says so and stays
        await pilot.pause()
        assert app.query_one("#editor").file == "cloud-functions/api/hello.py"


def test_keymap_validation_finds_bad_keys_and_collisions():
    """Finding 9: the README's old example (f9 is History's), a key that does not parse, an unknown id."""
    usable, problems = actions.checked_keymap(
        {"invoke.send": "f9", "view.logs": "notakey!!", "view.nothing": "f12", "editor.goto": "ctrl+l"})
    assert usable == {"editor.goto": "ctrl+l"}
    text = "\n".join(problems)
    assert "'invoke.send' = 'f9' collides with 'view.history'" in text
    assert "'notakey!!' is not a key" in text and "unknown binding id 'view.nothing'" in text
    # widget bindings of different widgets are never live together: enter in logs and in history is fine
    assert actions.checked_keymap({"logs.detail": "enter", "history.open": "enter"}) == (
        {"logs.detail": "enter", "history.open": "enter"}, [])
    # two app-wide actions are: this collides
    assert actions.checked_keymap({"view.logs": "f5"})[1]


async def test_keymap_problems_are_said_once_per_change(showcase):
    """Finding 9: one message when the keymap changes, not another on every reload."""
    settings = showcase / "funcstudio.toml"
    settings.write_text(settings.read_text() + '\n[keymap]\n"view.logs" = "notakey!!"\n')
    app = make_app(showcase, start_runtime=False)
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(message)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        await pilot.pause()
        assert len([m for m in said if "notakey" in m]) == 1
        app._check_keymap()  # what every reload does
        app._check_keymap()
        assert len([m for m in said if "notakey" in m]) == 1
        app.settings = type(app.settings)(**{**app.settings.__dict__, "keymap": {"view.logs": "f12", "x.y": "f1"}})
        app._check_keymap()  # a changed keymap: one new message naming what is wrong now
        assert len(said) == 2 and "x.y" in said[-1]


def test_the_default_keys_parse_and_never_collide():
    """Every default binding is a key Textual parses, and no two actions live at once share one."""
    assert actions.checked_keymap({spec.id: spec.keys for spec in actions.ACTIONS}) == (
        {spec.id: spec.keys for spec in actions.ACTIONS}, [])


def _as_a_terminal_sends_it(key: str) -> str:
    """The key Textual reports when a terminal without the kitty keyboard protocol (tmux, most
    xterms) sends `key`: alt+<letter> arrives as ESC <letter>, which Textual may read as another key."""
    from textual._xterm_parser import XTermParser

    modifiers, _, base = key.rpartition("+")
    if modifiers != "alt" or len(base) != 1:
        return key
    parser = XTermParser()
    events = [*parser.feed("\x1b" + base), *parser.feed("")]
    return next(e.key for e in events if hasattr(e, "key"))


def test_every_action_has_a_key_a_plain_terminal_delivers():
    """alt+b reaches the studio as ctrl+left (ESC b is readline's word-left): an action bound only to
    it could not be pressed in tmux or xterm, so each action keeps a key that arrives as itself."""
    for spec in actions.ACTIONS:
        keys = [k.strip() for k in spec.keys.split(",")]
        assert any(_as_a_terminal_sends_it(k) == k for k in keys), f"{spec.id}: {spec.keys} never arrives"

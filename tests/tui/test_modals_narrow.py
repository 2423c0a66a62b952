"""The studio's dialogs at 80x24: every button on screen (the focused default included) and the
whole question readable, not cut at the dialog's edge."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button, Label

from studio.tui.screens.modals import ConfirmScreen, PromptScreen

QUESTION = ("cloud-functions/api/users/[id].py changed on disk since it was opened; "
            "saving would overwrite that change.")
CHOICES = (("overwrite", "Overwrite"), ("reload", "Reload from disk"), ("diff", "Show diff"), ("cancel", "Cancel"))


def _inside(inner, outer) -> bool:
    return (inner.x >= outer.x and inner.y >= outer.y and inner.right <= outer.right
            and inner.bottom <= outer.bottom)


async def test_a_four_button_question_fits_80_columns():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ConfirmScreen(QUESTION, CHOICES, default="cancel"))
        await pilot.pause()
        screen = app.screen
        dialog = screen.query_one("Vertical").region
        for button in screen.query(Button):
            assert _inside(button.region, dialog), f"{button.id} is cut off: {button.region} in {dialog}"
        assert screen.focused is not None and screen.focused.id == "cancel"
        label = screen.query_one(Label)
        assert label.region.height >= 2 and _inside(label.region, dialog), "the question is cut to one line"


async def test_a_long_prompt_title_wraps_at_80_columns():
    title = "Save as a request in http-requests/api-users-id.http (or FILE.http#NAME to pick another file)"
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(PromptScreen(title, "name"))
        await pilot.pause()
        screen = app.screen
        label = screen.query_one(Label)
        assert label.region.height >= 2 and _inside(label.region, screen.query_one("Vertical").region)


async def test_help_says_what_each_key_does_at_80_columns():
    """The help's 'what it does' column starts on screen at 80x24 (it came after the long ids, past the edge)."""
    from textual.widgets import DataTable

    from studio.tui import actions
    from studio.tui.screens.modals import HelpScreen

    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HelpScreen(actions.help_rows()))
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        columns = list(table.columns.values())
        what = next(i for i, c in enumerate(columns) if str(c.label) == "what it does")
        start = sum(c.get_render_width(table) for c in columns[:what])
        assert start + 20 <= table.size.width, f"'what it does' starts at column {start} of {table.size.width}"


def test_help_shows_keys_as_they_are_on_the_keyboard():
    """The help listed 'question_mark,f1' and 'ctrl+right_square_bracket' (Textual's key names)."""
    from studio.tui.screens.modals import key_display

    assert key_display("question_mark,f1") == "?, f1"
    assert key_display("ctrl+right_square_bracket") == "ctrl+]"
    assert key_display("ctrl+j,ctrl+enter") == "ctrl+j, ctrl+⏎"  # as the footer shows it
    assert key_display("slash") == "/" and key_display("alt+b,alt+k") == "alt+b, alt+k"

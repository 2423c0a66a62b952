"""The bottom panel's layout: taller and shorter by key and by dragging its top edge, maximized over
the editor and back; the line detail gets at least half of the log pane."""

from __future__ import annotations

from studio_helpers import RUN, make_app, wait_until

from studio.tui.app import BottomPanel
from studio.tui.widgets.log_view import LogDetail, LogsPane, LogView


async def test_resize_by_key_and_mouse_maximize_and_a_detail_of_half(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.query(BottomPanel) and app.query(LogsPane), what="the bottom panel")
        tabs = app.query_one("#bottom")
        await pilot.pause()
        start = tabs.outer_size.height
        await pilot.press("alt+up")
        await wait_until(pilot, lambda: tabs.outer_size.height == start + BottomPanel.STEP, what="taller")
        await pilot.press("alt+down", "alt+down")
        await wait_until(pilot, lambda: tabs.outer_size.height == start - BottomPanel.STEP, what="shorter")

        # drag the top edge up to row 10: the panel reaches from there to the footer
        top = tabs.region.y
        await pilot.mouse_down(offset=(5, top))  # screen coordinates
        await pilot.hover(offset=(5, 10))
        await pilot.mouse_up(offset=(5, 10))
        await wait_until(pilot, lambda: tabs.region.y == 10, what="dragged to row 10")

        await pilot.press("alt+m")
        await wait_until(pilot, lambda: not app.query_one("#main").display and tabs.region.y <= 2,
                         what="maximized")
        await pilot.press("alt+m")
        await wait_until(pilot, lambda: app.query_one("#main").display, what="back")

        view, detail = app.query_one(LogView), app.query_one(LogDetail)
        view.focus()
        await pilot.press("enter")  # the cursor line in full
        await wait_until(pilot, lambda: detail.shown and detail.size.height, what="the detail")
        assert detail.outer_size.height >= view.outer_size.height


async def test_maximize_shows_the_panel_hidden_by_the_stacked_layout(showcase):
    """At 80x24 the bottom panel starts hidden; alt+m maximized it anyway and hid everything else:
    a blank screen. Maximizing now shows the panel it gives the screen to."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(size=(80, 24), notifications=False, tooltips=False) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        tabs = app.query_one("#bottom")
        assert app.has_class("-stacked") and not tabs.display
        await pilot.press("alt+m")
        await pilot.pause()
        assert app.query_one(BottomPanel).maximized
        assert tabs.display and tabs.region.height > 10
        await pilot.press("alt+m")
        await pilot.pause()
        assert not app.query_one(BottomPanel).maximized and app.query_one("#editor").region.height > 0

"""The editor on a real project: edit and save, the dirty marker, the unsaved-changes guard,
jump to a line, and the plain-text fallback for big files."""

from __future__ import annotations

from studio_helpers import RUN, make_app, wait_for_workers, wait_until

from studio.tui.screens.modals import ConfirmScreen, PromptScreen
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.route_tree import RouteTree

HELLO = "cloud-functions/api/hello"


async def open_hello(app, pilot) -> CodeEditor:
    await wait_until(pilot, lambda: app.project is not None, what="discovery")
    await pilot.pause()
    app.query_one(RouteTree).select_function(HELLO)
    await pilot.pause()
    editor = app.query_one(CodeEditor)
    assert editor.file == HELLO + ".py"
    return editor


async def test_edit_save_and_dirty_marker(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        assert editor.text_area.language == "python"
        assert not editor.dirty
        editor.text_area.focus()
        await pilot.press("ctrl+home", *"# edited", "enter")
        assert editor.dirty
        assert "modified" in str(editor.query_one("#editor-title").render())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not editor.dirty, what="save")
        assert (showcase / f"{HELLO}.py").read_text().startswith("# edited\n")
        assert "modified" not in str(editor.query_one("#editor-title").render())


async def test_unsaved_guard_on_switch(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# scratch\n", (0, 0))
        await pilot.pause()
        app.query_one(RouteTree).select_function("cloud-functions/api/boom")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert editor.file == HELLO + ".py"  # nothing switched yet
        await pilot.click("#cancel")
        await pilot.pause()
        assert editor.file == HELLO + ".py" and editor.dirty

        app.query_one(RouteTree).select_function("cloud-functions/api/boom")
        await pilot.pause()
        await pilot.click("#discard")
        await pilot.pause()
        assert editor.file == "cloud-functions/api/boom.py"
        assert not (showcase / f"{HELLO}.py").read_text().startswith("# scratch")


async def test_quit_guard_saves(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# kept\n", (0, 0))
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#save")
        await pilot.pause()
    assert (showcase / f"{HELLO}.py").read_text().startswith("# kept\n")


async def test_goto_line(showcase):
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("1", "4", "enter")
        await pilot.pause()
        assert editor.text_area.cursor_location == (13, 0)
        assert editor.text_area.selected_text == ""  # the cursor only (issue 12, finding 5)
        assert editor.text_area.document.get_line(13).startswith("class handler")


async def test_big_file_falls_back_to_plain_text(showcase):
    big = showcase / "cloud-functions" / "api" / "big.py"
    big.write_text("def handler(event, context):\n    return 1\n" + "x = 1\n" * 3000)
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        notice = app.query_one(CodeEditor).open("cloud-functions/api/big.py")
        assert notice and "highlighting off" in notice
        assert app.query_one(CodeEditor).text_area.language is None


async def test_ctrl_s_never_overwrites_a_change_made_on_disk(showcase):
    """Finding 3: a change made on disk since the file was read survives ctrl+s; the studio asks."""
    app = make_app(showcase, start_runtime=False)
    path = showcase / f"{HELLO}.py"
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# mine\n", (0, 0))
        path.write_text("# theirs\n" + path.read_text())  # another editor, a git checkout
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the conflict question")
        assert path.read_text().startswith("# theirs\n")
        await pilot.press("escape")  # cancel: nothing written, the buffer stays
        await pilot.pause()
        assert path.read_text().startswith("# theirs\n") and editor.dirty

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the conflict question")
        await pilot.pause()
        await pilot.click("#reload")
        await wait_until(pilot, lambda: editor.text_area.text.startswith("# theirs\n"), what="reloaded")
        assert not editor.dirty


async def test_the_editor_follows_its_file(showcase):
    """File safety: an outside change reloads a clean buffer; a dirty one asks (reload / keep mine / diff)."""
    from studio.tui.screens.modals import TextScreen

    app = make_app(showcase, start_runtime=False)
    path = showcase / f"{HELLO}.py"
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        path.write_text("# outside 1\n" + path.read_text())
        editor.check_disk()  # what the watch timer does every second
        await pilot.pause()
        assert editor.text_area.text.startswith("# outside 1\n") and not editor.dirty

        editor.text_area.insert("# mine\n", (0, 0))
        original = path.read_text()
        path.write_text(original + "# outside 2\n")
        editor.check_disk()
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.pause()
        await pilot.click("#diff")
        await wait_until(pilot, lambda: isinstance(app.screen, TextScreen), what="the diff")
        assert "+# mine" in str(app.screen.body) and "-# outside 2" in str(app.screen.body)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")
        await pilot.pause()
        await pilot.click("#keep")
        await pilot.pause()
        assert editor.text_area.text.startswith("# mine\n") and editor.dirty
        await pilot.press("ctrl+s")  # kept knowingly: this save overwrites without a second question
        await wait_until(pilot, lambda: not editor.dirty, what="saved")
        assert path.read_text().startswith("# mine\n")


async def test_the_unsaved_guard_saves_through_the_editor(showcase):
    """The guard's Save goes through CodeEditor.save, so it also refuses to overwrite an outside change."""
    app = make_app(showcase, start_runtime=False)
    path = showcase / f"{HELLO}.py"
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# mine\n", (0, 0))
        path.write_text("# theirs\n" + path.read_text())
        app.query_one(RouteTree).select_function("cloud-functions/api/boom")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the unsaved question")
        await pilot.pause()
        await pilot.click("#save")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                         and app.screen.query("#overwrite"),
                         what="the conflict question")
        assert path.read_text().startswith("# theirs\n")
        await pilot.pause()
        await pilot.click("#overwrite")
        await wait_until(pilot, lambda: editor.file == "cloud-functions/api/boom.py", what="switched after saving")
        assert path.read_text().startswith("# mine\n")


async def test_one_question_for_one_outside_change(showcase):
    """ctrl+s pressed just as the watcher sees the same outside change asked twice (the watcher's question
    under the save's); after Reload the second one still claimed unsaved edits. Now the first question decides."""
    app = make_app(showcase, start_runtime=False)
    path = showcase / f"{HELLO}.py"
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# mine\n", (0, 0))
        path.write_text(path.read_text() + "# theirs\n")
        editor.check_disk()  # the watch timer's tick...
        editor.save()  # ...and ctrl+s, in the same moment
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await wait_for_workers(app)
        await pilot.pause()
        assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
        await pilot.click("#reload")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and not editor.dirty
        assert editor.text_area.text.endswith("# theirs\n")
        editor.check_disk()
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_escape_on_the_disk_question_still_guards_the_save(showcase):
    """Escape on "changed on disk" decides nothing: the next ctrl+s asks before overwriting."""
    app = make_app(showcase, start_runtime=False)
    path = showcase / f"{HELLO}.py"
    async with app.run_test(**RUN) as pilot:
        editor = await open_hello(app, pilot)
        editor.text_area.insert("# mine\n", (0, 0))
        path.write_text(path.read_text() + "# theirs\n")
        editor.check_disk()
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.query("#overwrite"),
                         what="the save asks")
        await pilot.press("escape")
        await pilot.pause()
        assert path.read_text().endswith("# theirs\n") and editor.dirty


async def test_the_editor_takes_no_typing_before_a_file_is_open(showcase):
    """f3 then typing (or ctrl+g, 15, enter) before any route was chosen wrote into a buffer that
    belonged to no file and vanished with the first route; now it stays empty until a file opens."""
    app = make_app(showcase, start_runtime=False)
    async with app.run_test(**RUN) as pilot:
        editor = app.query_one(CodeEditor)
        await pilot.press("f3")
        await wait_until(pilot, lambda: app.focused is editor.text_area, what="f3")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press(*"15", "enter")
        assert editor.text_area.text == "" and editor.file is None
        await open_hello(app, pilot)
        editor.text_area.focus()
        await pilot.press("ctrl+home", *"#")
        assert editor.text_area.text.startswith("#") and editor.dirty

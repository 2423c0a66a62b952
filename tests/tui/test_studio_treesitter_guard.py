"""tree-sitter 0.26.x segfaults when the JSON highlight query is built twice in one process
(STYLE.md 3.1). The studio builds several JSON editors, so this runs two in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import asyncio
    from textual.app import App
    from textual.widgets import TextArea
    from studio.tui.syntax import language_available

    class Two(App):
        def compose(self):
            yield TextArea('{"a": 1}', language="json")
            yield TextArea('[1, 2]', language="json")

    async def main():
        assert language_available("json") and language_available("python")
        async with Two().run_test() as pilot:
            areas = pilot.app.query(TextArea)
            areas.first().language = "json"
            areas.last().text = '{"b": [true, null]}'
            await pilot.pause()
        print("ok")

    asyncio.run(main())
""")


def test_two_json_editors_in_one_process(repo_root):
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=repo_root, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"

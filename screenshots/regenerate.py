"""Regenerate screenshots/*.svg: the studio's key screens on sample_projects/pages-showcase.

    .venv/bin/python screenshots/regenerate.py            # writes screenshots/<scene>.svg for every scene
    .venv/bin/python screenshots/regenerate.py --png      # also PNGs (needs rsvg-convert, librsvg2-bin)

Each scene runs the real studio (runtime, workers, store) on a fresh copy of the sample in a temp
folder, with everything nondeterministic off: the port, durations, timestamps and request ids are
hidden, the cursor does not blink and there are no toasts. The snapshot tests reuse `SCENES`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_projects" / "pages-showcase"
SIZE = (120, 40)

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


async def _until(pilot, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the studio did not reach the scene's state in time")
        await pilot.pause(0.05)


async def _ready(pilot) -> None:
    app = pilot.app
    await _until(pilot, lambda: app.project is not None and app.url is not None and app.store is not None)
    await _until(pilot, lambda: app.query_one("#logs-pane").scans > 0)  # the log view has read the store
    await pilot.pause()


async def _send(pilot) -> None:
    app = pilot.app
    done = len(app.query_one("#history-view").rows)
    await pilot.press("ctrl+j")
    await _until(pilot, lambda: app.pending_request_id is None and app.query_one("#response").response)
    await _until(pilot, lambda: len(app.query_one("#history-view").rows) > done)
    request_id = app.query_one("#history-view").rows[0].request_id
    view = app.query_one("#log-view")

    def newest_line_is_in() -> bool:  # the log view reads the store on its own (StoreChanged)
        row = view.row_at(view.line_count - 1)
        return row is not None and row.request_id == request_id and row.status is not None

    await _until(pilot, newest_line_is_in)
    await pilot.pause()


async def _select(pilot, function_id: str) -> None:
    pilot.app.query_one("#sidebar").select_function(function_id)
    await pilot.pause()


async def overview(pilot) -> None:
    await _ready(pilot)
    await _select(pilot, "cloud-functions/api/users/[id]")
    pilot.app.query_one("#invoke").param_input("id").value = "42"
    pilot.app.query_one("#route-tree").focus()
    await pilot.pause()


async def invoke(pilot) -> None:
    from textual.widgets import TextArea

    await _ready(pilot)
    await _select(pilot, "cloud-functions/api/hello")
    app = pilot.app
    app.query_one("#method").value = "POST"
    app.query_one("#body", TextArea).load_text('{"name": "Ada", "langs": ["python", "sql"]}')
    await _send(pilot)
    app.query_one("#response-body").focus()
    await pilot.pause()


CRASH = '''"""A function that fails two calls deep (the trace scene)."""


def parse(raw):
    int(raw)


def handler(request):
    parse("three")
'''


async def trace(pilot) -> None:
    """A failure's trace. The function is the scene's own: each failing line is one whole expression,
    so Python 3.11+ draws no carets under it and the screen is the same on 3.10 and 3.11+."""
    app = pilot.app
    await _ready(pilot)
    (app.root / "cloud-functions" / "api" / "crash.py").write_text(CRASH, encoding="utf-8")
    await _until(pilot, lambda: any(fn.id == "cloud-functions/api/crash" for fn in app.project.functions))
    await _select(pilot, "cloud-functions/api/crash")
    await _send(pilot)
    await pilot.press("f10")
    await pilot.pause()


async def small(pilot) -> None:
    """80x24: editor, request and response stacked; a request written and sent, its response read."""
    app = pilot.app
    await _ready(pilot)
    await _select(pilot, "cloud-functions/api/users/[id]")
    app.query_one("#invoke").param_input("id").value = "42"
    await pilot.press("f4")
    await _send(pilot)
    await pilot.press("f12")
    await pilot.pause()


async def wide(pilot) -> None:
    """160x48: the route tree grows with the terminal; the focus ring on the request."""
    app = pilot.app
    await _ready(pilot)
    await _select(pilot, "cloud-functions/api/users/[id]")
    app.query_one("#invoke").param_input("id").value = "42"
    await _send(pilot)
    await pilot.press("f4")
    await pilot.pause()


async def jump(pilot) -> None:
    """Jump mode (ctrl+o): a letter on every pane and field."""
    await overview(pilot)
    await pilot.press("ctrl+o")
    await pilot.pause()


async def logs(pilot) -> None:
    from studio.tui.log_source import LogFilters

    await _ready(pilot)
    app = pilot.app
    for function_id in ("cloud-functions/api/logs", "cloud-functions/api/boom", "cloud-functions/api/logs"):
        await _select(pilot, function_id)
        await _send(pilot)
    pane = app.query_one("#logs-pane")
    pane.set_functions(sorted(fn.id for fn in app.project.functions))
    scans = pane.scans
    pane.apply_filters(LogFilters(function_id="cloud-functions/api/logs", level="INFO"))
    await _until(pilot, lambda: pane.scans > scans and pane.view.line_count > 0)  # the filter's first page
    await pilot.press("f8")
    app.query_one("#bottom").styles.height = 20
    await pilot.pause()
    await pilot.press("k", "enter")  # the cursor line in full, with its invocation
    await pilot.pause()


async def debug(pilot) -> None:
    await _ready(pilot)
    app = pilot.app
    await _select(pilot, "cloud-functions/api/users/[id]")
    app.query_one("#invoke").param_input("id").value = "42"
    app.query_one("#editor").goto(16)  # `if user is None:`
    await pilot.press("alt+b")  # a breakpoint on the editor's line
    await pilot.press("ctrl+j")
    await _until(pilot, lambda: app._debug_current is not None)
    app.query_one("#bottom").styles.height = 16
    tree = app.query_one("#debug-locals")
    await _until(pilot, lambda: len(tree.root.children) > 0)
    for node in tree.root.children:
        if str(node.label).startswith("user:"):
            node.expand()
    app.query_one("#debug-eval").focus()
    await pilot.pause()
    await pilot.press(*"user['name'].upper()", "enter")
    pane = app.query_one("#debug-pane")
    await _until(pilot, lambda: pane.watch_values.get("user['name'].upper()") not in (None, "…"))
    await pilot.press("f11")
    await pilot.pause()
    app.query_one("#editor").goto(16)  # centred again in the editor's final height
    await pilot.pause()


USERS_HTTP = """\
# Requests for the users API, shared in git (`funcstudio invoke . --request http-requests/users.http#get-user`).
@id = 7

### get user
# function: cloud-functions/api/users/[id]
GET {{host}}/api/users/{{id}}?full=1
Accept: application/json
User-Agent: {{agent}}

### list users
GET /api/users/list
"""


async def _open_saved_requests(pilot) -> None:
    """Write http-requests/users.http and an environment into the copy, then alt+l and pick `dev`."""
    import json

    from studio.tui.screens.requests import RequestsScreen

    app = pilot.app
    (app.root / "http-requests").mkdir(exist_ok=True)
    (app.root / "http-requests" / "users.http").write_text(USERS_HTTP, encoding="utf-8")
    (app.root / "http-client.env.json").write_text(json.dumps(
        {"dev": {"host": "http://localhost:8088", "id": "42", "agent": "funcstudio-docs"}, "prod": {}}),
        encoding="utf-8")
    await _ready(pilot)
    await _select(pilot, "cloud-functions/api/users/[id]")
    await pilot.press("alt+l")
    await _until(pilot, lambda: isinstance(app.screen, RequestsScreen))
    await pilot.press("ctrl+e")
    await pilot.pause()


async def saved_requests(pilot) -> None:
    """The saved-request picker: every .http file's requests, the shown function's first."""
    await _open_saved_requests(pilot)


async def saved_request(pilot) -> None:
    """A request loaded from http-requests/users.http with the `dev` environment, then sent."""
    app = pilot.app
    await _open_saved_requests(pilot)
    await pilot.press("enter")
    panel = app.query_one("#invoke")
    await _until(pilot, lambda: panel.entry is not None and panel.entry.function_id == "cloud-functions/api/users/[id]"
                 and panel.current_draft().params == {"id": "42"})
    await pilot.pause()
    await _send(pilot)
    app.query_one("#response-body").focus()
    await pilot.pause()


SCENES = {"overview": overview, "invoke": invoke, "trace": trace, "logs": logs, "debug": debug,
          "saved-requests": saved_requests, "saved-request": saved_request, "small": small, "wide": wide,
          "jump": jump}
SIZES = {"small": (80, 24), "wide": (160, 48)}
"""Scenes at another terminal size than SIZE."""


def make_app(project: Path):
    from studio.tui.app import StudioApp, StudioOptions

    return StudioApp(project, port=0, options=StudioOptions(fixed=True, quiet=True))


def copy_sample(into: Path) -> Path:
    target = into / "pages-showcase"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns(".funcstudio"))
    return target


async def capture(name: str, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(copy_sample(Path(tmp)))
        async with app.run_test(size=SIZES.get(name, SIZE), notifications=False, tooltips=False) as pilot:
            await SCENES[name](pilot)
            await pilot.pause(0.2)
            path = out / f"{name}.svg"
            path.write_text(app.export_screenshot(title=f"funcstudio · {name}"), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SCENES))
    parser.add_argument("--png", action="store_true", help="also write PNGs with rsvg-convert")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    for name in args.names:
        path = asyncio.run(capture(name, args.out))
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
        if args.png:
            png = path.with_suffix(".png")
            subprocess.run(["rsvg-convert", "-w", "1400", str(path), "-o", str(png)], check=True)
            print(f"wrote {png}")


if __name__ == "__main__":
    main()

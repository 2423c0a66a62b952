"""Helpers for the studio's Pilot tests: the app with nondeterminism off, and bounded waits."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from textual.worker import WorkerCancelled, WorkerFailed

from studio.tui.messages import InvokeCompleted, InvokeFailed

SIZE = (120, 40)
RUN = {"size": SIZE, "notifications": False, "tooltips": False}


def make_app(root: Path, **options):
    from studio.tui.app import StudioApp, StudioOptions

    return StudioApp(root, port=0, options=StudioOptions(fixed=True, **options))


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Pause in small steps until `predicate()` holds; fail (naming `what`) after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


async def wait_for_workers(app) -> None:
    """Wait for the app's finite workers (cancelled ones are fine)."""
    workers = [w for w in app.workers if w.group != "log-ids" or not w.is_finished]
    if workers:
        with suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete(workers)


async def started(pilot) -> None:
    """The project is in the tree, the gateway answers and the recorder writes the store."""
    app = pilot.app
    await wait_until(pilot, lambda: app.project is not None and app.url is not None and app.recorder is not None,
                     what="project, runtime and recorder")


async def select_function(pilot, function_id: str) -> None:
    from studio.tui.widgets.route_tree import RouteTree

    tree = pilot.app.query_one(RouteTree)
    assert tree.select_function(function_id), f"{function_id} is not in the route tree"
    await pilot.pause()


def of(messages, kind):
    """Each message once (the hook sees a bubbling message at every node it passes)."""
    return list({id(m): m for m in messages if isinstance(m, kind)}.values())


async def send_and_wait(pilot, messages) -> InvokeCompleted:
    before = len(of(messages, InvokeCompleted))
    await pilot.press("ctrl+j")
    await wait_until(pilot, lambda: len(of(messages, InvokeCompleted)) > before or of(messages, InvokeFailed),
                     timeout=60, what="InvokeCompleted")
    assert not of(messages, InvokeFailed), of(messages, InvokeFailed)[0].reason
    await pilot.pause()
    return of(messages, InvokeCompleted)[-1]


TAB_FOCUS = {"f8": "log-view", "f9": "history-table", "f10": "trace-frames"}


async def focus_tab(pilot, key: str) -> None:
    """Press a panel key and wait until the focus has moved there (focus changes are deferred)."""
    await pilot.press(key)
    try:
        await wait_until(pilot, lambda: pilot.app.focused is not None
                         and pilot.app.focused.id == TAB_FOCUS[key], what=f"focus after {key}")
    except AssertionError as exc:
        screen = pilot.app.screen
        detail = f"{getattr(screen, 'title_text', '')}: {getattr(screen, 'body', '')}"[-1500:]
        raise AssertionError(f"{exc}; focused: {pilot.app.focused!r}, screen: {screen!r} {detail}") from None

"""What the debugger tests share (tests/runtime/test_debugger*.py, tests/tui/test_studio_debug.py,
tests/cli/test_cli_debug.py): the small project they debug, a DebugHub put back to how a new one
starts, and a debugged call that runs on a thread while the test drives the debugger.

The line numbers the tests name are CALC's: 2 `twice = n * 2`, 3 `return twice`, 4 blank,
6 `def handler`, 7 `value = 21`, 8 `result = double(value)`, 9 the return. BOOM raises a KeyError
on its line 4 (`items[missing]`)."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from helpers import write_files

from studio.runtime.debug import Pause, Pauses
from studio.runtime.invocation import InvocationRecord

CALC_ID = "cloud-functions/api/calc"
CALC_FILE = f"{CALC_ID}.py"
CALC = {
    CALC_FILE: """
        def double(n):
            twice = n * 2
            return twice


        def handler(event, context):
            value = 21
            result = double(value)
            return {"statusCode": 200, "body": f"result={result}"}
    """,
}

BOOM = {
    "cloud-functions/api/boom.py": """
        def handler(event, context):
            items = {"a": 1, "b": [1, 2, 3]}
            missing = "zzz"
            return {"statusCode": 200, "body": str(items[missing])}
    """,
}


def project_files(*more: Mapping[str, str]) -> dict[str, str]:
    """{relative path: text} of CALC plus `more`, each text as it lands on disk (dedented, no leading
    blank line, so the line numbers above hold)."""
    files = {rel: text for part in (CALC, *more) for rel, text in part.items()}
    return {rel: textwrap.dedent(text).lstrip("\n") for rel, text in files.items()}


def write_debug_project(root: Path, *more: Mapping[str, str]) -> Path:
    """A project at `root` with CALC and the files of `more`; `root`."""
    return write_files(root, project_files(*more))


def reset_hub(hub) -> None:
    """The hub as a new one starts: no breakpoints, only marked requests stop, no post-mortem. An
    invocation a failed test left paused is let go (after the clear, so it runs to its end)."""
    hub.clear()
    hub.all_requests = False
    hub.stop_on_exception = False
    for pause in hub.paused():
        hub.command(pause.request_id, "continue")


@contextmanager
def fresh_hub(hub) -> Iterator:
    """`hub` reset before and after: what one test sets there is gone for the next, pass or fail."""
    reset_hub(hub)
    try:
        yield hub
    finally:
        reset_hub(hub)


def local(pause, name: str) -> str:
    """The repr the pause shows for local `name`."""
    return next(v.value for v in pause.locals if v.name == name)


class DebuggedCall:
    """`send()` (an HTTP request, a direct invoke) run on a thread; the pauses and the record the
    runtime's bus reports for it. After the first pause only that invocation's events count."""

    TIMEOUT = 90.0
    """How long to wait for each event: a bound for a loaded machine, not a timing claim."""

    def __init__(self, runtime, send: Callable[[], object]) -> None:
        self.runtime = runtime
        self.pauses = Pauses()
        self.unsubscribe = runtime.bus.subscribe(self.pauses)
        self.reply = None
        self.thread = threading.Thread(target=self._send, args=(send,), daemon=True)
        self.thread.start()

    def _send(self, send: Callable[[], object]) -> None:
        self.reply = send()

    def next(self):
        event = self.pauses.next(timeout=self.TIMEOUT)
        assert event is not None, f"nothing happened within {self.TIMEOUT:.0f} s"
        return event

    def pause(self) -> Pause:
        event = self.next()
        assert isinstance(event, Pause), f"expected a pause, got {event!r}"
        self.pauses.request_id = event.request_id
        return event

    def command(self, pause, command: str) -> None:
        assert self.runtime.debug.command(pause.request_id, command), f"{command!r} found no paused invocation"

    def record(self) -> InvocationRecord:
        """The invocation's record: the very next event (no further pause on the way)."""
        event = self.next()
        assert isinstance(event, InvocationRecord), f"expected the end, got {event!r}"
        self.thread.join(self.TIMEOUT)
        self.unsubscribe()
        return event

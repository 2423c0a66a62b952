"""The pdb-style prompt of `funcstudio invoke --break/--pdb`, reading commands from stdin.

It drives the runtime's DebugHub (the same API the studio's debug pane uses) while the invocation
runs on another thread. Commands: p EXPR, pp EXPR, n(ext), s(tep), r(eturn), c(ont(inue)), w(here),
u(p), d(own), l(ist), q(uit), h(elp); anything else runs as a Python statement in the selected frame.
At the end of stdin the invocation runs on to its end without stopping again, so a script never hangs.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from studio.runtime.debug import Breakpoint, BreakpointError, Pause, resolve_breakpoint

ALIASES = {
    "n": "next", "next": "next", "s": "step", "step": "step", "r": "return", "return": "return",
    "c": "continue", "cont": "continue", "continue": "continue", "u": "up", "up": "up", "d": "down",
    "down": "down", "q": "quit", "quit": "quit", "exit": "quit", "w": "where", "where": "where", "bt": "where",
    "l": "list", "list": "list", "ll": "list", "h": "help", "help": "help", "?": "help", "p": "p", "pp": "pp",
}
HELP = """commands: p EXPR (print), pp EXPR (pretty-print), n(ext), s(tep), r(eturn), c(ontinue),
w(here), u(p), d(own), l(ist), q(uit); anything else runs as a statement in the selected frame"""


def parse_break(spec: str, root) -> Breakpoint:
    """`FILE:LINE` or `FILE:LINE,CONDITION`, FILE relative to the current folder or the project."""
    location, _, condition = spec.partition(",")
    file, sep, line = location.rpartition(":")
    if not sep or not file or not line.strip().isdigit():
        raise BreakpointError(f"bad breakpoint {spec!r}: expected FILE:LINE (e.g. cloud-functions/api/hello.py:12)")
    return resolve_breakpoint(file, int(line), root, condition.strip() or None)


class Prompt:
    def __init__(self, hub, stdin: TextIO, out: TextIO, root) -> None:
        self.hub = hub
        self.stdin = stdin
        self.out = out
        self.root = str(root)
        self.interactive = stdin.isatty()
        self.detached = False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, pause: Pause, moved: bool = False) -> None:
        frame = pause.frame
        if pause.exception and pause.reason == "exception" and not moved:
            self.say(f"*** post-mortem: {pause.exception}")
        if pause.reason == "return":
            self.say("--Return--")
        self.say(f"> {self._where(frame.file)}({frame.line}){frame.function}()"
                 + (f"->{pause.return_value}" if pause.return_value is not None else ""))
        self.say(f"-> {frame.source}")

    def _where(self, path: str) -> str:
        try:
            relative = os.path.relpath(path, self.root)
        except ValueError:
            return path
        return path if relative.startswith("..") else relative

    def _read(self) -> str | None:
        if self.interactive:
            self.out.write("(Pdb) ")
            self.out.flush()
        line = self.stdin.readline()
        if not line:
            return None
        line = line.rstrip("\n")
        if not self.interactive:
            self.say(f"(Pdb) {line}")  # a scripted session reads like a transcript
        return line

    def interact(self, pause: Pause, next_event) -> object:
        """Answer one pause; returns the next event (a Pause, or the finished record) via `next_event`."""
        if self.detached:
            self.hub.command(pause.request_id, "detach")
            return next_event()
        self.show(pause)
        while True:
            line = self._read()
            if line is None:
                self.say("(end of input: the invocation runs on without stopping)")
                self.detached = True
                self.hub.command(pause.request_id, "detach")
                return next_event()
            word, _, rest = line.strip().partition(" ")
            command = ALIASES.get(word)
            if not line.strip():
                continue
            if command in ("p", "pp"):
                self._print(pause, rest.strip(), command)
            elif command == "where":
                self._stack(pause)
            elif command == "list":
                self._list(pause)
            elif command == "help":
                self.say(HELP)
            elif command in ("up", "down"):
                if (command == "up" and pause.index == 0) or (command == "down" and pause.index >= len(pause.stack) - 1):
                    self.say("*** Oldest frame" if command == "up" else "*** Newest frame")
                    continue
                self.hub.command(pause.request_id, command)
                event = next_event()
                if not isinstance(event, Pause):
                    return event
                pause = event
                self.show(pause, moved=True)
            elif command in ("next", "step", "return", "continue", "quit"):
                self.hub.command(pause.request_id, command)
                return next_event()
            else:
                statement = line.strip()[1:] if line.strip().startswith("!") else line.strip()
                result = self.hub.evaluate(pause.request_id, statement, "exec")
                if result.error:
                    self.say(f"*** {result.error}")

    def _print(self, pause: Pause, expression: str, mode: str) -> None:
        if not expression:
            self.say(f"*** usage: {mode} EXPRESSION")
            return
        result = self.hub.evaluate(pause.request_id, expression, mode)
        self.say(f"*** {result.error}" if result.error else (result.value or ""))

    def _stack(self, pause: Pause) -> None:
        for i, frame in enumerate(pause.stack):
            marker = ">" if i == pause.index else " "
            self.say(f"{marker} {self._where(frame.file)}({frame.line}){frame.function}()")
            if frame.source:
                self.say(f"-> {frame.source}")

    def _list(self, pause: Pause) -> None:
        frame = pause.frame
        try:
            with open(frame.file, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            self.say(f"*** cannot read {frame.file}: {exc.strerror or exc}")
            return
        marks = {b.line for b in self.hub.breakpoints() if b.file == frame.file}
        first = max(1, frame.line - 5)
        for number in range(first, min(len(lines), first + 10) + 1):
            flag = "B" if number in marks else " "
            arrow = "->" if number == frame.line else "  "
            self.say(f"{number:4d} {flag}{arrow} {lines[number - 1]}")


def run_prompt(hub, pauses, done, stdin=None, out=None, root=".") -> None:
    """Answer pauses until the invocation (`done`: a threading.Event) ends."""
    prompt = Prompt(hub, stdin or sys.stdin, out or sys.stdout, root)

    def next_event():
        while True:
            event = pauses.next(timeout=0.2)
            if event is not None or done.is_set():
                return event

    event = next_event()
    while event is not None:
        if isinstance(event, Pause):
            event = prompt.interact(event, next_event)
        else:
            event = next_event() if not done.is_set() else None

"""Command palette providers: open a route by name, and every registered action by its words.

They search the in-memory route index and the action registry, never the disk.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from studio.tui.actions import ACTIONS
from studio.tui.route_index import all_entries, build_sections

# Actions worth offering in the palette (navigation keys are left to the keyboard).
PALETTE_ACTIONS = (
    "invoke.send", "history.replay", "runtime.restart", "editor.save", "editor.external", "editor.goto",
    "view.routes", "view.editor", "view.invoke", "view.logs", "view.history", "view.trace",
    "view.toggle-tree", "view.toggle-bottom", "routes.filter", "invoke.copy-curl", "invoke.import-curl",
    "invoke.save", "invoke.load", "response.save", "app.help",
    "debug.toggle-breakpoint", "debug.continue", "debug.next", "debug.step", "debug.return", "debug.stop",
    "debug.all-requests", "debug.stop-on-exception", "debug.profile", "view.debug",
)


class RouteProvider(Provider):
    """`open route`: every route and function of the project."""

    def _entries(self):
        project = getattr(self.app, "project", None)
        if project is None:
            return []
        return [e for e in all_entries(build_sections(project)) if e.kind in ("route", "function")]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            text = f"open {entry.label}  {entry.function_id or ''}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_entry, entry),
                          text=text, help=escape(f"{entry.file} · {entry.detail}"))

    async def discover(self) -> Hits:
        for entry in self._entries()[:20]:
            text = f"open {entry.label}  {entry.function_id or ''}"
            # plain Text and escaped help: file names such as `users/[id].py` are not markup
            yield DiscoveryHit(Text(text), partial(self.app.open_entry, entry), text=text,
                               help=escape(entry.file or ""))


class ActionProvider(Provider):
    """Every studio action from the registry, with its keys."""

    def _actions(self):
        by_id = {spec.id: spec for spec in ACTIONS}
        return [by_id[i] for i in PALETTE_ACTIONS if i in by_id]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in self._actions():
            text = f"{spec.description}: {spec.tooltip}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.run_action, spec.action),
                          help=escape(f"{spec.keys} · {spec.id}"))

    async def discover(self) -> Hits:
        for spec in self._actions():
            yield DiscoveryHit(f"{spec.description}: {spec.tooltip}",
                               partial(self.app.run_action, spec.action),
                               help=escape(f"{spec.keys} · {spec.id}"))

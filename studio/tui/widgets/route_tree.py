"""The route tree: both routing layers, grouped by path, filterable as you type."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static, Tree

from studio.project.display import escaped
from studio.tui.actions import bindings
from studio.tui.route_index import Entry, Section, build_sections, filter_sections

METHOD_STYLE = "cyan"


def entry_label(entry: Entry) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    label = escaped(entry.label)  # a newline in a file name stays on its line
    if entry.kind == "helper":
        text.append(label, style="dim")
        text.append("  helper", style="dim italic")
        return text
    if entry.kind == "problem":
        text.append(label or "project", style="bold red")
        text.append(f"  {escaped(entry.error or '')}", style="red")
        return text
    methods, _, rest = label.partition(" ") if entry.kind in ("route", "inner") else ("", "", label)
    if methods:
        text.append(methods, style=METHOD_STYLE)
        text.append(" ")
    label = rest
    style = "red" if entry.error else ""
    text.append(label, style=style)
    if entry.catch_all:
        text.append(" *", style="bold magenta")
    elif entry.dynamic:
        text.append(" :", style="bold cyan")
    if entry.detail:
        text.append(f"  {escaped(entry.short_detail)}", style="dim")
    if entry.error:
        text.append(f"  ✖ {escaped(entry.error)}", style="red")
    return text


class RouteTree(Vertical):
    """A filter box over a `Tree` of the project's routes and functions.

    | Key | Action |
    |---|---|
    | enter | select the route (open its file, target the invoke panel) |
    | down / enter in the filter | into the tree, on the first match |
    | escape in the tree | back to the filter |
    | ctrl+f | focus the filter (app binding `routes.filter`) |
    """

    ALLOW_MAXIMIZE = True
    """alt+z (`view.maximize`) gives this pane the whole screen."""

    BINDINGS = bindings("routes")

    DEFAULT_CSS = """
    RouteTree { width: 34; }
    RouteTree > Input { margin: 0; }
    RouteTree > Tree { height: 1fr; background: $surface; overflow-x: hidden; }
    RouteTree > #route-legend { height: 1; color: $text-muted; padding: 0 1; }
    """

    @dataclass
    class RouteSelected(Message):
        tree: RouteTree
        entry: Entry

        @property
        def control(self) -> RouteTree:
            return self.tree

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._sections: list[Section] = []
        self._filter = ""
        self.project = None
        self._first_match_wanted = False
        """Down/enter in the filter came before discovery: put the cursor on the first match once it is in."""
        self._open_wanted = False
        """Enter in the filter: open the first match once the cursor is on it."""

    def compose(self):
        yield Input(placeholder="filter routes…", id="route-filter", compact=True)
        tree: Tree[Entry] = _RoutesTree("ROUTES", id="route-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield Static(Text.assemble((":", "bold cyan"), " param  ", ("*", "bold magenta"), " catch-all  ",
                                   ("helper", "dim italic"), " not routed"), id="route-legend")

    @property
    def tree(self) -> Tree:
        return self.query_one("#route-tree", Tree)

    def show_loading(self) -> None:
        tree = self.tree
        tree.clear()
        tree.root.add_leaf(Text("discovering functions…", style="dim italic"))

    def set_project(self, project, inner_routes=None) -> None:
        self.project = project
        self._sections = build_sections(project, inner_routes)
        self._rebuild()

    def set_filter(self, text: str) -> None:
        self._filter = text
        self._rebuild()

    def visible_entries(self) -> list[Entry]:
        out: list[Entry] = []

        def walk(node) -> None:
            if isinstance(node.data, Entry):
                out.append(node.data)
            for child in node.children:
                walk(child)

        walk(self.tree.root)
        return out

    def _rebuild(self) -> None:
        tree = self.tree
        tree.clear()
        sections = filter_sections(self._sections, self._filter)
        if not sections:
            tree.root.add_leaf(Text("no routes match" if self._filter else "no functions found", style="dim"))
            return
        for section in sections:
            branch = tree.root.add(Text(section.title, style="bold red" if section.title == "Problems" else "bold"),
                                   expand=True)
            for group, entries in section.groups:
                if len(section.groups) > 1 or group != "/":
                    parent = branch.add(Text(group, style="bold"), expand=True)
                else:
                    parent = branch
                for entry in entries:
                    self._add(parent, entry)
            for entry in section.entries:
                self._add(branch, entry)
        if self._first_match_wanted and (self.tree.has_focus or self._open_wanted):
            self._cursor_to_first_match()  # an enter typed ahead opens it even if the focus moved on since

    def _add(self, parent, entry: Entry) -> None:
        if entry.children:
            node = parent.add(entry_label(entry), data=entry, expand=True)
            for child in entry.children:
                node.add_leaf(entry_label(child), data=child)
        else:
            parent.add_leaf(entry_label(entry), data=entry)

    def select_function(self, function_id: str) -> bool:
        """Move the cursor to the first row of a function; False if it is not visible."""
        def walk(node):
            if isinstance(node.data, Entry) and node.data.function_id == function_id:
                return node
            for child in node.children:
                found = walk(child)
                if found is not None:
                    return found
            return None

        node = walk(self.tree.root)
        if node is None:
            return False
        self.tree.move_cursor(node)
        self.post_message(self.RouteSelected(self, node.data))
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter opens the first match (and moves into the tree, on it)."""
        event.stop()
        self._open_wanted = True
        self.action_focus_tree()

    def action_focus_tree(self) -> None:
        """From the filter: to the tree, on the first matching row (the tree's own down key wins there)."""
        self.tree.focus()
        self._first_match_wanted = self.project is None
        self._cursor_to_first_match()

    def _cursor_to_first_match(self) -> None:
        tree = self.tree
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            if node is not None and isinstance(node.data, Entry):
                tree.cursor_line = line
                self._first_match_wanted = False
                if self._open_wanted:
                    self._open_wanted = False
                    self.post_message(self.RouteSelected(self, node.data))
                return

    def open_when_discovered(self) -> None:
        """Enter in the tree before discovery (typed ahead): open the first match once it is in."""
        self._first_match_wanted = self._open_wanted = True

    def action_focus_filter(self) -> None:
        self.query_one("#route-filter", Input).focus()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if isinstance(event.node.data, Entry):
            self.post_message(self.RouteSelected(self, event.node.data))


class _RoutesTree(Tree):
    """The tree inside RouteTree: enter before discovery (nothing under the cursor yet) is kept, not lost."""

    def action_select_cursor(self) -> None:
        owner = self.parent
        if isinstance(owner, RouteTree) and owner.project is None:
            owner.open_when_discovered()
            return
        super().action_select_cursor()

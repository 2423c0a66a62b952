"""The one registry of bindable actions: it feeds the bindings, the help screen and the keymap.

Every binding in the studio comes from here, so each has a stable dotted id (`invoke.send`) and a
tooltip, and `settings.keymap` can remap it with `App.set_keymap`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    """Stable dotted id used by `settings.keymap`."""
    keys: str
    """Default keys, comma separated (Textual binding syntax)."""
    action: str
    """The Textual action string run by the binding."""
    description: str
    """Short label shown in the footer."""
    tooltip: str
    """One sentence shown in help and tooltips."""
    scope: str = "app"
    """Which widget class holds the binding: app, routes, editor, invoke, response, logs, history, trace."""
    show: bool = True
    priority: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    # application-wide (send first: the footer shows keys in this order and cuts at the right edge)
    ActionSpec("invoke.send", "ctrl+j,ctrl+enter", "send_request", "Send",
               "Send the current request through the gateway.", priority=True),
    ActionSpec("editor.save", "ctrl+s", "save_file", "Save", "Save the open file; the runtime reloads it.",
               priority=True),
    ActionSpec("view.jump", "ctrl+o", "jump", "Jump", "Jump to any pane or field: ctrl+o, then its letter.",
               priority=True),
    ActionSpec("app.quit", "ctrl+q", "quit_studio", "Quit", "Quit the studio (asks about unsaved changes).",
               priority=True),
    ActionSpec("app.help", "question_mark,f1", "show_help", "Help", "Show every key binding."),
    ActionSpec("history.replay", "ctrl+r", "replay", "Replay",
               "Replay the selected (or last) invocation against the current code and diff the two.",
               priority=True),
    ActionSpec("runtime.restart", "f5", "restart_instances", "Restart",
               "Restart every function instance (the next request starts fresh)."),
    ActionSpec("view.routes", "f2", "focus_panel('routes')", "Routes", "Focus the route tree."),
    ActionSpec("view.editor", "f3", "focus_panel('editor')", "Editor", "Focus the code editor.", show=False),
    ActionSpec("view.invoke", "f4", "focus_panel('invoke')", "Invoke", "Focus the invoke panel.", show=False),
    ActionSpec("view.logs", "f8", "show_tab('logs')", "Logs", "Show and focus the log view.", show=False),
    ActionSpec("view.history", "f9", "show_tab('history')", "History", "Show and focus the invocation history.",
               show=False),
    ActionSpec("view.trace", "f10", "show_tab('trace')", "Trace", "Show and focus the last stack trace.",
               show=False),
    ActionSpec("view.response", "f12", "focus_panel('response')", "Response", "Focus the response body.",
               show=False),
    ActionSpec("view.maximize", "alt+z", "maximize_pane", "Zoom",
               "Give the focused pane the whole screen (zoom); again to restore the layout.", show=False,
               priority=True),
    ActionSpec("view.sidebar-wider", "alt+right", "resize_sidebar(4)", "Wider tree", "Widen the route tree.",
               show=False, priority=True),
    ActionSpec("view.sidebar-narrower", "alt+left", "resize_sidebar(-4)", "Narrower tree",
               "Narrow the route tree.", show=False, priority=True),
    ActionSpec("view.errors-only", "f6", "toggle_errors_only", "Errors only",
               "Show only errors in the logs and the history; again to show everything."),
    ActionSpec("view.panel-grow", "alt+up", "resize_panel(4)", "Taller panel",
               "Make the logs/history/trace panel taller (or drag its top edge).", show=False),
    ActionSpec("view.panel-shrink", "alt+down", "resize_panel(-4)", "Shorter panel",
               "Make the logs/history/trace panel shorter (or drag its top edge).", show=False),
    ActionSpec("view.panel-maximize", "alt+m", "maximize_panel", "Maximize panel",
               "Give the logs/history/trace panel the whole window, or give it back.", show=False),
    ActionSpec("view.toggle-tree", "ctrl+b", "toggle_panel('sidebar')", "Tree", "Show or hide the route tree.",
               show=False),
    ActionSpec("view.toggle-bottom", "ctrl+t", "toggle_panel('bottom')", "Bottom",
               "Show or hide the logs/history/trace panel.", show=False),
    ActionSpec("routes.filter", "ctrl+f", "filter_routes", "Filter", "Filter the route tree as you type.",
               show=False),
    ActionSpec("editor.external", "alt+o", "open_external", "$EDITOR",
               "Open the file in $EDITOR at the cursor's line and reload it.", show=False, priority=True),
    ActionSpec("editor.goto", "ctrl+g", "goto_line", "Go to line", "Jump to a line in the open file.", show=False),
    # route tree (the filter box and the tree)
    ActionSpec("routes.to-tree", "down", "focus_tree", "To tree",
               "From the filter box: into the tree, on the first matching route.", scope="routes", show=False),
    ActionSpec("routes.to-filter", "escape", "focus_filter", "To filter",
               "From the tree: back to the filter box.", scope="routes", show=False),
    # invoke panel (app-wide and priority, so they work wherever the focus is: an Input or TextArea
    # would otherwise take alt+c from a terminal as the letter c)
    ActionSpec("invoke.copy-curl", "alt+c", "copy_curl", "Copy curl", "Copy the request as a curl command.", show=False,
               priority=True),
    ActionSpec("invoke.import-curl", "alt+i", "import_curl", "Import curl", "Fill the request from a curl command.", show=False,
               priority=True),
    ActionSpec("invoke.save", "alt+s", "save_request", "Save request", "Save this request into a .http file (http-requests/).", show=False,
               priority=True),
    ActionSpec("invoke.load", "alt+l", "load_request", "Load request", "Load a saved request from the .http files.", show=False,
               priority=True),
    ActionSpec("response.save", "alt+w", "save_response", "Save response",
               "Write the last response body, bytes untouched, under .funcstudio/responses/.", show=False,
               priority=True),
    # debugger (app-wide and priority: they act wherever the focus is, the editor included)
    ActionSpec("debug.toggle-breakpoint", "alt+b,alt+k", "debug_toggle_breakpoint", "Breakpoint",
               "Set or clear a breakpoint on the editor's current line.", show=False, priority=True),
    ActionSpec("debug.continue", "f7", "debug_continue", "Continue", "Continue the paused invocation.",
               show=False, priority=True),
    ActionSpec("debug.next", "alt+n", "debug_next", "Next", "Run to the next line in this function (step over).",
               show=False, priority=True),
    ActionSpec("debug.step", "alt+t", "debug_step", "Step", "Step into the call on this line.", show=False,
               priority=True),
    ActionSpec("debug.return", "alt+u", "debug_return", "Return", "Run until this function returns (step out).",
               show=False, priority=True),
    ActionSpec("debug.stop", "alt+q", "debug_stop", "Stop",
               "End the paused invocation (recorded as `debugger-quit`).", show=False, priority=True),
    ActionSpec("debug.all-requests", "alt+a", "debug_all_requests", "Every request",
               "Breakpoints apply to every request (curl, browsers), not only the invoke panel's.", show=False,
               priority=True),
    ActionSpec("debug.stop-on-exception", "alt+e", "debug_stop_on_exception", "Stop on exception",
               "Pause at the raising frame of an uncaught exception (post-mortem).", show=False, priority=True),
    ActionSpec("debug.profile", "alt+p", "debug_profile", "Profile",
               "Send the current request under cProfile and show the top functions by cumulative time.",
               show=False, priority=True),
    ActionSpec("view.debug", "f11", "show_tab('debug')", "Debug", "Show and focus the debug pane.", show=False),
    ActionSpec("invoke.indent", "ctrl+right_square_bracket", "indent_body", "Indent",
               "Indent at the cursor in the body (Tab moves on to the next field).", scope="invoke", show=False),
    # response view
    ActionSpec("response.search", "slash", "start_search", "Search", "Search the response body.",
               scope="response"),
    ActionSpec("response.next", "n", "next_match", "Next", "Next search match.", scope="response", show=False),
    ActionSpec("response.prev", "N", "previous_match", "Previous", "Previous search match.", scope="response",
               show=False),
    # logs
    ActionSpec("logs.filter", "slash", "focus_search", "Search logs", "Search log text (full-text).",
               scope="logs"),
    ActionSpec("logs.tail", "t", "toggle_tail", "Tail", "Follow new lines as they arrive.", scope="logs"),
    ActionSpec("logs.top", "g,home", "scroll_home", "Top", "Jump to the oldest line.", scope="logs", show=False),
    ActionSpec("logs.bottom", "G,end", "scroll_end", "Bottom", "Jump to the newest line.", scope="logs",
               show=False),
    ActionSpec("logs.down", "j,down", "cursor_down", "Down", "Move the line cursor down.", scope="logs", show=False),
    ActionSpec("logs.up", "k,up", "cursor_up", "Up", "Move the line cursor up.", scope="logs", show=False),
    ActionSpec("logs.detail", "enter", "toggle_detail", "Detail",
               "Show the line under the cursor in full (JSON pretty-printed) with its invocation.", scope="logs"),
    ActionSpec("logs.open", "o", "open_invocation", "Open",
               "Open the cursor line's invocation: its response, and its trace when it failed.", scope="logs"),
    ActionSpec("logs.close-detail", "escape", "close_detail", "Close detail", "Hide the line detail.",
               scope="logs", show=False),
    # history
    ActionSpec("history.open", "enter", "open_invocation", "Open", "Show this invocation's response and trace.",
               scope="history", show=False),
    ActionSpec("history.export-test", "x", "export_test", "Export test",
               "Write a pytest test replaying this invocation into the project's tests/ folder.", scope="history"),
    # trace
    ActionSpec("trace.open", "enter", "open_frame", "Open frame", "Open this frame's file and line in the editor.",
               scope="trace"),
    ActionSpec("trace.fold", "f", "toggle_folded", "Fold", "Show or hide runtime and framework frames.",
               scope="trace"),
)

BY_ID: dict[str, ActionSpec] = {spec.id: spec for spec in ACTIONS}


def bindings(scope: str) -> list:
    """The `Binding`s of one scope, built from the registry."""
    from textual.binding import Binding

    return [
        Binding(
            spec.keys,
            spec.action,
            spec.description,
            show=spec.show,
            priority=spec.priority,
            tooltip=spec.tooltip,
            id=spec.id,
        )
        for spec in ACTIONS
        if spec.scope == scope
    ]


# Key names Textual understands besides single characters and f1-f24 (textual.keys); kept here so
# `check` can validate a keymap without importing Textual.
NAMED_KEYS = frozenset({
    "enter", "escape", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
    "up", "down", "left", "right", "question_mark", "slash", "backslash", "exclamation_mark", "at",
    "number_sign", "dollar_sign", "percent_sign", "circumflex_accent", "ampersand", "asterisk",
    "left_parenthesis", "right_parenthesis", "minus", "underscore", "plus", "equals_sign", "left_square_bracket",
    "right_square_bracket", "left_curly_bracket", "right_curly_bracket", "vertical_line", "semicolon", "colon",
    "apostrophe", "quotation_mark", "grave_accent", "tilde", "comma", "full_stop", "less_than_sign",
    "greater_than_sign",
})
MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")


def key_error(keys: str) -> str | None:
    """None when every comma-separated key of `keys` is one Textual can bind, else what is wrong."""
    for key in (k.strip() for k in keys.split(",")):
        if not key:
            return f"{keys!r} has an empty key"
        *modifiers, base = key.split("+")
        unknown = [m for m in modifiers if m not in MODIFIERS]
        if unknown:
            return f"{key!r}: {unknown[0]!r} is not a modifier ({', '.join(MODIFIERS)})"
        if len(base) == 1 and base.isprintable() and not base.isspace():
            continue
        if base in NAMED_KEYS or (base[:1] == "f" and base[1:].isdigit() and 1 <= int(base[1:]) <= 24):
            continue
        return f"{key!r} is not a key (a character, f1-f24, ctrl+x, alt+x, enter, escape, tab, ...)"
    return None


def _live_together(a: ActionSpec, b: ActionSpec) -> bool:
    """App bindings are live everywhere; a widget's only while it (or a child) has the focus."""
    return a.scope == b.scope or "app" in (a.scope, b.scope)


def checked_keymap(keymap: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split a settings keymap into the usable part and one message per problem: an unknown id, a
    value that is not a key, or a key that two actions live at the same time would both claim
    (the remapped one is then left out, so the defaults keep working)."""
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in BY_ID:
            problems.append(f"keymap: unknown binding id {binding_id!r}")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f"keymap: {binding_id!r} needs a key string such as 'f12'")
        elif (error := key_error(keys.strip())) is not None:
            problems.append(f"keymap: {binding_id!r}: {error}")
        else:
            usable[binding_id] = keys.strip()
    for binding_id in list(usable):
        spec = BY_ID[binding_id]
        mine = {k.strip() for k in usable[binding_id].split(",")}
        for other in ACTIONS:
            if other.id == binding_id or not _live_together(spec, other):
                continue
            theirs = {k.strip() for k in usable.get(other.id, other.keys).split(",")}
            clash = sorted(mine & theirs)
            if clash:
                problems.append(f"keymap: {binding_id!r} = {clash[0]!r} collides with {other.id!r} "
                                f"({other.description}), live at the same time; keeping {spec.keys!r}")
                del usable[binding_id]
                break
    return usable, problems


def help_rows(keymap: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(keys, id, tooltip) for every action, with remapped keys applied."""
    keymap = keymap or {}
    return [(keymap.get(spec.id, spec.keys), spec.id, spec.tooltip) for spec in ACTIONS]

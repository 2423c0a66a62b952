"""The invoke panel: method, path with its params, query, headers and body, or an SCF event."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TabbedContent, TabPane, TextArea

from studio.tui.actions import bindings
from studio.tui.messages import InvokeRequested
from studio.tui.request_model import RequestDraft, RequestSpec, path_params
from studio.tui.route_index import Entry
from studio.tui.syntax import language_available

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCF_TEMPLATES = ("apigw", "timer", "cos", "cmq", "ckafka", "direct")


def _json_editor(id: str) -> TextArea:
    """Plain at first: the JSON grammar is loaded after the first frame (`on_mount` below)."""
    # Tab moves on (a body must not trap the focus); ctrl+] indents (`invoke.indent`)
    return TextArea("", id=id, show_line_numbers=False, soft_wrap=True, compact=True, tab_behavior="focus")


class RequestTabs(Vertical):
    """Body (or event, or payload), query, headers and the CocoBase user, as tabs."""

    DEFAULT_CSS = "RequestTabs { height: 1fr; }"

    def compose(self):
        with TabbedContent(id="request-tabs"):
            with TabPane("Body", id="tab-body"):
                yield _json_editor("body")
            with TabPane("Query", id="tab-query"):
                yield TextArea("", id="query", compact=True, show_line_numbers=False)
            with TabPane("Headers", id="tab-headers"):
                yield TextArea("", id="headers", compact=True, show_line_numbers=False)
            with TabPane("User", id="tab-user"):
                yield Label("CocoBase signed-in user: bearer token from the local user store")
                yield Input("", placeholder="token (empty: anonymous)", id="user-token", compact=True)

    def on_mount(self) -> None:
        self.query_ancestor(InvokePanel).tabs_mounted()


class InvokePanel(Vertical):
    """Edits the request of the selected function; each function keeps its own `RequestDraft`.

    | Key | Action |
    |---|---|
    | ctrl+j | send (app binding `invoke.send`) |
    | alt+c / alt+i | copy as curl / import curl (app bindings) |
    | alt+s / alt+l | save / open a named request (app bindings) |
    | ctrl+] | indent in the body (Tab moves to the next field) |

    The seam for saved requests: `current_draft()` reads what is typed, `load_request(draft)` fills
    the fields; the app posts `SaveRequestWanted` / `OpenRequestWanted` (messages.py) when the user
    asks. `send()` posts the pipeline's `InvokeRequested`; the app runs the request.
    """

    ALLOW_MAXIMIZE = True
    """alt+z (`view.maximize`) gives this pane the whole screen."""

    BINDINGS = bindings("invoke")

    DEFAULT_CSS = """
    InvokePanel { height: 1fr; }
    InvokePanel #request-line { height: 1; }
    InvokePanel #method { width: 12; }
    InvokePanel #path { width: 1fr; }
    InvokePanel #request-url { height: 1; color: $text-muted; padding: 0 1; text-wrap: nowrap;
                               text-overflow: ellipsis; }
    InvokePanel #params { height: auto; }
    InvokePanel #params Label { padding: 0 1; }
    InvokePanel #params Input { width: 1fr; }
    InvokePanel #scf-options { height: 1; display: none; }
    InvokePanel #scf-options Select { width: 1fr; }
    InvokePanel TabbedContent { height: 1fr; }
    InvokePanel TextArea { height: 1fr; }
    InvokePanel #invoke-error { height: auto; color: $error; }
    """

    @dataclass
    class DraftChanged(Message):
        """The target or a field changed; `url` is the exact target that would be sent."""

        panel: InvokePanel
        function_id: str | None
        url: str

        @property
        def control(self) -> InvokePanel:
            return self.panel

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = "http"
        self.entry: Entry | None = None
        self.template = "/"
        self._ids = itertools.count(1)
        self.last_spec: RequestSpec | None = None
        self.drafts: dict[str | None, RequestDraft] = {}
        """The other functions' drafts, by function id (the shown one lives in the widgets)."""
        self._param_inputs: dict[str, Input] = {}
        self._pending: RequestDraft | None = None
        """A draft loaded before the lazy tabs were in; applied by `tabs_mounted`."""
        self._scf_template = ""
        self.event_builder = None
        """`(template, function_id) -> dict`: the SCF event for a template (set by the app)."""
        self.base_url = ""
        """Prefix of the URL line (the gateway's address; empty until the runtime runs)."""
        self.border_title = "INVOKE"

    def compose(self):
        with Horizontal(id="request-line"):
            yield Select([(m, m) for m in METHODS], value="GET", allow_blank=False, id="method", compact=True)
            yield Input("/", placeholder="/path", id="path", compact=True)
        yield Static("", id="request-url", markup=False)
        yield Horizontal(id="params")
        yield Lazy(Horizontal(
            Select([(t, t) for t in SCF_TEMPLATES], value="direct", allow_blank=False, id="scf-template",
                   compact=True),
            Select([("sync", "RequestResponse"), ("async", "Event")], value="RequestResponse",
                   allow_blank=False, id="scf-type", compact=True),
            id="scf-options",
        ))
        # the tabs mount after the first frame (startup budget, STYLE.md §6)
        yield Lazy(RequestTabs())
        yield Static("", id="invoke-error", markup=False)

    def on_mount(self) -> None:
        self._apply_mode()

    def tabs_mounted(self) -> None:
        """The lazy tabs are in: apply the mode and any draft loaded before, then the JSON grammar."""
        self._apply_mode()
        if self._pending is not None:
            draft, self._pending = self._pending, None
            self.load_request(draft)
        self.call_after_refresh(self._highlight_body)

    def _highlight_body(self) -> None:
        if language_available("json"):
            self.query_one("#body", TextArea).language = "json"

    @property
    def _tabs_ready(self) -> bool:
        return bool(self.query("#body")) and bool(self.query("#scf-type"))

    # -- target and drafts ---------------------------------------------------------------

    def set_target(self, entry: Entry) -> None:
        """Point the panel at a route or function.

        Another function: its own draft comes back (or a fresh one); nothing typed for the previous
        function travels along. The same function (another of its routes): the typed parts stay and
        only the path (and a method the route does not take) changes.
        """
        previous = self.entry
        if previous is not None:
            self.drafts[previous.function_id] = self.current_draft()
        self.entry = entry
        if previous is not None and previous.function_id == entry.function_id:
            draft = self.drafts.pop(entry.function_id)
            draft.mode = _mode_of(entry)
            if draft.mode != "scf" and entry.path and entry.path != draft.path:
                draft.path = entry.path
                draft.params = {k: v for k, v in draft.params.items() if k in dict(path_params(entry.path))}
            methods = [m for m in entry.methods if m in METHODS]
            if methods and draft.method not in methods:
                draft.method = methods[0]
        else:
            draft = self.drafts.pop(entry.function_id, None) or self.fresh_draft(entry)
        self.load_request(draft)

    def fresh_draft(self, entry: Entry) -> RequestDraft:
        """A function's first draft: its first method and path; for SCF, an event from its own trigger type."""
        mode = _mode_of(entry)
        methods = [m for m in entry.methods if m in METHODS]
        method = methods[0] if methods else "GET"
        if mode == "cocobase" and (not methods or "POST" in methods):
            method = "POST"  # CocoBase functions take their payload as a POST body
        draft = RequestDraft(function_id=entry.function_id, mode=mode, path=entry.path or "/", method=method)
        if mode == "scf":
            triggers = (entry.detail or "").split(",")
            template = next((t for t in triggers if t in SCF_TEMPLATES), "direct")
            body, invocation_type, error = self._event(template, entry.function_id)
            draft.scf_template = template
            draft.body = body
            draft.invocation_type = invocation_type
            if error:
                self.show_error(error)
        return draft

    def _event(self, template: str, function_id: str | None) -> tuple[str, str, str | None]:
        """(event JSON, invocation type, error) for a template, built as `invoke --event` builds it."""
        import json

        from studio.runtime.templates import TEMPLATES, load_template

        info = TEMPLATES.get(template)
        invocation_type = info.invocation_type if info is not None else "RequestResponse"
        try:
            if self.event_builder is not None:
                event = self.event_builder(template, function_id)
            else:
                event = load_template(template)
        except Exception as exc:  # noqa: BLE001 - a broken template file is shown, not raised
            return "{}", invocation_type, f"template {template}: {exc}"
        return json.dumps(event, indent=2), invocation_type, None

    def current_draft(self) -> RequestDraft:
        """What the fields hold now, for the shown function."""
        if not self._tabs_ready:
            return replace(self._pending) if self._pending is not None else RequestDraft(
                function_id=self.entry.function_id if self.entry else None, mode=self.mode, path=self.template)
        return RequestDraft(
            function_id=self.entry.function_id if self.entry else None,
            mode=self.mode,
            method=str(self.query_one("#method", Select).value),
            path=self.template,
            params={name: field.value for name, field in self._param_inputs.items()},
            query=self.query_one("#query", TextArea).text,
            headers=self.query_one("#headers", TextArea).text,
            body=self.query_one("#body", TextArea).text,
            scf_template=self._scf_template,
            invocation_type=str(self.query_one("#scf-type", Select).value),
            user_token=self.query_one("#user-token", Input).value,
        )

    def load_request(self, draft: RequestDraft) -> None:
        """Fill every field from `draft` (a function's own draft, a saved request, an imported curl)."""
        self.mode = draft.mode
        self.template = draft.path or "/"
        if not self._tabs_ready:
            self._pending = replace(draft)
            self._apply_mode()
            return
        if draft.method in METHODS:
            self.query_one("#method", Select).value = draft.method
        self.query_one("#path", Input).value = self.template
        self._build_params(draft.params)
        self.query_one("#query", TextArea).load_text(draft.query)
        self.query_one("#headers", TextArea).load_text(draft.headers)
        self.query_one("#body", TextArea).load_text(draft.body)
        self.query_one("#user-token", Input).value = draft.user_token
        self._scf_template = draft.scf_template
        if draft.scf_template:
            self.query_one("#scf-template", Select).value = draft.scf_template
        self.query_one("#scf-type", Select).value = draft.invocation_type
        self.show_error("")
        self._apply_mode()
        self._refresh_url()

    def param_input(self, name: str) -> Input:
        """The field of the path parameter `name` (no DOM ids: rebuilding must never collide)."""
        return self._param_inputs[name]

    def _build_params(self, values: dict[str, str]) -> None:
        """One field per `:name` of the template; unchanged names keep their field and its value."""
        container = self.query_one("#params", Horizontal)
        names = path_params(self.template)
        if [n for n, _ in names] == list(self._param_inputs):
            for name, field in self._param_inputs.items():
                if name in values:
                    field.value = values[name]
            return
        old = {name: field.value for name, field in self._param_inputs.items()}
        container.remove_children()
        self._param_inputs = {}
        widgets = []
        for name, catch_all in names:
            widgets.append(Label(f":{name}{'*' if catch_all else ''}"))
            field = Input(values.get(name, old.get(name, "")), placeholder=name, name=name, compact=True)
            self._param_inputs[name] = field
            widgets.append(field)
        if widgets:
            container.mount_all(widgets)
        container.display = bool(widgets)

    def _apply_mode(self) -> None:
        scf = self.mode == "scf"
        for row in self.query("#scf-options"):
            row.display = scf
        self.query_one("#request-line").display = not scf
        self.query_one("#request-url").display = not scf
        tabs = next(self.query("#request-tabs").results(TabbedContent), None)
        kind = {"scf": "SCF event", "cocobase": "CocoBase"}.get(self.mode, "HTTP")
        target = self.entry.function_id if self.entry and self.entry.function_id else ""
        from textual.markup import escape  # a border title is markup; `users/[id]` is a name

        self.border_title = f"INVOKE · {kind} {escape(target)}".rstrip()
        if tabs is None:
            return
        for pane_id, visible in (("tab-query", not scf), ("tab-headers", not scf),
                                 ("tab-user", self.mode == "cocobase")):
            if visible:
                tabs.show_tab(pane_id)
            else:
                tabs.hide_tab(pane_id)
        tabs.get_tab("tab-body").label = "Event" if scf else ("Payload" if self.mode == "cocobase" else "Body")

    def seed_event(self, template: str) -> None:
        """Fill the event editor from a trigger template, as `invoke --event TEMPLATE` builds it."""
        body, invocation_type, error = self._event(template, self.entry.function_id if self.entry else None)
        if error:
            self.show_error(error)
            return
        self._scf_template = template
        self.query_one("#body", TextArea).load_text(body)
        self.query_one("#scf-type", Select).value = invocation_type

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "scf-template" and self.mode == "scf" and event.value is not Select.NULL:
            event.stop()
            if str(event.value) != self._scf_template:  # the user picked another one (not a draft loading)
                self.seed_event(str(event.value))
        self._refresh_url()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "path":
            self.template = event.value
            if [n for n, _ in path_params(self.template)] != list(self._param_inputs):
                self._build_params({})
        self._refresh_url()
        self._recheck_error()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id in ("query", "headers"):
            self._refresh_url()
        self._recheck_error()

    def _recheck_error(self) -> None:
        """A shown error follows the edits: it goes once fixed instead of staying until the next send."""
        line = self.query_one("#invoke-error", Static)
        if str(line.render()):
            self.show_error(self.build_spec()[1] or "")

    def _refresh_url(self) -> None:
        """The URL line: exactly the target that ctrl+j sends (params filled, query appended)."""
        if not self._tabs_ready:
            return
        draft = self.current_draft()
        url = f"{draft.method} {self.base_url}{draft.target()}"
        line = self.query_one("#request-url", Static)
        width = line.content_region.width
        # narrow: the path and query matter more than the host, which the header shows anyway
        line.update(url if not width or len(url) <= width else f"{draft.method} {draft.target()}")
        self.post_message(self.DraftChanged(self, draft.function_id, url))

    def on_resize(self) -> None:
        self._refresh_url()

    def set_base_url(self, url: str) -> None:
        self.base_url = url
        self._refresh_url()

    def action_indent_body(self) -> None:
        body = self.query_one("#body", TextArea)
        if body.has_focus:
            body.insert("  ")

    # -- building ------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.query_one("#invoke-error", Static).update(text)

    def build_spec(self) -> tuple[RequestSpec | None, str | None]:
        """The request as typed, or None and the first error (naming the field and line)."""
        return self.current_draft().build()

    def send(self) -> str | None:
        """Validate and post `InvokeRequested`; returns the request id, or None after showing the error."""
        spec, error = self.build_spec()
        if spec is None:
            self.show_error(error or "")
            return None
        self.show_error("")
        request_id = f"req-{next(self._ids)}"
        self.last_spec = spec
        self.post_message(InvokeRequested(
            request_id=request_id, method=spec.method, path=spec.target, headers=list(spec.headers),
            body=spec.body.encode("utf-8"), function_id=spec.function_id if spec.mode == "scf" else None,
            invocation_type=spec.invocation_type, for_function=self.entry.function_id if self.entry else None,
        ))
        return request_id

    def load_spec(self, spec: RequestSpec) -> None:
        """Fill the fields from a saved or imported request, for the shown function."""
        draft = RequestDraft.from_spec(spec, function_id=self.entry.function_id if self.entry else None)
        current = self.current_draft()
        if spec.mode == "scf" or self.mode == "scf":
            current.body, current.invocation_type = spec.body, spec.invocation_type
            self.load_request(current)
            return
        draft.mode = current.mode
        draft.user_token = current.user_token
        self.load_request(draft)


def _mode_of(entry: Entry) -> str:
    return {"scf": "scf", "cocobase": "cocobase"}.get(entry.platform, "http")

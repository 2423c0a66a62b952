"""The invoke panel: method, path with its params, query, headers and body, or an SCF event."""

from __future__ import annotations

import itertools

from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.widgets import Input, Label, Select, Static, TabbedContent, TabPane, TextArea

from studio.tui.messages import InvokeRequested
from studio.tui.request_model import (
    RequestSpec,
    fill_path,
    json_error,
    parse_pairs,
    path_params,
)
from studio.tui.route_index import Entry
from studio.tui.syntax import language_available

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SCF_TEMPLATES = ("apigw", "timer", "cos", "cmq", "ckafka", "direct")


def _json_editor(id: str) -> TextArea:
    """Plain at first: the JSON grammar is loaded after the first frame (`on_mount` below)."""
    return TextArea("", id=id, show_line_numbers=False, soft_wrap=True, compact=True, tab_behavior="indent")


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
    """Builds a `RequestSpec` for the selected function.

    | Key | Action |
    |---|---|
    | ctrl+j | send (app binding `invoke.send`) |
    | alt+c / alt+i | copy as curl / import curl (app bindings) |
    | alt+s / alt+l | save / load a named request (app bindings) |

    `send()` posts the pipeline's `InvokeRequested`; the app runs the request.
    """

    DEFAULT_CSS = """
    InvokePanel { height: 1fr; }
    InvokePanel #request-line { height: 1; }
    InvokePanel #method { width: 12; }
    InvokePanel #path { width: 1fr; }
    InvokePanel #params { height: auto; }
    InvokePanel #params Label { padding: 0 1; }
    InvokePanel #params Input { width: 1fr; }
    InvokePanel #scf-options { height: 1; display: none; }
    InvokePanel #scf-options Select { width: 1fr; }
    InvokePanel TabbedContent { height: 1fr; }
    InvokePanel TextArea { height: 1fr; }
    InvokePanel #invoke-error { height: auto; color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = "http"
        self.entry: Entry | None = None
        self.template = "/"
        self._ids = itertools.count(1)
        self.last_spec: RequestSpec | None = None
        self.border_title = "INVOKE"

    def compose(self):
        with Horizontal(id="request-line"):
            yield Select([(m, m) for m in METHODS], value="GET", allow_blank=False, id="method", compact=True)
            yield Input("/", placeholder="/path", id="path", compact=True)
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
        """The lazy tabs are in: apply the mode, then load the JSON grammar for the body."""
        self._apply_mode()
        self.call_after_refresh(self._highlight_body)

    def _highlight_body(self) -> None:
        if language_available("json"):
            self.query_one("#body", TextArea).language = "json"

    # -- target --------------------------------------------------------------------------

    def set_target(self, entry: Entry) -> None:
        """Point the panel at a route or function, keeping what the user typed where it still fits."""
        changed_function = self.entry is None or self.entry.function_id != entry.function_id
        self.entry = entry
        if entry.platform == "scf":
            self.mode = "scf"
        elif entry.platform == "cocobase":
            self.mode = "cocobase"
        else:
            self.mode = "http"
        self.template = entry.path or "/"
        methods = [m for m in entry.methods if m in METHODS]
        method = self.query_one("#method", Select)
        if methods and method.value not in methods:
            method.value = methods[0]
        elif self.mode == "cocobase":
            method.value = "POST"
        self.query_one("#path", Input).value = self.template
        self._build_params()
        self._apply_mode()
        if self.mode == "scf" and (changed_function or not self.query_one("#body", TextArea).text.strip()):
            # seed from the function's own trigger type when there is a template for it
            triggers = (entry.detail or "").split(",")
            template = next((t for t in triggers if t in SCF_TEMPLATES), "direct")
            select = self.query_one("#scf-template", Select)
            if select.value != template:
                select.value = template  # Select.Changed seeds the event
            else:
                self.seed_event(template)

    def _build_params(self) -> None:
        container = self.query_one("#params", Horizontal)
        container.remove_children()
        widgets = []
        for name, catch_all in path_params(self.template):
            widgets.append(Label(f":{name}{'*' if catch_all else ''}"))
            widgets.append(Input("", placeholder=name, id=f"param-{name}", compact=True))
        if widgets:
            container.mount_all(widgets)
        container.display = bool(widgets)

    def _apply_mode(self) -> None:
        scf = self.mode == "scf"
        for row in self.query("#scf-options"):
            row.display = scf
        self.query_one("#request-line").display = not scf
        tabs = next(self.query("#request-tabs").results(TabbedContent), None)
        if tabs is None:
            return
        for pane_id, visible in (("tab-query", not scf), ("tab-headers", not scf),
                                 ("tab-user", self.mode == "cocobase")):
            if visible:
                tabs.show_tab(pane_id)
            else:
                tabs.hide_tab(pane_id)
        tabs.get_tab("tab-body").label = "Event" if scf else ("Payload" if self.mode == "cocobase" else "Body")
        kind = {"scf": "SCF event", "cocobase": "CocoBase"}.get(self.mode, "HTTP")
        target = self.entry.function_id if self.entry and self.entry.function_id else ""
        self.border_title = f"INVOKE · {kind} {target}".rstrip()

    def seed_event(self, template: str) -> None:
        """Fill the event editor from a trigger template (studio.runtime.templates)."""
        import json

        try:
            from studio.runtime.templates import TEMPLATES, load_template
        except ImportError:
            return
        try:
            event = load_template(template)
        except Exception as exc:  # noqa: BLE001 - a broken template file is shown, not raised
            self.show_error(f"template {template}: {exc}")
            return
        self.query_one("#body", TextArea).load_text(json.dumps(event, indent=2))
        info = TEMPLATES.get(template)
        if info is not None:
            self.query_one("#scf-type", Select).value = info.invocation_type

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "scf-template" and self.mode == "scf" and event.value is not Select.NULL:
            event.stop()
            self.seed_event(str(event.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "path":
            new = event.value
            if new != self.template and path_params(new) != path_params(self.template):
                self.template = new
                self._build_params()
            else:
                self.template = new

    # -- building ------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.query_one("#invoke-error", Static).update(text)

    def build_spec(self) -> tuple[RequestSpec | None, str | None]:
        """The request as typed, or None and the first error (naming the field and line)."""
        body = self.query_one("#body", TextArea).text
        if self.mode in ("scf", "cocobase") or body.lstrip()[:1] in ("{", "["):
            error = json_error(body)
            if error:
                label = {"scf": "event", "cocobase": "payload"}.get(self.mode, "body")
                return None, f"{label}: {error}"
        if self.mode == "scf":
            return RequestSpec(
                mode="scf", method="POST",
                path=f"/__funcstudio/functions/{self.entry.function_id if self.entry else ''}/invoke",
                body=body or "{}", function_id=self.entry.function_id if self.entry else None,
                invocation_type=str(self.query_one("#scf-type", Select).value),
                headers=[("Content-Type", "application/json")],
            ), None
        query, errors = parse_pairs(self.query_one("#query", TextArea).text, "=")
        if errors:
            return None, f"query {errors[0]}"
        headers, errors = parse_pairs(self.query_one("#headers", TextArea).text, ":")
        if errors:
            return None, f"headers {errors[0]}"
        values = {}
        for name, _catch_all in path_params(self.template):
            values[name] = self.query_one(f"#param-{name}", Input).value
            if not values[name]:
                return None, f"path parameter :{name} is empty"
        path = fill_path(self.template, values)
        if body.strip() and not any(h.lower() == "content-type" for h, _ in headers):
            headers.append(("Content-Type", "application/json" if body.lstrip()[:1] in "{[" else "text/plain"))
        if self.mode == "cocobase":
            token = self.query_one("#user-token", Input).value.strip()
            if token:
                headers.append(("Authorization", f"Bearer {token}"))
        method = str(self.query_one("#method", Select).value)
        return RequestSpec(mode=self.mode, method=method, path=path, query=query, headers=headers, body=body,
                           function_id=self.entry.function_id if self.entry else None), None

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
            invocation_type=spec.invocation_type,
        ))
        return request_id

    def load_spec(self, spec: RequestSpec) -> None:
        """Fill the fields from a saved or imported request."""
        if spec.mode == "scf":
            self.query_one("#scf-type", Select).value = spec.invocation_type
            self.query_one("#body", TextArea).load_text(spec.body)
            return
        if spec.method in METHODS:
            self.query_one("#method", Select).value = spec.method
        self.template = spec.path
        self.query_one("#path", Input).value = spec.path
        self._build_params()
        self.query_one("#query", TextArea).load_text("\n".join(f"{k}={v}" for k, v in spec.query))
        self.query_one("#headers", TextArea).load_text("\n".join(
            f"{k}: {v}" for k, v in spec.headers if k.lower() != "content-length"))
        self.query_one("#body", TextArea).load_text(spec.body)

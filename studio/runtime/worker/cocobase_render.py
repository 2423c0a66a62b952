"""CocoBase's `render` global: Jinja2 templates through a SANDBOXED environment (RUNTIME_SPEC.md §4.5).

Jinja2 is imported on first use. Templates reach only the context they are given plus `static()`;
`{{ ''.__class__.__mro__ }}`-style escapes raise `jinja2.exceptions.SecurityError`, which the
adapter turns into the error envelope like any other exception.
"""

from __future__ import annotations

import os


class HTMLResponse:
    """What `render.render_html` returns: sent as raw text/html, outside the JSON envelope."""

    media_type = "text/html"

    def __init__(self, content: str, status_code: int = 200) -> None:
        self.body = content
        self.status_code = int(status_code)

    def __await__(self):  # the docs `await render.render_template(...)`; allow it in async main
        if False:  # pragma: no cover - makes this a generator
            yield
        return self

    def __repr__(self) -> str:
        return f"<HTMLResponse status_code={self.status_code} {len(self.body)} chars>"


class Renderer:
    def __init__(self, project_id: str, static_base_url: str, template_dirs: list[str]) -> None:
        self.project_id = project_id
        self.static_base_url = static_base_url.rstrip("/")
        self.template_dirs = [d for d in template_dirs if d]
        self._env = None

    def static(self, path: str = "") -> str:
        return f"{self.static_base_url}/{str(path).lstrip('/')}"

    @property
    def environment(self):
        if self._env is None:
            from jinja2.sandbox import SandboxedEnvironment

            self._env = SandboxedEnvironment()
            self._env.globals["static"] = self.static
        return self._env

    def render_html(self, html_content, context=None, status_code: int = 200) -> HTMLResponse:
        if not isinstance(html_content, str):
            raise TypeError(f"render_html expects the template as a str, got {type(html_content).__name__}")
        template = self.environment.from_string(html_content)
        return HTMLResponse(template.render(**dict(context or {})), status_code)

    def render_template(self, name, context=None, status_code: int = 200) -> HTMLResponse:
        name = str(name)
        if name.startswith("/") or ".." in name.replace("\\", "/").split("/"):
            raise ValueError(f"template name {name!r} must be relative to __templates__/")
        for folder in self.template_dirs:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    return self.render_html(handle.read(), context, status_code)
        raise FileNotFoundError(f"template {name!r} not found in __templates__/")

"""How a fault becomes an HTTP answer, per platform.

A fault is what happens when user code could not produce a response of its own: the instance
timed out, ran out of memory, exited, crashed, flooded its output, or its entry did not load.
The gateway asks `render_fault` for the (status, headers, body) the platform would send.

Platforms register their own renderer in `RENDERERS` (SCF answers 433/434/439 JSON, CocoBase
its envelope); anything without one gets the EdgeOne/default plain-text rendering.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from studio.project.model import Function
from studio.runtime.events import ErrorInfo

Headers = list[tuple[str, str]]
Rendered = tuple[int, Headers, bytes]


@dataclass(frozen=True)
class FaultContext:
    """Everything a renderer may need about one failed invocation."""

    function: Function | None
    fault: str
    """timeout | memory | exit | crash | load-error | output-flood | internal | busy"""
    request_id: str
    message: str = ""
    error: ErrorInfo | None = None
    exit_code: int | None = None
    timeout_s: float | None = None
    memory_mb: int | None = None
    trigger: str | None = None
    """The invocation's trigger (http | invoke | async | timer): SCF answers faults behind API Gateway with 200."""
    error_status: int | None = None
    """CocoBase: the HTTP status of its error envelope (`cocobase.error_status`)."""
    output: str = ""
    """What the function printed before the fault (CocoBase keeps it in the envelope's `output`)."""


Renderer = Callable[[FaultContext], Rendered]


def _render_scf(ctx: FaultContext) -> Rendered:
    from studio.runtime.platforms import render_scf_fault

    return render_scf_fault(ctx)


def _render_cocobase(ctx: FaultContext) -> Rendered:
    from studio.runtime.platforms import render_cocobase_fault

    return render_cocobase_fault(ctx)


# platform -> renderer (SCF and CocoBase live in platforms.py, imported when first needed).
RENDERERS: dict[str, Renderer] = {"scf": _render_scf, "cocobase": _render_cocobase}

_DEFAULT_STATUS = {
    "timeout": 504,
    "memory": 500,
    "exit": 502,
    "crash": 502,
    "output-flood": 500,
    "load-error": 500,
    "internal": 500,
    "busy": 503,
    "debugger-quit": 500,
}


def describe(ctx: FaultContext) -> str:
    """One sentence a user reads: what happened to the invocation."""
    if ctx.message:
        return ctx.message
    if ctx.fault == "timeout":
        return f"Function timed out after {_seconds(ctx.timeout_s)} seconds; its instance was killed."
    if ctx.fault == "memory":
        limit = f" of {ctx.memory_mb} MB" if ctx.memory_mb else ""
        return f"Function exceeded its memory limit{limit}; its instance was killed."
    if ctx.fault == "exit":
        return f"Function instance exited while running (exit code {ctx.exit_code})."
    if ctx.fault == "crash":
        return f"Function instance crashed while running (exit code {ctx.exit_code})."
    if ctx.fault == "output-flood":
        return "Function flooded its output beyond the capture cap; its instance was killed."
    if ctx.fault == "load-error":
        if ctx.error is not None:
            return f"Error loading module: {ctx.error.type}: {ctx.error.message}"
        return "Error loading module."
    if ctx.fault == "busy":
        return "Every instance of this function is busy; try again."
    if ctx.fault == "debugger-quit":
        return "The debugger session was ended (quit) while the function was paused; it did not finish."
    return "funcstudio failed to run the function (internal error)."


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_default(ctx: FaultContext) -> Rendered:
    """EdgeOne (and anything unknown): a plain-text 5xx with the trace, as the Flask dispatcher does."""
    status = _DEFAULT_STATUS.get(ctx.fault, 500)
    text = describe(ctx)
    if ctx.error is not None and ctx.error.traceback:
        text = f"{text}\n{ctx.error.traceback.rstrip()}"
    text += f"\n(request id {ctx.request_id})\n"
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("eo-pages-inner-scf-status", str(status)),
        ("eo-pages-inner-status-intercept", "true" if status >= 500 else "false"),
    ]
    return status, headers, text.encode("utf-8")


def render_fault(ctx: FaultContext) -> Rendered:
    platform = ctx.function.platform if ctx.function is not None else None
    renderer = RENDERERS.get(platform or "", render_default)
    return renderer(ctx)


def render_no_match(status: int, dispatcher: str, *, owner: str = "edgeone", allowed: tuple[str, ...] = (),
                    request_id: str | None = None, path: str = "/", host: str = "") -> Rendered:
    """The answer of whatever stands in front of the functions when no route takes the request.

    `owner` is the platform that would answer: `edgeone` (its dispatcher, RUNTIME_SPEC.md §2.3,
    §2.5, §2.9; `request_id` set when production headers are on), `scf` (API Gateway's documented
    "There is no api match" JSON, https://tencentcloud.com/document/product/628/11939) or
    `cocobase` (the docs are silent: a plain 404, or a 405 with `Allow`)."""
    if owner == "scf":
        message = f"There is no api match uri[{json.dumps(path)[1:-1].replace('/', chr(92) + '/')}] host [{host}]"
        return 404, [("Content-Type", "application/json")], json.dumps({"message": message}).encode("utf-8")
    text = b"Not Found" if status == 404 else b"Method Not Allowed"
    if owner == "cocobase":
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        if status == 405:
            headers.append(("Allow", ", ".join(allowed or ("GET", "POST"))))
        return status, headers, text
    if dispatcher == "asgi":
        ctype = "text/plain; charset=utf-8" if status == 404 else "text/plain"
        return status, [("Content-Type", ctype)], text
    headers = [
        ("Content-Type", "text/plain"),
        ("eo-pages-inner-scf-status", str(status)),
        ("eo-pages-inner-status-intercept", "false"),
    ]
    if request_id:
        headers.append(("Functions-Request-Id", request_id))
    return status, headers, text


def no_match_owner(project, path: str) -> str:
    """Which platform answers an unrouted request: EdgeOne's dispatcher whenever the project has
    cloud functions, else CocoBase for its endpoint paths, else API Gateway."""
    platforms = {fn.platform for fn in project.functions}
    if "cocobase" in platforms and path.startswith("/functions/"):
        return "cocobase"
    if "edgeone" in platforms or not platforms:
        return "edgeone"
    return "scf" if "scf" in platforms else "cocobase"

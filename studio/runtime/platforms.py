"""SCF and CocoBase on the runtime side: what their workers are told, how their faults read, and
how a direct invocation of a CocoBase function becomes a request.

The supervisor merges `function_extra(function)` into the worker config's `extra`; `faults.py`
and `direct.py` look the renderers and builders up here by platform.
"""

from __future__ import annotations

import json
import math

from studio.project.model import Function
from studio.runtime.faults import FaultContext, Rendered, describe

JSON = "application/json"


def function_extra(function: Function) -> dict:
    """Per-function facts an adapter needs beyond the config (SCF name, triggers; CocoBase name)."""
    if function.platform == "scf":
        return {
            "scf.name": function.name or function.id,
            "scf.namespace": function.namespace,
            "scf.runtime": function.runtime or "Python3.10",
            **({"scf.region": function.region} if function.region else {}),
            "scf.timeout_s": function.limits.timeout_s,
            "scf.memory_mb": function.limits.memory_mb,
            "scf.apigw": [
                {"path": t.path, "method": t.method, "integrated_response": t.integrated_response, "stage": t.stage}
                for t in function.triggers if t.type == "apigw" and t.enabled
            ],
        }
    if function.platform == "cocobase":
        return {"cocobase.name": function.name or function.id.rsplit("/", 1)[-1],
                "cocobase.timeout_s": function.limits.timeout_s}
    return {}


# -- SCF faults (RUNTIME_SPEC.md §3.7) ---------------------------------------------------------

SCF_FAULTS = {
    "timeout": 433,
    "memory": 434,
    "exit": 439,
    "crash": 439,
    "output-flood": 500,
    "internal": 500,
    "busy": 500,
}


def _seconds(value: float | None) -> str:
    if value is None:
        return "3"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def scf_error_body(status: int, message: str, request_id: str, stack: str | None = None) -> bytes:
    body: dict = {"errorCode": -1, "errorMessage": message, "requestId": request_id}
    if stack is not None:
        body["stackTrace"] = stack
    body["statusCode"] = status
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def render_scf_fault(ctx: FaultContext) -> Rendered:
    stack = None
    if ctx.fault == "timeout":
        status, message = 433, f"Invoking task timed out after {_seconds(ctx.timeout_s)} seconds"
    elif ctx.fault == "memory":
        status, message = 434, f"Memory limit reached: the function used more than {ctx.memory_mb or 128} MB"
    elif ctx.fault in ("exit", "crash"):
        code = "" if ctx.exit_code is None else f" (exit code {ctx.exit_code})"
        status, message = 439, f"User process exit when running{code}"
    elif ctx.fault == "load-error":
        error = ctx.error
        if error is not None and error.type.endswith("HandlerNotFound"):
            status, message = 437, f"HandlerNotFound: {error.message}"
        else:
            status, message = 430, "user code exception caught"
            stack = error.traceback.rstrip("\n") if error is not None else ""
    else:
        status, message = SCF_FAULTS.get(ctx.fault, 500), f"InternalError: {describe(ctx)}"
    # Behind API Gateway the client gets HTTP 200 with the error object (§3.6, §7 #12).
    http_status = 200 if getattr(ctx, "trigger", None) == "http" else status
    return http_status, [("Content-Type", JSON)], scf_error_body(status, message, ctx.request_id, stack)


def fault_log_lines(function: Function, request_id: str, duration_ms: float,
                    peak_memory_mb: float | None) -> list[str]:
    """The platform lines production still prints after the runtime killed an instance mid-invocation.

    SCF always closes an invocation with END and Report (RUNTIME_SPEC.md §3.8, §7 #9); a killed
    worker could not print them itself, so the supervisor adds them after its last streamed line.
    """
    if function.platform != "scf":
        return []
    memory_mb = function.limits.memory_mb or 128
    return [
        f"END RequestId: {request_id}",
        f"Report RequestId: {request_id} Duration:{int(math.ceil(duration_ms))}ms "
        f"Memory:{memory_mb}MB "
        f"MaxMemoryUsed:{float(peak_memory_mb or 0.0):.4f}MB",
    ]


def render_cocobase_fault(ctx: FaultContext) -> Rendered:
    if ctx.fault == "timeout":
        message = f"Execution timed out after {_seconds(ctx.timeout_s or 20)} seconds"
    else:
        message = describe(ctx)
    envelope = {"success": False, "result": None, "output": ctx.output, "error": message,
                "execution_time": float(ctx.timeout_s or 0) if ctx.fault == "timeout" else 0.0}
    status = getattr(ctx, "error_status", None) or 500
    return status, [("Content-Type", JSON)], json.dumps(envelope).encode("utf-8")


# -- direct invocations ------------------------------------------------------------------------


def cocobase_direct_request(function: Function, event: object, request_id: str, trigger: str,
                            defaults: dict) -> tuple[dict, bytes]:
    """A direct CocoBase invocation is a POST of the event as the JSON payload."""
    name = function.name or function.id.rsplit("/", 1)[-1]
    path = f"/functions/{name}/execute"
    route = next((r for r in function.routes if r.path == path), None)
    body = json.dumps(event if event is not None else {}, ensure_ascii=False).encode("utf-8")
    host = defaults.get("host", "127.0.0.1")
    return {
        **defaults,
        "method": "POST",
        "path": path,
        "query_string": "",
        "headers": [["Host", host], ["Content-Type", JSON], ["Content-Length", str(len(body))]],
        "route": {"path": route.path if route else path, "params": {}, "strip_prefix": None, "catch_all": False,
                  "is_framework": False},
        "request_id": request_id,
        "trigger": trigger,
    }, body

"""Building an invocation's record: what an instance reported, turned into one `InvocationRecord`.

The gateway makes the request half (`InvocationRecord` with the request's fields, built once per
request); `finished_record` and `fault_record` complete it in ONE `InvocationRecord.evolve`, with the log
lines the invocation produced. The JSON shape is `InvocationRecord.to_json()` (runtime/invocation.py);
`record_to_json` stays for older callers.

The seams with the instance are typed: `InstanceHandle` is what the supervisor pools and
`InstanceReport` what one invocation returns (instance.Instance and instance.InstanceResult).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from studio.project.model import Function
from studio.runtime.faults import FaultContext, render_fault
from studio.runtime.invocation import (  # noqa: F401 - body_json re-exported for older callers
    ErrorInfo,
    InvocationRecord,
    LogLine,
    ParityWarning,
    body_json,
)

OnLog = Callable[[str, "str | None", float, str], None]


class InstanceReport(Protocol):
    """What an instance hands back for one invocation (instance.InstanceResult)."""

    status: int | None
    headers: Sequence[tuple[str, str]]
    body: bytes
    return_value: str | None
    error: ErrorInfo | None
    warnings: tuple[ParityWarning, ...]
    duration_ms: float
    peak_memory_mb: float | None
    fault: str | None
    exit_code: int | None
    outbox: tuple[dict, ...]
    output_truncated: bool
    paused_ms: float
    """Time spent paused in the debugger (the deadline stood still meanwhile)."""
    debugger_quit: bool
    profile: tuple[dict, ...]
    app_path: str | None


class InstanceHandle(Protocol):
    """One worker instance as the supervisor sees it (instance.Instance)."""

    id: str
    pid: int
    init_ms: float
    load_error: ErrorInfo | None
    load_warnings: tuple[ParityWarning, ...]
    inner_routes: list[dict]
    modules: set[str]
    entry_digest: str | None
    """sha1 of the entry source it was handed (it may differ from the file by now), else None."""
    alive: bool
    exit_code: int | None
    leftovers: Sequence[tuple[int, str]]
    """Processes it left running that were killed when it ended: (pid, command)."""

    @property
    def load_logs(self) -> list[tuple[str, str | None, float, str]]: ...

    def invoke(self, request: dict, body: bytes, deadline_s: float, on_log: OnLog,
               on_debug: Callable[[dict], None] | None = None) -> InstanceReport: ...

    async def invoke_on_loop(self, request: dict, body: bytes, deadline_s: float,
                             on_log: OnLog) -> InstanceReport:
        """`invoke` on the event loop's thread (no debugger)."""
        ...

    def kill(self, reason: str) -> None: ...

    def exited(self) -> bool:
        """True when the process is gone (checked without blocking, without reading /proc)."""
        ...


def return_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def finished_record(
    base: InvocationRecord,
    function: Function,
    report: InstanceReport,
    logs: Sequence[LogLine],
    *,
    t0: float,
    init_ms: float | None,
    code_version: str | None,
    instance_id: str,
    warnings: tuple[ParityWarning, ...],
    error_status: int | None = None,
    wait_ms: float = 0.0,
) -> InvocationRecord:
    """The record of an invocation an instance served (or died serving). `duration_ms` is the wall time
    since `t0` (queue, cold start, handler, the round trip to the worker); the worker's own duration is
    `handler_ms`."""
    fault = report.fault
    status = report.status
    headers = tuple(report.headers)
    body = report.body or b""
    if fault is None and report.debugger_quit:
        fault, status = "debugger-quit", None  # the fault's answer replaces what the interrupted code sent
    if fault is not None and not status:
        ctx = FaultContext(function=function, fault=fault, request_id=base.request_id, error=report.error,
                           exit_code=report.exit_code, timeout_s=function.limits.timeout_s,
                           memory_mb=function.limits.memory_mb, trigger=base.trigger,
                           error_status=error_status,
                           output="".join(line.text + "\n" for line in logs if line.stream == "stdout"))
        status, rendered, body = render_fault(ctx)
        headers = tuple(rendered)
    return base.evolve(
        status=int(status) if status else 500,
        response_headers=headers,
        response_body=bytes(body),
        return_value=return_text(report.return_value),
        error=report.error,
        warnings=warnings,
        fault=fault,
        duration_ms=(time.perf_counter() - t0) * 1000,
        handler_ms=float(report.duration_ms) if report.duration_ms is not None else None,
        wait_ms=float(wait_ms),
        init_ms=init_ms,
        peak_memory_mb=report.peak_memory_mb,
        code_version=code_version,
        instance_id=instance_id,
        outbox=tuple(report.outbox or ()),
        log_count=len(logs),
        logs_truncated=bool(report.output_truncated),
        logs=tuple(logs),
        paused_ms=float(report.paused_ms or 0.0),
        profile=tuple(report.profile or ()),
        app_path=report.app_path,
    )


def fault_record(
    base: InvocationRecord,
    function: Function,
    fault: str,
    t0: float,
    *,
    error: ErrorInfo | None = None,
    message: str = "",
    logs: Sequence[LogLine] = (),
    error_status: int | None = None,
    **fields,
) -> InvocationRecord:
    """The record of an invocation no instance answered: busy, no interpreter, a load error."""
    ctx = FaultContext(function=function, fault=fault, request_id=base.request_id, error=error, message=message,
                       timeout_s=function.limits.timeout_s, memory_mb=function.limits.memory_mb,
                       trigger=base.trigger, error_status=error_status)
    status, headers, body = render_fault(ctx)
    return base.evolve(
        status=status, response_headers=tuple(headers), response_body=body, error=error,
        fault="internal" if fault == "busy" else fault, duration_ms=(time.perf_counter() - t0) * 1000,
        log_count=len(logs), logs=tuple(logs), **fields,
    )


def log_json(line: LogLine) -> dict:
    return line.to_json()


def record_to_json(record: InvocationRecord, logs: list[LogLine] | None = None) -> dict:
    if logs is not None and not record.logs:
        record = dataclasses.replace(record, logs=tuple(logs))
    return record.to_json()

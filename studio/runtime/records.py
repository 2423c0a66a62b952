"""Invocation records as JSON: the control API's answer and `funcstudio invoke --json`."""

from __future__ import annotations

import base64
import dataclasses

from studio.runtime.events import InvocationRecord, LogLine


def body_json(body: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 text when the bytes are text, else base64."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def log_json(line: LogLine) -> dict:
    return {"seq": line.seq, "time": line.time, "stream": line.stream, "level": line.level, "text": line.text}


def record_to_json(record: InvocationRecord, logs: list[LogLine] | None = None) -> dict:
    body, encoding = body_json(record.response_body)
    return {
        "request_id": record.request_id,
        "function_id": record.function_id,
        "platform": record.platform,
        "kind": record.kind,
        "trigger": record.trigger,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "headers": [list(h) for h in record.response_headers],
        "body": body,
        "body_encoding": encoding,
        "return_value": record.return_value,
        "logs": [log_json(line) for line in logs or ()],
        "error": dataclasses.asdict(record.error) if record.error else None,
        "warnings": [dataclasses.asdict(w) for w in record.warnings],
        "fault": record.fault,
        "duration_ms": round(record.duration_ms, 3),
        "init_ms": record.init_ms,
        "peak_memory_mb": record.peak_memory_mb,
        "code_version": record.code_version,
        "instance_id": record.instance_id,
        "started_at": record.started_at,
        "outbox": list(record.outbox),
    }

"""Invocation records as JSON: the control API's answer and `funcstudio invoke --json`.

The shape itself is `InvocationRecord.to_json()` (runtime/invocation.py); this module keeps the
helpers older callers use.
"""

from __future__ import annotations

import dataclasses

from studio.runtime.invocation import InvocationRecord, LogLine, body_json  # noqa: F401


def log_json(line: LogLine) -> dict:
    return line.to_json()


def record_to_json(record: InvocationRecord, logs: list[LogLine] | None = None) -> dict:
    if logs is not None and not record.logs:
        record = dataclasses.replace(record, logs=tuple(logs))
    return record.to_json()

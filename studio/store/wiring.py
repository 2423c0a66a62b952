"""Connect a running `Runtime` to the store: record its events, answer the control API from the DB.

    recording = record_runtime(runtime, on_problem=print_warning)
    ...
    runtime.stop(); recording.close()

The runtime never imports the store: this module subscribes a `RecorderProcess` (ingest.py: the
store's writer runs in a child process, so the serving process runs no SQLite writes) to `runtime.bus` and hands
the gateway a plain `lookup(request_id) -> dict | None` for `GET /__funcstudio/invocations/<id>` and
the `recording` fields of `/__funcstudio/health` (on or off, why, invocations dropped, a notice).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from studio.store.db import StoreError, db_path
from studio.store.ingest import RecorderProcess
from studio.store.queries import Reader

if TYPE_CHECKING:
    from studio.runtime.server import Runtime

class Recording:
    """A runtime's recorder plus the lookup the gateway answers from."""

    def __init__(self, recorder: RecorderProcess) -> None:
        self.recorder = recorder
        self._reader: Reader | None = None
        self._lock = threading.Lock()

    def lookup(self, request_id: str) -> dict | None:
        """request id (or a unique prefix) -> the stored invocation as JSON, or None."""
        if not self.recorder.recording:
            return None
        try:
            with self._lock:
                if self._reader is None:
                    self._reader = Reader(self.recorder.db_path)
            record = self._reader.invocation_record(request_id)
            if (record is None or record.status is None) and self.recorder.flush(timeout=2.0):
                record = self._reader.invocation_record(request_id)  # it may have been waiting for its batch
        except StoreError:
            return None
        return record.to_json() if record is not None else None

    def health(self) -> dict:
        """The `recording` fields of `/__funcstudio/health`."""
        recorder = self.recorder
        return {
            "recording": "on" if recorder.recording else "off",
            "recording_reason": None if recorder.recording else recorder.problem,
            "dropped_invocations": recorder.dropped_invocations,
            "store": str(recorder.db_path),
            "store_notice": recorder.notice,
        }

    def close(self) -> None:
        self.recorder.close()
        if self._reader is not None:
            self._reader.close()


def record_runtime(
    runtime: Runtime,
    *,
    on_problem: Callable[[str], None] | None = None,
) -> Recording:
    """Record `runtime` into `<project>/.funcstudio/studio.db`. Never raises: when the store can't
    be used, `recording.recorder.recording` is False, its `problem` says why (also given to
    `on_problem`), and the runtime serves as before."""
    recorder = RecorderProcess(
        db_path(runtime.root), runtime.settings.store, on_problem=on_problem
    ).attach(runtime.bus)
    recording = Recording(recorder)
    runtime.gateway.lookup = recording.lookup
    runtime.gateway.recording_status = recording.health
    return recording

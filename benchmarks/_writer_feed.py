"""Part of benchmarks/store_ingest.py, run in a child whose PYTHONPATH names the checkout under test:

    python benchmarks/_writer_feed.py LINES_FILE RATE DB_PATH

publishes the journal lines' records at RATE invocations a second through that checkout's
`RecorderProcess` (started, log lines, finished: as the gateway publishes them), flushes, and prints
the writer process's CPU per invocation as JSON. Imports only what every checkout has.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from studio.project.settings import StoreSettings
from studio.runtime.events import InvocationFinished, InvocationRecord, InvocationStarted
from studio.store.ingest import RecorderProcess


def process_cpu(pid: int) -> float:
    """utime + stime of process `pid`, in seconds."""
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def feed(lines_file: Path, db: Path, rate: float) -> None:
    """In a child running the checkout under test: publish the records at `rate` a second through a
    `RecorderProcess`, flush, and print the writer process's CPU per invocation (JSON)."""

    records = [InvocationRecord.from_json(json.loads(line)) for line in lines_file.read_bytes().splitlines()]
    recorder = RecorderProcess(db, StoreSettings(max_invocations=10**9, max_log_lines=10**9), queue_limit=10**6)
    assert recorder.recording and recorder.pid, recorder.problem
    time.sleep(0.5)  # the writer process settles (imports done, journals replayed)
    cpu0, t0 = process_cpu(recorder.pid), time.monotonic()
    for index, record in enumerate(records):
        due = t0 + index / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        recorder(InvocationStarted(record.request_id, record.function_id, record.trigger, record.method,
                                   record.path, record.started_at))
        for line in record.logs:
            recorder(line)
        recorder(InvocationFinished(record))
    assert recorder.flush(120)
    cpu = process_cpu(recorder.pid) - cpu0
    elapsed = time.monotonic() - t0
    recorder.close()
    print(json.dumps({"us": cpu / len(records) * 1e6, "rate": len(records) / elapsed}))


if __name__ == "__main__":
    feed(Path(sys.argv[1]), Path(sys.argv[3]), float(sys.argv[2]))

"""The store writer process's CPU per recorded invocation (issue 11: the writer competes with the
functions and the gateway for 2 cores).

    .venv/bin/python benchmarks/store_ingest.py [--invocations 2048] [--batches 8 64 512] [--rounds 5]

Real EdgeOne invocations are captured first: a `Runtime` serves the http-function of
`_runtime_bench.write_project` and its bus hands over the finished records (request and response
headers, the two platform lines "Pages request path ..." / "Pages response status ..."). They are
copied under fresh request ids and turned into the journal lines the serving process sends. Each
is then fed the way the writer process receives it: `Ingester._handle(FINISHED_WHOLE, line)` (JSON
decode, `InvocationRecord.from_json`, the record's lines and its finish into the Recorder's queue),
and every `--batches` invocations the queue is written as one commit by `Recorder._write_batch`
(redaction, rows, SQL, the FTS index) on this thread (the Recorder's own thread is stopped, so
`time.process_time` counts exactly this work).

Variants, taking turns within each round (so a noisy moment hits all of them):
  before   the writer's SQL and queueing as they were: an AFTER INSERT trigger indexes each log row
           for search, every finished record not started in this process first looks its row up by
           request id, and a FINISHED_WHOLE frame is parsed with json and queued as an event per
           line plus its finish (row building and redaction are today's in both)
  now      the writer as it is
CPU us per invocation, medians over `--rounds`; ratio = now / before (below 1: cheaper). The whole
before-and-after, row building included, is the writer-process section with `--compare-with`.

Then the whole writer PROCESS as `funcstudio serve` runs it (`RecorderProcess`, ingest.py): this
checkout's started/line/finished events are published at `--rate` invocations a second for
`--seconds`, as a busy gateway would (the serving side holds the quick ones back and sends one
FINISHED_WHOLE frame each), then flushed; the writer process's own CPU (utime + stime from /proc)
per invocation is printed. With `--compare-with OTHER_CHECKOUT` (e.g. a `git worktree` of the commit
before a change) the same runs against that checkout's writer process, rounds taking turns.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runtime_bench import ROOT, get, write_project

from studio.project.settings import StoreSettings
from studio.runtime.events import InvocationFinished
from studio.runtime.invocation import InvocationRecord
from studio.store import channel
from studio.store.ingester import Ingester
from studio.store.journal import journal_line
from studio.store.maintenance import LOG_INSERT
from studio.store.writer import Recorder

SAMPLES = 16
"""Distinct real invocations captured (then copied under fresh request ids)."""


def capture(root: Path) -> list[InvocationRecord]:
    from studio.runtime.server import Runtime

    records: list[InvocationRecord] = []

    def keep(event: object) -> None:
        if isinstance(event, InvocationFinished):
            records.append(event.record)

    runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
    runtime.start()
    try:
        runtime.bus.subscribe(keep)
        for index in range(SAMPLES):
            status, _ = get(runtime.port, f"/fn?page={index}")
            assert status == 200, status
        deadline = time.monotonic() + 30
        while len(records) < SAMPLES and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        runtime.stop()
    assert len(records) == SAMPLES, len(records)
    return records


def journal_lines(samples: list[InvocationRecord], count: int, tag: str, body_cap: int) -> list[bytes]:
    lines = []
    for index in range(count):
        sample = samples[index % len(samples)]
        request_id = f"{tag}-{index:06d}-{sample.request_id}"
        record = dataclasses.replace(
            sample, request_id=request_id,
            logs=tuple(dataclasses.replace(line, request_id=request_id) for line in sample.logs))
        lines.append(journal_line(record, body_cap))
    return lines


class _Quiet:
    """A Recorder of `cls` on `path` whose writer thread is stopped: batches are written on the caller's."""

    def __init__(self, cls: type[Recorder], path: Path, settings: StoreSettings) -> None:
        self.recorder = recorder = cls(path, settings, queue_limit=10**7, journal=False)
        recorder._closing = True
        recorder._wake.set()
        recorder._thread.join(30)
        assert not recorder._thread.is_alive()
        recorder._closing = False
        self.ingester = Ingester(sock=None)  # type: ignore[arg-type] - _handle never sends
        self.ingester.recorder = recorder

    def feed(self, lines: list[bytes], batch: int) -> float:
        """CPU seconds to take `lines` as the writer process does and commit every `batch` of them."""
        recorder, queue = self.recorder, self.recorder._queue
        handle = (functools.partial(_whole_as_events, recorder=recorder) if isinstance(recorder, Before)
                  else self.ingester._handle)
        t0 = time.process_time()
        for start in range(0, len(lines), batch):
            for line in lines[start:start + batch]:
                handle(channel.FINISHED_WHOLE, line)
            events = list(queue)
            queue.clear()
            recorder._write_batch(events)
        return time.process_time() - t0

    def close(self) -> None:
        recorder = self.recorder
        recorder._thread = _Done()
        recorder.close()


class _Done:
    def join(self, timeout: float | None = None) -> None:
        pass

    def is_alive(self) -> bool:
        return False


def _whole_as_events(kind: int, payload: bytes, recorder: Recorder) -> None:
    """What the writer process did with a FINISHED_WHOLE frame before: the record's lines, then its finish,
    each an event of its own."""
    record = InvocationRecord.from_json(json.loads(payload))
    for line in record.logs:
        recorder(line)
    recorder(InvocationFinished(record))


class Before(Recorder):
    """The writer before issue 11's changes, restored in place for comparison."""

    def _open(self) -> None:
        super()._open()
        assert self._conn is not None
        self._conn.execute(INSERT_TRIGGER)  # schema 5: each log row indexed by its own trigger run

    def _finish(self, conn: sqlite3.Connection, record: InvocationRecord) -> int:
        if record.request_id not in self._open_ids:  # every record not started here was looked up first
            row = conn.execute("SELECT id FROM invocations WHERE request_id = ?", (record.request_id,)).fetchone()
            if row is not None:
                self._open_ids[record.request_id] = row[0]
        return super()._finish(conn, record)

    @staticmethod
    def _insert_logs(conn: sqlite3.Connection, rows: list[tuple]) -> int | None:
        if not rows:
            return None
        conn.executemany(LOG_INSERT, rows)
        return conn.execute("SELECT last_insert_rowid()").fetchone()[0]


INSERT_TRIGGER = (
    'CREATE TRIGGER IF NOT EXISTS "logs_ai" AFTER INSERT ON "logs" BEGIN\n'
    '  INSERT INTO "logs_fts" (rowid, "text") VALUES (new.rowid, new."text");\nEND')
VARIANTS: dict[str, type[Recorder]] = {"before": Before, "now": Recorder}


def writer_process_section(folder: Path, samples: list[InvocationRecord], args, settings: StoreSettings) -> None:
    checkouts = {"now": ROOT}
    if args.compare_with is not None:
        checkouts = {f"@{args.compare_with.name}": args.compare_with.resolve(), "now": ROOT}
    count = int(args.rate * args.seconds)
    print(f"\nthe writer process (RecorderProcess), {count} invocations at {args.rate:.0f}/s, medians of "
          f"{args.rounds} rounds, its CPU us per invocation")
    results: dict[str, list[float]] = {name: [] for name in checkouts}
    for round_ in range(args.rounds):
        for name, checkout in checkouts.items():
            lines_file = folder / f"lines-{round_}-{len(results[name])}.jsonl"
            lines_file.write_bytes(b"".join(journal_lines(samples, count, f"p{round_}", settings.body_cap_bytes)))
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (str(checkout), os.environ.get("PYTHONPATH")) if p))
            out = subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "_writer_feed.py"), str(lines_file), str(args.rate),
                 str(folder / f"proc-{name}-{round_}" / "studio.db")],
                env=env, capture_output=True, text=True, timeout=600, cwd=str(checkout))
            if out.returncode:
                raise SystemExit(f"{name}: {out.stderr}")
            results[name].append(json.loads(out.stdout.splitlines()[-1])["us"])
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        ratio = f"   ratio now/{name}: {medians['now'] / value:.2f}" if name != "now" else ""
        print(f"  {name:<20} {value:>8.1f} us{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=2048, help="per round and variant")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 64, 512])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1500.0, help="invocations a second into the writer process")
    parser.add_argument("--seconds", type=float, default=2.0, help="per writer-process round")
    parser.add_argument("--compare-with", type=Path, default=None, help="another checkout's writer process")
    args = parser.parse_args()
    settings = StoreSettings(max_invocations=10**9, max_log_lines=10**9)
    with tempfile.TemporaryDirectory(prefix="funcstudio-bench-ingest-") as tmp:
        folder = Path(tmp)
        samples = capture(write_project(folder / "proj"))
        print(f"{len(samples)} real EdgeOne invocations captured; each has {len(samples[0].logs)} log lines: "
              + " | ".join(line.text[:40] for line in samples[0].logs))
        print(f"{args.invocations} invocations per round and variant, medians of {args.rounds} rounds, "
              "CPU us per invocation")
        print(f"  {'per commit':>10}  " + "  ".join(f"{name:>8}" for name in VARIANTS)
              + ("  ratio now/before" if "before" in VARIANTS else ""))
        for batch in args.batches:
            samples_us: dict[str, list[float]] = {name: [] for name in VARIANTS}
            stores = {name: _Quiet(cls, folder / f"{name}-{batch}" / "studio.db", settings)
                      for name, cls in VARIANTS.items()}
            try:
                for round_ in range(args.rounds + 1):  # the first is a warm-up
                    for name, store in stores.items():
                        lines = journal_lines(samples, args.invocations, f"{name}{round_}",
                                              settings.body_cap_bytes)
                        cpu = store.feed(lines, batch)
                        if round_:
                            samples_us[name].append(cpu / args.invocations * 1e6)
            finally:
                for store in stores.values():
                    store.close()
            medians = {name: statistics.median(values) for name, values in samples_us.items()}
            ratio = f"  {medians['now'] / medians['before']:>17.2f}" if "before" in medians else ""
            print(f"  {batch:>10}  " + "  ".join(f"{medians[name]:>8.1f}" for name in VARIANTS) + ratio)
        writer_process_section(folder, samples, args, settings)


if __name__ == "__main__":
    main()

"""The store: sustained ingest through the writer, and reads at 1,000,000 stored log lines, each
against raw `sqlite3` doing the same work in the same run (DESIGN.md §8).

    .venv/bin/python benchmarks/store.py [--lines 1000000] [--ingest 200000] [--rounds 15]

Ingest: `--ingest` log lines (10 per invocation, plus started/finished events) published to a
`Recorder` as fast as one thread can, until all are committed; the baseline inserts the same rows
with `executemany` into the same schema (same indexes, the FTS5 index filled by one statement per
transaction as the writer does) in 5,000-row transactions: the writer's cost over the bare minimum
the schema needs.

Reads, on a store holding `--lines` log lines (generated in SQL, the FTS index rebuilt once):
  newest page    Reader.logs(limit=200)                         vs the same SELECT by hand
  filtered page  function + level >= ERROR (merged index ranges) vs the obvious `level IN (...)` SQL
  FTS search     Reader.logs(Filter(text=...))                  vs FTS5 by hand, and vs `LIKE '%...%'`
  deep page      keyset, 900,000 rows back                       vs `LIMIT 200 OFFSET 900000`
  count          Reader.count_logs() (the writer's counter)      vs `count(*)`
Medians of `--rounds` runs after one warm-up; ratio = funcstudio / baseline (below 1: faster).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from studio.project.settings import StoreSettings  # noqa: E402
from studio.runtime.events import InvocationFinished, InvocationRecord, InvocationStarted, LogLine  # noqa: E402
from studio.store.db import open_store  # noqa: E402
from studio.store.queries import Filter, Reader  # noqa: E402
from studio.store.writer import Recorder  # noqa: E402

WORDS = (
    "request handler user order cache database timeout retry payload session token render template "
    "upload download queue worker shard index commit rollback connection socket header cookie json "
    "parse encode decode stream buffer thread process memory disk network latency"
).split()
FUNCTIONS = 20
LINES_PER_INVOCATION = 10


def median_ms(fn, rounds: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def line_text(n: int) -> str:
    text = f"step {n % 97} {WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]} took {n % 1000} ms"
    return text + (" needle" if n % 10_000 == 0 else "")


# --- ingest --------------------------------------------------------------------------------------


def ingest_through_writer(folder: Path, lines: int) -> float:
    settings = StoreSettings(max_invocations=10**9, max_log_lines=10**9)
    recorder = Recorder(folder / "w" / "studio.db", settings, queue_limit=10**7)
    now = time.time()
    t0 = time.perf_counter()
    for index in range(lines // LINES_PER_INVOCATION):
        request_id = f"req-{index}"
        function_id = f"api/fn{index % FUNCTIONS}"
        recorder(InvocationStarted(request_id, function_id, "http", "GET", "/x", now))
        for seq in range(LINES_PER_INVOCATION):
            n = index * LINES_PER_INVOCATION + seq
            recorder(LogLine(request_id, function_id, seq, now, "logging", "INFO", line_text(n)))
        recorder(
            InvocationFinished(
                InvocationRecord(
                    request_id,
                    function_id,
                    "edgeone",
                    "wsgi",
                    "http",
                    "GET",
                    "/x",
                    status=200,
                    started_at=now,
                    log_count=10,
                )
            )
        )
    assert recorder.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    assert recorder.dropped_lines == 0
    recorder.close()
    return lines / elapsed


def ingest_raw(folder: Path, lines: int) -> float:
    conn = open_store(folder / "r" / "studio.db")
    now = time.time()
    t0 = time.perf_counter()
    invocations = lines // LINES_PER_INVOCATION
    for start in range(0, invocations, 500):  # 500 invocations = 5,000 lines per transaction
        conn.execute("BEGIN")
        before = conn.execute("SELECT max(id) FROM logs").fetchone()[0] or 0
        for index in range(start, min(start + 500, invocations)):
            function_id = f"api/fn{index % FUNCTIONS}"
            invocation_id = conn.execute(
                "INSERT INTO invocations (request_id, state, function_id, trigger, method, path, started_at, status, "
                "status_class) VALUES (?, 'finished', ?, 'http', 'GET', '/x', ?, 200, 2)",
                (f"req-{index}", function_id, now),
            ).lastrowid
            conn.executemany(
                "INSERT INTO logs (invocation_id, function_id, seq, time, stream, level, text) "
                "VALUES (?, ?, ?, ?, 'logging', 'INFO', ?)",
                [
                    (invocation_id, function_id, seq, now, line_text(index * LINES_PER_INVOCATION + seq))
                    for seq in range(LINES_PER_INVOCATION)
                ],
            )
        conn.execute("INSERT INTO logs_fts (rowid, text) SELECT id, text FROM logs WHERE id > ?", (before,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return lines / elapsed


# --- a million lines -----------------------------------------------------------------------------


def generate(path: Path, lines: int) -> None:
    """Fill a store with `lines` log lines in SQL, the FTS index rebuilt once at the end."""
    conn = open_store(path)
    invocations = lines // LINES_PER_INVOCATION
    words = ",".join(f"({i}, '{w}')" for i, w in enumerate(WORDS))
    levels = "('DEBUG'), ('INFO'), ('INFO'), ('INFO'), ('WARNING'), ('INFO'), ('INFO'), ('ERROR'), ('INFO'), ('INFO')"
    conn.execute("BEGIN")
    conn.execute(
        f"""WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < {invocations - 1})
        INSERT INTO invocations (id, request_id, state, function_id, trigger, method, path, started_at, status,
                                 status_class, has_error, duration_ms, log_count)
        SELECT x + 1, printf('%08x-%04x-bench', x, x % 65536), 'finished', 'api/fn' || (x % {FUNCTIONS}), 'http',
               'GET', '/x', 1.7e9 + x, CASE WHEN x % 50 = 0 THEN 500 ELSE 200 END,
               CASE WHEN x % 50 = 0 THEN 5 ELSE 2 END, x % 50 = 0, 1.5, {LINES_PER_INVOCATION} FROM n"""
    )
    conn.execute("CREATE TEMP TABLE words (i INTEGER PRIMARY KEY, w TEXT)")
    conn.execute(f"INSERT INTO words VALUES {words}")
    conn.execute("CREATE TEMP TABLE lv (i INTEGER PRIMARY KEY, level TEXT)")
    conn.execute(f"INSERT INTO lv (level) VALUES {levels}")
    w = len(WORDS)
    conn.execute(
        f"""WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < {lines - 1})
        INSERT INTO logs (id, invocation_id, function_id, seq, time, stream, level, text)
        SELECT x + 1, x / {LINES_PER_INVOCATION} + 1, 'api/fn' || ((x / {LINES_PER_INVOCATION}) % {FUNCTIONS}),
               x % {LINES_PER_INVOCATION}, 1.7e9 + x / 10.0, 'logging',
               (SELECT level FROM lv WHERE lv.i = (x * 7919 % 10) + 1),
               'step ' || (x % 97) || ' ' || (SELECT w FROM words WHERE i = x % {w}) || ' ' ||
               (SELECT w FROM words WHERE i = (x * 7) % {w}) || ' took ' || (x % 1000) || ' ms' ||
               CASE WHEN x % 10000 = 0 THEN ' needle' ELSE '' END
        FROM n"""
    )
    conn.execute("INSERT INTO logs_fts (logs_fts) VALUES ('rebuild')")
    conn.execute("UPDATE counters SET value = ? WHERE name = 'invocations'", (invocations,))
    conn.execute("UPDATE counters SET value = ? WHERE name = 'logs'", (lines,))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def read_benchmarks(path: Path, rounds: int) -> list[tuple[str, float, float, str]]:
    reader = Reader(path)
    raw = sqlite3.connect(path)
    columns = "l.id, l.invocation_id, i.request_id, l.function_id, l.seq, l.time, l.stream, l.level, l.text"
    join = "FROM logs l JOIN invocations i ON i.id = l.invocation_id"
    results = []

    def compare(name, ours, theirs, baseline_name):
        assert len(ours()) == len(theirs()), name
        results.append((name, median_ms(ours, rounds), median_ms(theirs, rounds), baseline_name))

    compare(
        "newest page (200)",
        lambda: reader.logs(limit=200),
        lambda: raw.execute(f"SELECT {columns} {join} ORDER BY l.id DESC LIMIT 200").fetchall(),
        "same SELECT, raw sqlite3",
    )
    errors = Filter(function_id="api/fn3", level="error")
    compare(
        "filtered page: fn + level>=ERROR",
        lambda: reader.logs(errors, limit=200),
        lambda: raw.execute(
            f"SELECT {columns} {join} WHERE l.function_id = 'api/fn3' AND l.level IN "
            "('ERROR', 'CRITICAL') ORDER BY l.id DESC LIMIT 200"
        ).fetchall(),
        "raw level IN (...)",
    )
    status = Filter(status="5xx")
    compare(
        "filtered page: 5xx",
        lambda: reader.logs(status, limit=200),
        lambda: raw.execute(
            f"SELECT {columns} {join} WHERE i.status_class = 5 ORDER BY l.id DESC LIMIT 200"
        ).fetchall(),
        "same SELECT, raw sqlite3",
    )
    needle = Filter(text="needle")
    compare(
        "FTS search 'needle' (100 hits)",
        lambda: reader.logs(needle, limit=200),
        lambda: raw.execute(
            f"SELECT {columns} FROM logs_fts f JOIN logs l ON l.id = f.rowid JOIN invocations "
            "i ON i.id = l.invocation_id WHERE logs_fts MATCH 'needle' ORDER BY f.rowid DESC "
            "LIMIT 200"
        ).fetchall(),
        "FTS5 by hand, raw sqlite3",
    )
    compare(
        "text search 'needle' (100 hits)",
        lambda: reader.logs(needle, limit=200),
        lambda: raw.execute(
            f"SELECT {columns} {join} WHERE l.text LIKE '%needle%' ORDER BY l.id DESC LIMIT 200"
        ).fetchall(),
        "raw LIKE '%needle%'",
    )
    common = Filter(text="connection")
    compare(
        "FTS search 'connection' (common)",
        lambda: reader.logs(common, limit=200),
        lambda: raw.execute(
            f"SELECT {columns} {join} WHERE l.text LIKE '%connection%' ORDER BY l.id DESC LIMIT 200"
        ).fetchall(),
        "raw LIKE '%connection%'",
    )
    top = raw.execute("SELECT max(id) FROM logs").fetchone()[0]
    compare(
        "deep page (900k back)",
        lambda: reader.logs(before_id=top - 900_000, limit=200),
        lambda: raw.execute(f"SELECT {columns} {join} ORDER BY l.id DESC LIMIT 200 OFFSET 900000").fetchall(),
        "raw LIMIT/OFFSET",
    )
    compare(
        "count all lines",
        lambda: [reader.count_logs()],
        lambda: raw.execute("SELECT count(*) FROM logs").fetchall(),
        "raw count(*)",
    )
    reader.close()
    raw.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funcstudio-bench-store-") as tmp:
        folder = Path(tmp)
        print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")
        print(
            f"\ningest of {args.ingest:,} log lines ({args.ingest // LINES_PER_INVOCATION:,} invocations), "
            "3 runs each, median:"
        )
        writer_rates, raw_rates = [], []
        for run in range(3):
            writer_rates.append(ingest_through_writer(folder / f"ingest{run}", args.ingest))
            raw_rates.append(ingest_raw(folder / f"ingest{run}", args.ingest))
        ours, theirs = statistics.median(writer_rates), statistics.median(raw_rates)
        print(f"  through the Recorder    {ours:>12,.0f} lines/s")
        print(f"  raw sqlite3 executemany {theirs:>12,.0f} lines/s")
        print(f"  ratio (Recorder / raw)  {ours / theirs:>12.2f}")

        path = folder / "big" / "studio.db"
        t0 = time.perf_counter()
        generate(path, args.lines)
        size = sum(p.stat().st_size for p in path.parent.iterdir()) / 1e6
        print(
            f"\n{args.lines:,} log lines generated in {time.perf_counter() - t0:.1f} s ({size:.0f} MB); "
            f"medians of {args.rounds} runs:"
        )
        print(f"  {'query':<36} {'funcstudio':>11} {'baseline':>11} {'ratio':>7}  baseline")
        for name, ours_ms, base_ms, baseline in read_benchmarks(path, args.rounds):
            print(f"  {name:<36} {ours_ms:>9.3f}ms {base_ms:>9.3f}ms {ours_ms / base_ms:>7.2f}  {baseline}")


if __name__ == "__main__":
    main()

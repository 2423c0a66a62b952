"""Where recording's cost on the warm path comes from: the serving process's own part (journal line, write,
send) against the store writer process running beside it (issue 11 item 3).

    .venv/bin/python benchmarks/recording_split.py [--rounds 9] [--requests 300]

Two `Runtime`s serve the same http-function project, one without a recorder and one wired as `funcstudio
serve` wires it. Each round runs, on one keep-alive connection per server:
  recording off           the server without a recorder (the baseline)
  recording, writer held  the recording server with its writer process stopped (SIGSTOP): what the
                          serving process itself pays
  recording on            the recording server with its writer process running
After each variant's round the writer process is given time to store what it was sent (`settle`): it
commits once requests pause, and its work must not land in the next variant's round. Then
`--sustained-rounds` rounds of `--sustained` back-to-back requests, off and on: a stream long enough
that the serving side sends its finished lines and the writer commits them WHILE it runs (every
0.25 s), so what recording costs a server that is never quiet shows too.
It prints the quantiles of all latencies per variant, and each variant's median of per-round ratios
against its baseline.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runtime_bench import ROOT, settle, write_project, writer_of

SERVER = """
import sys, time
sys.path.insert(0, {repo!r})
from studio.runtime.server import Runtime
runtime = Runtime({root!r}, host="127.0.0.1", port=0, reload=False)
if {record!r}:
    from studio.store.wiring import record_runtime
    recording = record_runtime(runtime)
runtime.start()
print(runtime.gateway.port, flush=True)
while True:
    time.sleep(3600)
"""
PATH = "/fn"


def start(root: Path, record: bool) -> tuple[subprocess.Popen, http.client.HTTPConnection]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(repo=str(ROOT), root=str(root), record=record)],
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(50):  # warm: the instance starts on the first request
        get(conn)
    return proc, conn


def get(conn: http.client.HTTPConnection) -> float:
    began = time.perf_counter()
    conn.request("GET", PATH)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"GET {PATH} answered {response.status}")
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=300, help="per variant and round")
    parser.add_argument("--sustained", type=int, default=4000,
                        help="requests per sustained round: a stream long enough that the writer commits during it")
    parser.add_argument("--sustained-rounds", type=int, default=3)
    args = parser.parse_args()
    root = write_project(Path(tempfile.mkdtemp(prefix="funcstudio-recsplit-")) / "project")
    off, on = start(root, False), start(root, True)
    writer = writer_of(on[0].pid)
    if writer is None:
        raise SystemExit("the recording server has no writer process")
    variants = ("recording off", "recording, writer held", "recording on")
    sustained = ("recording off", "recording on")
    names = (*variants, *(f"{name}, sustained" for name in sustained))
    latencies: dict[str, list[float]] = {name: [] for name in names}
    medians: dict[str, list[float]] = {name: [] for name in names}
    try:
        for _ in range(args.rounds):
            for name in variants:
                conn = off[1] if name == "recording off" else on[1]
                held = name == "recording, writer held"
                if held:
                    os.kill(writer, signal.SIGSTOP)
                for _ in range(20):  # warm this round's connection and caches, as invoke_overhead does
                    get(conn)
                try:
                    round_ = [get(conn) for _ in range(args.requests)]
                finally:
                    if held:
                        os.kill(writer, signal.SIGCONT)
                settle(writer)  # after every variant alike: the writer catches up before the next
                latencies[name] += round_
                medians[name].append(statistics.median(round_))
        for _ in range(args.sustained_rounds):
            for name in sustained:
                round_ = [get(off[1] if name == "recording off" else on[1]) for _ in range(args.sustained)]
                settle(writer)
                latencies[f"{name}, sustained"] += round_
                medians[f"{name}, sustained"].append(statistics.median(round_))
    finally:
        for proc, conn in (off, on):
            conn.close()
            proc.terminate()
            proc.wait()
    print(f"recording_split: {args.rounds} rounds x {args.requests} sequential GET {PATH} per variant")
    print(f"{'variant':37s}{'p5':>9s}{'p50':>9s}{'p95':>9s}   vs recording off")
    for name in names:
        if not latencies[name]:
            continue
        base = "recording off, sustained" if name.endswith("sustained") else "recording off"
        q = statistics.quantiles(latencies[name], n=20)
        ratio = statistics.median(m / b for m, b in zip(medians[name], medians[base], strict=True))
        print(f"{name:37s}{q[0]:8.3f} {q[9]:8.3f} {q[18]:8.3f}   {ratio:.2f}x")


if __name__ == "__main__":
    main()

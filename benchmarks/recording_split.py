"""Where recording's cost on the warm path comes from: the serving process's own part (journal line, write,
send) against the store writer process running beside it (issue 11 item 3).

    .venv/bin/python benchmarks/recording_split.py [--rounds 9] [--requests 300]

Two `Runtime`s serve the same http-function project, one without a recorder and one wired as `funcstudio
serve` wires it. Each round runs, on one keep-alive connection per server:
  recording off           the server without a recorder (the baseline)
  recording, writer held  the recording server with its writer process stopped (SIGSTOP): what the
                          serving process itself pays
  recording on            the recording server with its writer process running
and prints the quantiles of all latencies per variant, and each variant's median of per-round ratios
against the baseline.
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

from _runtime_bench import ROOT, write_project

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


def writer_of(server_pid: int) -> int:
    """The pid of the store writer process the recording server started."""
    for _ in range(100):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read()
            except OSError:
                continue
            if parent == server_pid and b"studio.store.ingester" in command:
                return int(entry)
        time.sleep(0.05)
    raise SystemExit("the recording server has no writer process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=300, help="per variant and round")
    args = parser.parse_args()
    root = write_project(Path(tempfile.mkdtemp(prefix="funcstudio-recsplit-")) / "project")
    off, on = start(root, False), start(root, True)
    writer = writer_of(on[0].pid)
    variants = ("recording off", "recording, writer held", "recording on")
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    medians: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):
            for name in variants:
                conn = off[1] if name == "recording off" else on[1]
                held = name == "recording, writer held"
                if held:
                    os.kill(writer, signal.SIGSTOP)
                try:
                    round_ = [get(conn) for _ in range(args.requests)]
                finally:
                    if held:
                        os.kill(writer, signal.SIGCONT)
                        time.sleep(0.2)  # it catches up before the next variant
                latencies[name] += round_
                medians[name].append(statistics.median(round_))
    finally:
        for proc, conn in (off, on):
            conn.close()
            proc.terminate()
            proc.wait()
    print(f"recording_split: {args.rounds} rounds x {args.requests} sequential GET {PATH} per variant")
    print(f"{'variant':26s}{'p5':>9s}{'p50':>9s}{'p95':>9s}   vs recording off")
    for name in variants:
        q = statistics.quantiles(latencies[name], n=20)
        ratio = statistics.median(m / b for m, b in zip(medians[name], medians["recording off"], strict=True))
        print(f"{name:26s}{q[0]:8.3f} {q[9]:8.3f} {q[18]:8.3f}   {ratio:.2f}x")


if __name__ == "__main__":
    main()

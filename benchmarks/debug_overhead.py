"""What debugging costs a warm request that does not stop: plain, with the session breakpoints
applied (set in another file, so the trace runs but never pauses), with stop-on-exception only
(no trace at all), and profiled — per kind, all in one run against the same runtime.

    .venv/bin/python benchmarks/debug_overhead.py [--requests 100]

Prints the median latency of each mode and its ratio to the plain request; the modes are
interleaved request by request, so a noisy machine slows them alike.
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import time
from pathlib import Path

from _runtime_bench import KINDS, median, row, write_project

from studio.runtime.debug import DEBUG_HEADER, PROFILE_HEADER, Breakpoint


def timed(port: int, path: str, headers: dict) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        return (time.perf_counter() - t0) * 1000
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    from studio.runtime.server import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp) / "proj")
        (root / "cloud-functions" / "elsewhere.py").write_text(
            "def handler(event, context):\n    return {'statusCode': 200, 'body': 'x'}\n", encoding="utf-8")
        runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
        runtime.start()
        try:
            modes = {
                "plain": ({}, False, False),
                "breakpoints, no hit": ({DEBUG_HEADER: "1"}, True, False),
                "stop on exception": ({DEBUG_HEADER: "1"}, False, True),
                "profiled": ({PROFILE_HEADER: "1"}, False, False),
            }
            print(row("kind / mode", "median ms", "x plain", widths=(40, 12, 10)))
            elsewhere = Breakpoint(str((root / "cloud-functions/elsewhere.py").resolve()), 2)
            for kind, (_rel, _source, path) in KINDS.items():
                for _ in range(5):
                    timed(runtime.port, path, {})  # warm: instance started, imports done
                samples: dict[str, list[float]] = {mode: [] for mode in modes}
                for _ in range(args.requests):  # interleaved, so a noisy moment hits every mode alike
                    for mode, (headers, breakpoints, on_exception) in modes.items():
                        runtime.debug.clear()
                        if breakpoints:
                            runtime.debug.add(elsewhere)
                        runtime.debug.stop_on_exception = on_exception
                        samples[mode].append(timed(runtime.port, path, headers))
                plain = median(samples["plain"])
                for mode, values in samples.items():
                    value = median(values)
                    print(row(f"{kind} / {mode}", f"{value:.2f}", f"{value / plain:.2f}", widths=(40, 12, 10)))
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()

"""First request to a new instance (forked from the zygote that pre-imported the framework) against a
fresh `python -c 'import app'` of the same module, in the same run (DESIGN.md §8).

    .venv/bin/python benchmarks/cold_start.py [--rounds 10]

Each funcstudio round retires the function's instances, then times one request end to end (gateway,
fork, import of the user module, the call). The baseline only imports the module in a new
interpreter: it does not even serve a request.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _runtime_bench import KINDS, ROOT, median, row, timed_get, write_project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from studio.runtime.server import Runtime

    print(f"cold_start: first request to a new instance vs `python -c 'import app'`, {args.rounds} rounds")
    print(row("kind", "funcstudio", "python import", "ratio"))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_project(Path(tmp) / "bench")
        runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
        runtime.start()
        try:
            for kind, (rel, _source, path) in KINDS.items():
                function_id = "cloud-functions/" + rel[:-3]
                timed_get(runtime.port, path)  # the zygote is up and warm before we time anything
                cold = []
                for _ in range(args.rounds):
                    runtime.supervisor.retire([function_id])
                    ms, status, _body = timed_get(runtime.port, path)
                    assert status == 200, status
                    cold.append(ms)
                entry = root / "cloud-functions" / rel
                module = entry.stem
                baseline = []
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=entry.parent, check=True)
                    baseline.append((time.perf_counter() - t0) * 1000)
                print(row(kind, f"{median(cold):.1f} ms", f"{median(baseline):.1f} ms",
                          f"{median(cold) / median(baseline):.2f}x"))
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()

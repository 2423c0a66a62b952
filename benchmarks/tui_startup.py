"""Studio startup: process start to the first interactive frame, on a generated 1,000-function
project, against `import textual.app` in the same run (DESIGN.md §8, STYLE.md §6).

    .venv/bin/python benchmarks/tui_startup.py [--runs 5] [--functions 1000]

Each sample is a fresh interpreter. The parent notes the wall-clock time just before it spawns the
child; the child prints the wall-clock time at the moment it reaches the mark (the app's `on_ready`,
or the end of `import textual.app`) and leaves at once. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BASELINE = "import time, os\nimport textual.app\nprint(time.time(), flush=True)\nos._exit(0)\n"

MINIMAL = """
import os, time
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()

    def on_ready(self):
        print(time.time(), flush=True)
        os._exit(0)

Minimal().run(headless=True, size=(120, 40))
"""

STUDIO = """
import os, sys, time
sys.path.insert(0, {repo!r})
from studio.tui.app import StudioApp, StudioOptions

class BenchApp(StudioApp):
    def on_ready(self):
        print(time.time(), flush=True)
        os._exit(0)

BenchApp({project!r}, port=0, options=StudioOptions()).run(headless=True, size=(120, 40))
"""


def make_project(root: Path, functions: int) -> Path:
    """`functions` EdgeOne handlers in nested folders, plus a few dynamic routes."""
    base = root / "cloud-functions"
    for i in range(functions):
        folder = base / f"group{i // 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"[id{i}].py" if i % 100 == 0 else f"fn{i:04d}.py"
        (folder / name).write_text(f"def handler(event, context):\n    return {{'statusCode': 200, 'body': '{i}'}}\n")
    return root


def sample(code: str) -> float:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1]) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--functions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "big-project", args.functions)
        studio = STUDIO.format(repo=str(REPO), project=str(project))
        sample(BASELINE)  # warm-up: page cache, .pyc files
        sample(studio)
        baseline, minimal, first_frame = [], [], []
        for _ in range(args.runs):
            baseline.append(sample(BASELINE))
            minimal.append(sample(MINIMAL))
            first_frame.append(sample(studio))
    base = statistics.median(baseline)
    rows = [("import textual.app (baseline)", base),
            ("minimal Textual app, first frame (reference)", statistics.median(minimal)),
            (f"studio on {args.functions} functions, first interactive frame", statistics.median(first_frame))]
    for label, value in rows:
        print(f"{label:<58} median {value * 1000:7.1f} ms   {value / base:5.2f}x baseline   ({args.runs} runs)")


if __name__ == "__main__":
    main()

"""The studio's log view on a big store: first paint of the newest lines after the first frame, the
memory it costs, and filter switches, against the same studio on an empty store (DESIGN.md §8).

    .venv/bin/python benchmarks/log_view.py [--runs 3] [--lines 1000000]

Each sample is a fresh interpreter running the real studio headless (discovery, runtime, recorder)
on a one-function project whose store holds 0 or `--lines` log lines (generated as in
benchmarks/store.py). The child notes the time of its first frame (`on_ready`), then polls every
10 ms until the log view's bottom line is the store's newest line and a refresh has drawn it; it
prints that delay and its resident memory (VmRSS) at that moment. On the big store it then switches
filters (level ERROR, one function, the text "needle") and times each until the newest matching
line is on screen. Prints medians, and the big store's figures against the empty store's; "newest
page read and in the view" is when the log pane applied its first keyset page, before layout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from store import generate  # noqa: E402

from studio.store.db import db_path, open_store  # noqa: E402

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, {repo!r})
from studio.tui.app import StudioApp, StudioOptions
from studio.tui.log_source import LogFilters
from studio.tui.widgets.log_view import LogsPane, LogView

NEWEST = {newest}
SWITCHES = {switches!r}


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Bench(StudioApp):
    def on_ready(self):
        super().on_ready()
        self.result = {{}}
        self.first_frame = time.perf_counter()
        self.step = None
        self.set_interval(0.01, self.poll)

    def shown_newest(self, newest):
        view = self.query(LogView).first() if self.query(LogView) else None
        if view is None or not view.scrollable_content_region.height:
            return False  # not laid out yet: nothing of it is on screen
        if not view.line_count:
            return newest == 0 and self.query_one(LogsPane).scans > 0  # "no log lines match" is shown
        row = view.row_at(view.line_count - 1)
        bottom = round(view.scroll_offset.y) + view.scrollable_content_region.height - 1
        return row is not None and row.id == newest and bottom >= view.line_count - 1

    def poll(self):
        panes = self.query(LogsPane)
        if "first_page_ms" not in self.result and panes and panes.first().scans > 0:
            self.result["first_page_ms"] = (time.perf_counter() - self.first_frame) * 1000
        if self.step is None:
            if self.shown_newest(NEWEST):
                self.step = "painting"
                self.screen.refresh()  # a frame now, even on an otherwise idle screen
                self.call_after_refresh(self.painted)
        elif self.step.startswith("switch:") and self.shown_newest(self.expect) and self.pane.scans > self.scans:
            name = self.step.split(":", 1)[1]
            self.step = "painting"
            self.screen.refresh()
            self.call_after_refresh(self.switched, name)

    def painted(self):
        self.result["first_paint_ms"] = (time.perf_counter() - self.first_frame) * 1000
        self.result["rss_mb"] = rss_mb()
        self.pane = self.query_one(LogsPane)
        self.next_switch()

    def next_switch(self):
        if not SWITCHES:
            self.finish()
            return
        name, filters, expect = SWITCHES.pop(0)
        self.expect = expect
        self.scans = self.pane.scans
        self.step = "switch:" + name
        self.switch_started = time.perf_counter()
        self.pane.apply_filters(LogFilters(**filters))

    def switched(self, name):
        self.result[name + "_ms"] = (time.perf_counter() - self.switch_started) * 1000
        self.next_switch()

    def finish(self):
        self.result["peak_rss_mb"] = rss_mb()
        print(json.dumps(self.result), flush=True)
        os._exit(0)


Bench({project!r}, port=0, options=StudioOptions()).run(headless=True, size=(160, 48))
"""

FUNCTION = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def make_project(root: Path, lines: int) -> Path:
    (root / "cloud-functions").mkdir(parents=True)
    (root / "cloud-functions" / "hello.py").write_text(FUNCTION)
    # keep every generated row: retention would otherwise prune the big store on launch
    (root / "funcstudio.toml").write_text("[store]\nmax_invocations = 1000000\nmax_log_lines = 5000000\n")
    if lines:
        generate(db_path(root), lines)
    else:
        open_store(db_path(root)).close()
    return root


def newest_matching(root: Path, sql: str) -> int:
    conn = open_store(db_path(root))
    try:
        return conn.execute(sql).fetchone()[0] or 0
    finally:
        conn.close()


def run_child(project: Path, newest: int, switches: list) -> dict:
    code = CHILD.format(repo=str(REPO), project=str(project), newest=newest, switches=switches)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"benchmark child failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        empty = make_project(Path(tmp) / "empty", 0)
        big = make_project(Path(tmp) / "big", args.lines)
        print(f"generated {args.lines:,} lines in {time.perf_counter() - started:.1f} s")
        switches = [
            ("level_error", {"level": "ERROR"},
             newest_matching(big, "SELECT max(id) FROM logs WHERE level IN ('ERROR', 'CRITICAL')")),
            ("function", {"function_id": "api/fn7"},
             newest_matching(big, "SELECT max(id) FROM logs WHERE function_id = 'api/fn7'")),
            ("text_needle", {"text": "needle"},
             newest_matching(big, "SELECT max(rowid) FROM logs_fts WHERE logs_fts MATCH 'needle'")),
        ]
        newest = newest_matching(big, "SELECT max(id) FROM logs")
        run_child(empty, 0, [])  # warm-up: page cache, .pyc files
        on_empty, on_big = [], []
        for _ in range(args.runs):
            on_empty.append(run_child(empty, 0, []))
            on_big.append(run_child(big, newest, [list(s) for s in switches]))

    def med(samples: list[dict], key: str) -> float:
        return statistics.median(sample[key] for sample in samples)

    base_ms, base_rss = med(on_empty, "first_paint_ms"), med(on_empty, "rss_mb")
    big_ms, big_rss = med(on_big, "first_paint_ms"), med(on_big, "rss_mb")
    print(f"{'first paint after first frame, empty store (baseline)':<58} median {base_ms:7.1f} ms   "
          f"RSS {base_rss:6.1f} MB   ({args.runs} runs)")
    print(f"{f'first paint after first frame, {args.lines:,} lines':<58} median {big_ms:7.1f} ms   "
          f"RSS {big_rss:6.1f} MB   {big_ms / max(base_ms, 0.001):5.2f}x time, "
          f"+{big_rss - base_rss:.1f} MB")
    print(f"{'  of which: newest page read and in the view (empty store)':<58} median "
          f"{med(on_empty, 'first_page_ms'):7.1f} ms")
    print(f"{f'  of which: newest page read and in the view ({args.lines:,})':<58} median "
          f"{med(on_big, 'first_page_ms'):7.1f} ms   (the rest is the studio laying out its lazy panels)")
    for name, _filters, _expect in switches:
        print(f"{f'filter switch to {name} at {args.lines:,} lines':<58} median {med(on_big, name + '_ms'):7.1f} ms")
    print(f"{'RSS after the switches (scrollback of the text filter)':<58} median "
          f"{med(on_big, 'peak_rss_mb'):7.1f} MB")


if __name__ == "__main__":
    main()

"""Discovery benchmark: EdgeOne scan of a generated 10,000-file project, cold and cached.

Baseline, in the same run and on the same tree: `os.walk` (listing only), plus two floors:
`os.walk` + one `stat` per `.py` file (the least a cache check must do) and `os.walk` + reading
every `.py` file (the least any cold scan must do). "Cold" means funcstudio's own caches
are empty; the OS page cache is warm for every contender alike (each runs after a warm-up).

    .venv/bin/python benchmarks/discovery.py [--files 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.project import edgeone, files  # noqa: E402
from studio.project.edgeone import discover_edgeone  # noqa: E402
from studio.project.routing import RouteTable  # noqa: E402
from studio.project.settings import Settings  # noqa: E402

HANDLER_CLASS = '''"""Order lookups for the storefront."""
from http.server import BaseHTTPRequestHandler
import json

from api import util


class handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "n": util.shout("x")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(length)
        self.send_response(201)
        self.end_headers()
        self.wfile.write(data)
'''
EVENT_FN = '''import json


def handler(event, context):
    params = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"params": params, "query": query}),
    }
'''
WEB_FN = '''def handler(request):
    user_id = request.params.get("id")
    if not user_id:
        return {"statusCode": 400, "body": "missing id"}
    return {"statusCode": 200, "body": {"id": user_id, "name": "user-" + user_id}}
'''
FLASK = '''from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(ok=True)


@app.get("/items/<int:item_id>")
def item(item_id):
    return jsonify(id=item_id)
'''
FASTAPI = '''from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health():
    return {"ok": True}
'''
HELPER = '''"""Shared helpers (no route)."""
import hashlib
import re

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Paginator:
    def __init__(self, items, size=20):
        self.items = list(items)
        self.size = size

    def page(self, n):
        start = n * self.size
        return self.items[start : start + self.size]
'''


def generate(root: Path, n_files: int, seed: int = 1) -> dict[str, int]:
    """A realistic mix: ~55% helpers, ~25% entries of every kind, ~20% data files, with nested
    static and dynamic folders up to four levels deep."""
    rng = random.Random(seed)
    cf = root / "cloud-functions"
    counts = {"entries": 0, "helpers": 0, "data": 0}
    folders = [Path("")]
    written = 0
    while written < n_files:
        if rng.random() < 0.15 or len(folders) < 8:
            parent = rng.choice(folders)
            if len(parent.parts) < 4:
                name = rng.choice(["[id]", "[slug]", f"area{rng.randrange(400)}", f"v{rng.randrange(9)}"])
                folders.append(parent / name)
        folder = rng.choice(folders)
        roll = rng.random()
        if roll < 0.25:
            text, leaf = rng.choice([
                (HANDLER_CLASS, f"orders{rng.randrange(10**6)}.py"),
                (EVENT_FN, f"event{rng.randrange(10**6)}.py"),
                (WEB_FN, "[id].py"),
                (FLASK, "[[default]].py"),
                (FASTAPI, f"fast{rng.randrange(10**6)}.py"),
                (EVENT_FN, "index.py"),
            ])
            kind = "entries"
        elif roll < 0.80:
            text, leaf, kind = HELPER, f"helper_{rng.randrange(10**7)}.py", "helpers"
        else:
            text, leaf, kind = '{"items": [1, 2, 3]}\n', f"data{rng.randrange(10**7)}.json", "data"
        path = cf / folder / leaf
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        counts[kind] += 1
        written += 1
    return counts


def median_time(fn, runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="funcstudio-bench-discovery-"))
    try:
        counts = generate(tmp, args.files)
        settings = Settings()
        cf = tmp / "cloud-functions"

        def walk() -> None:
            for _dirpath, _dirnames, _filenames in os.walk(cf):
                pass

        def walk_and_stat() -> None:
            for dirpath, _dirnames, filenames in os.walk(cf):
                for name in filenames:
                    if name.endswith(".py"):
                        os.stat(os.path.join(dirpath, name))

        def walk_and_read() -> None:
            for dirpath, _dirnames, filenames in os.walk(cf):
                for name in filenames:
                    if name.endswith(".py"):
                        with open(os.path.join(dirpath, name), "rb") as fh:
                            fh.read()

        def cold_caches() -> None:
            files.clear_cache()
            edgeone.clear_cache()

        def scan() -> None:
            discover_edgeone(tmp, settings)

        # Warm-up: page cache for everyone, and a sanity check of what the scan found.
        walk()
        walk_and_read()
        cold_caches()
        result = discover_edgeone(tmp, settings)

        t_walk = median_time(walk, args.runs)
        t_stat = median_time(walk_and_stat, args.runs)
        t_read = median_time(walk_and_read, args.runs)
        t_cold = median_time(scan, args.runs, before=cold_caches)
        scan()  # fill the caches
        t_cached = median_time(scan, args.runs)

        print(f"project: {args.files} files ({counts['entries']} entries, {counts['helpers']} helpers, "
              f"{counts['data']} data) -> {len(result.functions)} functions, {len(result.routes)} routes, "
              f"{len(result.helpers)} helpers, {len(result.problems)} problems")
        print(f"median of {args.runs} runs, Python {sys.version.split()[0]}")
        print(f"  os.walk (baseline)            {t_walk * 1000:8.1f} ms")
        print(f"  os.walk + stat every .py      {t_stat * 1000:8.1f} ms   (the floor for a cache check)")
        print(f"  os.walk + read every .py      {t_read * 1000:8.1f} ms   (the floor for a cold scan)")
        print(f"  discover_edgeone, cold        {t_cold * 1000:8.1f} ms   {t_cold / t_walk:5.1f}x os.walk")
        print(f"  discover_edgeone, cached      {t_cached * 1000:8.1f} ms   {t_cached / t_walk:5.1f}x os.walk")
        print(f"  cached speed-up over cold     {t_cold / t_cached:8.1f}x")

        # Matching on the same project's route table, against a linear scan of the three rounds.
        table = RouteTable(result.routes)
        rng = random.Random(2)
        paths = [rng.choice(result.routes).path.replace(":", "v").replace("*", "") + rng.choice(["", "/x", "/x/y"])
                 for _ in range(2000)]
        compiled = [(r, re.compile(r.src)) for r in table.routes]

        def linear() -> None:
            for path in paths:
                p = path.rstrip("/") or "/"
                for number in (1, 3):
                    if any(rx.match(p) for r, rx in compiled if r.catch_all == (number == 3)):
                        break

        def fast() -> None:
            for path in paths:
                table.match("GET", path)

        t_linear = median_time(linear, args.runs)
        t_fast = median_time(fast, args.runs)
        print(f"RouteTable.match over {len(table)} routes, {len(paths)} requests:")
        print(f"  linear regex scan (baseline)  {t_linear / len(paths) * 1e6:8.1f} us/request")
        print(f"  RouteTable.match              {t_fast / len(paths) * 1e6:8.1f} us/request   "
              f"{t_linear / t_fast:5.1f}x faster")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

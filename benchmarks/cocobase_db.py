"""CocoBase `db.query` benchmark: a filtered, sorted page (with its total) on a 50,000-document collection.

funcstudio translates the filters to SQL over json_extract and fetches one page. The baseline, in
the same run on the same file, is what a naive emulator does: read the whole collection into
Python, json-decode every document, filter, sort and slice.

    .venv/bin/python benchmarks/cocobase_db.py [--docs 50000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.runtime.worker.cocobase_db import Database  # noqa: E402

CATEGORIES = ["books", "games", "kitchen", "garden", "music"]


def seed(db: Database, count: int) -> None:
    rng = random.Random(7)
    db.conn.execute("BEGIN")
    for i in range(count):
        db.create_document("products", {"sku": f"SKU-{i:06d}", "name": f"item {rng.random():.6f}",
                                        "category": rng.choice(CATEGORIES), "price": round(rng.uniform(1, 200), 2),
                                        "stock": rng.randint(0, 50)})
    db.conn.execute("COMMIT")


def funcstudio_query(db: Database) -> tuple[int, list[str]]:
    page = db.query("products", sort="price", order="desc", limit=10, offset=20,
                    price_lte="50", category_in="books,games", stock_gt="0")
    return page["total"], [d["sku"] for d in page["data"]]


def naive_query(db: Database) -> tuple[int, list[str]]:
    rows = db.conn.execute("SELECT id, data FROM documents WHERE collection = ? ORDER BY rowid", ("products",))
    docs = [json.loads(data) for _id, data in rows]
    hits = [(d["price"], i, d) for i, d in enumerate(docs)
            if d["price"] <= 50 and d["category"] in ("books", "games") and d["stock"] > 0]
    hits.sort(key=lambda hit: hit[:2], reverse=True)  # ties newest first, as ORDER BY price DESC, rowid DESC
    return len(hits), [d["sku"] for _p, _i, d in hits[20:30]]


def median_ms(fn, db: Database, runs: int) -> float:
    fn(db)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(db)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "cocobase.db"))
        t0 = time.perf_counter()
        seed(db, args.docs)
        print(f"seeded {args.docs} documents in {time.perf_counter() - t0:.1f} s")
        assert funcstudio_query(db) == naive_query(db), "the two queries disagree"
        ours = median_ms(funcstudio_query, db, args.runs)
        naive = median_ms(naive_query, db, args.runs)
        print(f"db.query (SQL, one page + total)      median {ours:8.2f} ms")
        print(f"baseline (load all, filter in Python) median {naive:8.2f} ms")
        print(f"ratio baseline / funcstudio: {naive / ours:.2f}x")
        db.close()


if __name__ == "__main__":
    main()

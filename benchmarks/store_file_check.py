"""What the writer's per-batch "is studio.db still my file?" check costs (store durability).

    python benchmarks/store_file_check.py [--rounds 7] [--number 2000]

  check       durability.change(path, owned, seen): one `stat` while the file's mtime and size are
              what they were when its SQLite magic was last read (the writer's case between its
              own commits)
  baseline    the same check reading the 16-byte magic every time (open + read + close)
Medians of `--rounds` runs of `--number` calls each; ratio = check / baseline (below 1: cheaper).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.store import durability  # noqa: E402
from studio.store.db import open_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".funcstudio" / "studio.db"
        conn = open_store(path)
        owned, seen = durability.Owned.of(path), {}
        assert durability.change(path, owned, seen) is None

        def per_call_us(fn) -> float:
            times = timeit.repeat(fn, number=args.number, repeat=args.rounds)
            return statistics.median(times) / args.number * 1e6

        check = per_call_us(lambda: durability.change(path, owned, seen))
        baseline = per_call_us(lambda: durability.change(path, owned))
        conn.close()
    print(f"check     {check:8.2f} us per batch")
    print(f"baseline  {baseline:8.2f} us per batch (magic read every time)")
    print(f"ratio     {check / baseline:8.3f}")


if __name__ == "__main__":
    main()

"""`funcstudio check` on a generated 130-function SCF repository shaped like Tencent's scf-demo-repo.

Each function folder has a `serverless.yml` (Python 3.6, Python 2.7, Node.js or PHP), an
`index.py`, and most carry a vendored SDK: 40 modules with `try/except ImportError` fallbacks,
`sys.version_info` branches and Python 2 names, plus examples nothing imports. The baseline, in
the same run and process tree, is `funcstudio routes` on the same tree (discovery alone: it reads
every config and entry but scans no imports). Both run as a user runs them: a fresh interpreter
per call, so nothing is cached between runs.

    .venv/bin/python benchmarks/check_scale.py [--functions 130] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RUNTIMES = ["Python3.6", "Python3.6", "Python2.7", "Nodejs12.16", "Php7"]
HANDLER = "import json\nimport sdk\n\n\ndef main_handler(event, context):\n    return sdk.call(event)\n"
SDK_INIT = "from sdk import client\n\n\ndef call(event):\n    return client.send(event)\n"
SDK_MODULE = '''import json
import sys
try:
    import http.client as httplib
    from urllib.parse import urlparse
except ImportError:
    import httplib
    from urlparse import urlparse
if sys.version_info[0] == 2:
    import ConfigParser as configparser
else:
    import configparser
import requests
from sdk import models_{next}


def send(event):
    return json.dumps(event)
''' + "\n".join(f"\n\ndef helper_{i}(value):\n    return value * {i}\n" for i in range(60))
EXAMPLE = "import matplotlib\nimport pygame\n"


def build(root: Path, functions: int) -> None:
    for n in range(functions):
        runtime = RUNTIMES[n % len(RUNTIMES)]
        folder = root / f"{runtime}-demo{n:03d}"
        folder.mkdir(parents=True)
        (folder / "serverless.yml").write_text(
            f"component: scf\nname: demo{n}\ninputs:\n  name: demo{n}\n  src: ./\n  handler: index.main_handler\n"
            f"  runtime: {runtime}\n  region: ap-guangzhou\n  events:\n    - apigw:\n        parameters:\n"
            f"          endpoints:\n            - path: /demo{n}\n              method: GET\n")
        (folder / ("index.py" if runtime.startswith("Python") else "index.js")).write_text(HANDLER)
        if n % 3 == 2:
            continue
        sdk = folder / "sdk"
        (sdk / "examples").mkdir(parents=True)
        (sdk / "__init__.py").write_text(SDK_INIT)
        (sdk / "client.py").write_text(SDK_MODULE.format(next=0))
        for m in range(40):
            (sdk / f"models_{m}.py").write_text(SDK_MODULE.format(next=(m + 1) % 40))
        (sdk / "examples" / "demo.py").write_text(EXAMPLE)


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system of the child) is what a loaded machine
    does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "studio", *args], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=130)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="check-scale-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "FUNCSTUDIO_CACHE_DIR": str(root / ".cache")}
    try:
        build(root, args.functions)
        files = sum(1 for _ in root.rglob("*.py"))
        timed(["routes", str(root)], env)  # warm the OS page cache for both alike
        cold = timed(["check", str(root)], env)  # the first check parses everything
        routes, check = [], []
        for _ in range(args.runs):
            routes.append(timed(["routes", str(root)], env))
            check.append(timed(["check", str(root)], env))
        print(f"{args.functions} functions, {files} .py files, {args.runs} runs each (fresh interpreter per run)")
        print(f"  check, first run (cold parse cache)  wall {cold[0]:.2f} s  cpu {cold[1]:.2f} s")
        for label, runs in (("routes (baseline: discovery only)", routes), ("check  (cached parse)", check)):
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            print(f"  {label:<36} median wall {wall:.2f} s  cpu {cpu:.2f} s")
        ratio = statistics.median(r[1] for r in check) / statistics.median(r[1] for r in routes)
        print(f"  check / routes (cpu): {ratio:.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

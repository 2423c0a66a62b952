"""Record the sample projects' tests/ the way a user would: invoke, then `funcstudio export --pytest`.

    python tests/testing/regenerate_sample_tests.py

Each sample is copied to a temporary folder (sample_projects/ itself is never served or recorded),
the requests below are sent with `funcstudio invoke` (which records them), and `funcstudio export
... --pytest` writes sample_projects/<name>/tests/test_recorded.py. tests/testing/test_sample_tests.py
runs those tests on fresh copies, so a change in a sample's answers shows up there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_projects"
AGENT = ["-H", "User-Agent: funcstudio-tests"]

REQUESTS: dict[str, list[list[str]]] = {
    "pages-showcase": [
        ["/api/users/42", *AGENT],
        ["/api/users/999", *AGENT],
        ["/api/users/list", *AGENT],
        ["/api/hello?name=Ada", *AGENT],
        ["/api/hello", "-d", '{"name": "Zed"}', "-H", "Content-Type: application/json", *AGENT],
        ["/api/shop/books/dune", *AGENT],
        ["/flask-api/items/1", *AGENT],
        ["/fastapi-api/items/7?q=x", *AGENT],
        ["/pot/hello/Ada", *AGENT],
    ],
    "scf-demo": [
        ["/hello?name=Ada", *AGENT],
        ["hello", "-d", '{"queryString": {"name": "Grace"}}'],
        ["echo", "-d", '{"ping": 1}'],
    ],
    "cocobase-demo": [
        ["/functions/hello/execute?name=Ada", *AGENT],
        ["/functions/status/execute", *AGENT],
    ],
}


def funcstudio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        for name, requests in REQUESTS.items():
            copy = Path(scratch) / name
            shutil.copytree(SAMPLES / name, copy, ignore=shutil.ignore_patterns(".funcstudio", "__pycache__",
                                                                                 "tests", ".pytest_cache"))
            ids = []
            for request in requests:
                result = funcstudio("invoke", str(copy), *request, "--json")
                record = json.loads(result.stdout)
                print(f"{name}: {' '.join(request)} -> {record['status']}")
                ids.append(record["request_id"][:8])
            target = SAMPLES / name / "tests" / "test_recorded.py"
            result = funcstudio("export", str(copy), *ids, "--pytest", "-o", str(target), "--force")
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            # The module names the temporary copy it was exported from; name the sample instead.
            text = target.read_text(encoding="utf-8").replace(str(copy), f"sample_projects/{name}")
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()

"""Helpers every test area shares (`from helpers import write_file`): build small projects in tmp_path,
copy a sample out of the repo, run the real `funcstudio` command. Area-specific helpers stay in their
area (tests/runtime/gw_helpers.py, tests/scf/scf_helpers.py, ...). tests/ is on sys.path because
tests/conftest.py lives there (pytest's default import mode)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "sample_projects"

# What a copied sample leaves behind: a studio database and byte code from earlier runs.
_NOT_COPIED = shutil.ignore_patterns(".funcstudio", "__pycache__")


def write_file(root: Path, rel: str, text: str | bytes = "", *, dedent: bool = False) -> Path:
    """Write `text` (bytes as they are) to root/rel, creating folders; the file's path."""
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8")
    return path


def write_files(root: Path, files: Mapping[str, str | bytes], *, dedent: bool = False) -> Path:
    """Write every {relative path: text} into root; root."""
    for rel, text in files.items():
        write_file(root, rel, text, dedent=dedent)
    return Path(root)


def copy_sample(name: str, parent: Path, *, samples: Path = SAMPLES_DIR) -> Path:
    """A fresh copy of sample_projects/<name> at parent/<name>, without leftovers from earlier runs.
    Serve, invoke, record or edit only such a copy: sample_projects/ itself stays as committed."""
    target = Path(parent) / name
    shutil.copytree(Path(samples) / name, target, ignore=_NOT_COPIED)
    return target


def run_funcstudio(
    *args: str,
    cwd: Path = REPO_ROOT,
    stdin: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m studio ARGS` in a fresh interpreter, as a user runs it; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
    )


def tree_state(root: Path) -> dict[str, int]:
    """{relative path: mtime_ns} of every file and folder below root (nothing when root is missing)."""
    state: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                state[os.path.relpath(path, root)] = os.lstat(path).st_mtime_ns
            except FileNotFoundError:  # removed while walking: it is simply not there
                continue
    return state


def tree_changes(before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """What differs between two tree_state() readings, one line a path: `added`, `changed`, `removed`.
    A folder is not listed as changed when a path below it is listed (its mtime moved because of it)."""
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    below = [*added, *removed, *changed]
    changed = [p for p in changed if not any(q.startswith(p + os.sep) for q in below)]
    return [f"added {p}" for p in added] + [f"removed {p}" for p in removed] + [f"changed {p}" for p in changed]


def plugin_args() -> list[str]:
    """For an inner pytest run: `-p studio.testing.plugin` unless the installed package already
    registers funcstudio's plugin (`pytest11`); loading it twice makes pytest refuse the second."""
    from importlib.metadata import entry_points

    installed = any(ep.value == "studio.testing.plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "studio.testing.plugin"]


@dataclass
class Served:
    """A running `funcstudio serve`: its process, port and the files its stdout and stderr go to."""

    proc: subprocess.Popen
    port: int
    out: Path
    err: Path


@contextlib.contextmanager
def serve_process(project: Path, scratch: Path, *extra: str, timeout: float = 60) -> Iterator[Served]:
    """`funcstudio serve PROJECT --port 0 EXTRA...` in its own process (output to files in `scratch`,
    so a chatty server never blocks on a full pipe); SIGTERM and a bounded wait at the end."""
    out, err = Path(scratch) / "serve.out", Path(scratch) / "serve.err"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    with open(out, "wb") as out_file, open(err, "wb") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(project), "--port", "0", *extra],
                                stdout=out_file, stderr=err_file, env=env, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + timeout
        found = None
        while found is None and proc.poll() is None and time.monotonic() < deadline:
            found = re.search(r"at http://127\.0\.0\.1:(\d+)", out.read_text())
            time.sleep(0.05)
        assert found is not None, f"serve did not start: {err.read_text()}"
        yield Served(proc, int(found.group(1)), out, err)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

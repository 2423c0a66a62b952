"""Fixtures every test area can use. Keep this file tiny: area-specific fixtures live in the area.

It also guards sample_projects/: a test serves, invokes, records or edits only a copy of a sample
(`sample_copy`), so a run that leaves anything new under sample_projects/ (a `.funcstudio/` database,
byte code) or changes a `.funcstudio/` database there fails, naming the paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import REPO_ROOT, SAMPLES_DIR, copy_sample, tree_changes, tree_state


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder (the one holding pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """`sample_projects/`: pages-showcase, scf-demo and cocobase-demo. Read-only: anything that
    serves, invokes, records or edits a sample takes a copy from `sample_copy`."""
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def sample_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`sample_copy("pages-showcase")`: a new copy of that sample in its own tmp folder, per call.
    Session-scoped so module-scoped fixtures can share one copy among tests that only read."""

    def copy(name: str) -> Path:
        return copy_sample(name, tmp_path_factory.mktemp(name))

    return copy


# -- the sample_projects/ guard: read the tree when the session starts, compare when it ends. Under
# pytest-xdist only the controller does it (it starts before and finishes after every worker).

_SAMPLES_AT_START = pytest.StashKey[dict]()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):
        session.config.stash[_SAMPLES_AT_START] = tree_state(SAMPLES_DIR)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    before = session.config.stash.get(_SAMPLES_AT_START, None)
    if before is None:
        return
    leaks = [
        line
        for line in tree_changes(before, tree_state(SAMPLES_DIR))
        if line.startswith("added ") or ".funcstudio" in Path(line.split(" ", 1)[1]).parts
    ]
    if not leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (
        "tests wrote into sample_projects/ (use the sample_copy fixture and serve/invoke/record the copy):\n  "
        + "\n  ".join(leaks)
    )
    if reporter is not None:
        reporter.write("\n")
        reporter.write_sep("=", "sample_projects/ changed", red=True)
        reporter.write_line(message)
    else:
        print(message)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""SVG snapshots of the key screens (pytest-textual-snapshot), from the same scenes as
screenshots/regenerate.py, with everything nondeterministic off. Update with --snapshot-update."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import copy_sample

from studio.tui.app import StudioApp, StudioOptions


def _regenerate(repo_root):
    spec = importlib.util.spec_from_file_location("regenerate", repo_root / "screenshots" / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scenes(repo_root):
    return _regenerate(repo_root).SCENES


def _sizes(repo_root):
    return _regenerate(repo_root).SIZES


@pytest.fixture
def fixed_path_showcase():
    """pages-showcase copied to a path as long on every run: the trace scene shows the response size,
    and the traceback in that body names the project path (tmp_path's length depends on the user,
    pytest's run number and the xdist worker)."""
    parent = Path(tempfile.mkdtemp(prefix="funcstudio-snap-", dir="/tmp"))
    try:
        yield copy_sample("pages-showcase", parent)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.parametrize("scene", ["overview", "invoke", "trace", "logs", "debug", "small", "wide", "jump"])
def test_key_screen(scene, snap_compare, fixed_path_showcase, repo_root):
    """The main screen at 120x40, 80x24 (stacked) and 160x48, jump mode, and the key tabs."""
    app = StudioApp(fixed_path_showcase, port=0, options=StudioOptions(fixed=True, quiet=True))
    sizes = _sizes(repo_root)
    assert snap_compare(app, terminal_size=sizes.get(scene, (120, 40)), run_before=_scenes(repo_root)[scene])


def test_help_screen(snap_compare, tmp_path, samples_dir):
    project = tmp_path / "pages-showcase"
    shutil.copytree(samples_dir / "pages-showcase", project, ignore=shutil.ignore_patterns(".funcstudio"))
    app = StudioApp(project, port=0, options=StudioOptions(fixed=True, quiet=True, start_runtime=False))

    async def open_help(pilot):
        for _ in range(600):  # discovery runs in a worker; bounded wait
            if app.project is not None:
                break
            await pilot.pause(0.05)
        await pilot.press("f1")

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_help)

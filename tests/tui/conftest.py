"""Fixtures for the studio's Pilot tests: a fresh copy of a sample project per test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def showcase(tmp_path: Path, samples_dir: Path) -> Path:
    target = tmp_path / "pages-showcase"
    shutil.copytree(samples_dir / "pages-showcase", target, ignore=shutil.ignore_patterns(".funcstudio"))
    return target


@pytest.fixture
def scf_demo(tmp_path: Path, samples_dir: Path) -> Path:
    target = tmp_path / "scf-demo"
    shutil.copytree(samples_dir / "scf-demo", target, ignore=shutil.ignore_patterns(".funcstudio"))
    return target


@pytest.fixture
def coco_demo(tmp_path: Path, samples_dir: Path) -> Path:
    """The CocoBase sample with its users and products seeded through `funcstudio db seed`."""
    target = tmp_path / "cocobase-demo"
    shutil.copytree(samples_dir / "cocobase-demo", target, ignore=shutil.ignore_patterns(".funcstudio"))
    subprocess.run([sys.executable, "-m", "studio", "db", str(target), "seed", str(target / "seed.json")],
                   check=True, capture_output=True, timeout=60, cwd=samples_dir.parent)
    return target

"""Fixtures every test area can use. Keep this file tiny: area-specific fixtures live in the area."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root folder (the one holding pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """`sample_projects/`: pages-showcase, scf-demo and cocobase-demo. Treat as read-only;
    copy a sample into tmp_path (shutil.copytree) before editing or serving it with a store."""
    return REPO_ROOT / "sample_projects"

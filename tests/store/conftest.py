"""Store fixtures: a project folder, its store path, and a Recorder factory that cleans up."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.project.settings import StoreSettings
from studio.store.db import db_path
from studio.store.writer import Recorder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    return folder


@pytest.fixture
def store_path(project: Path) -> Path:
    return db_path(project)


@pytest.fixture
def make_recorder(store_path: Path):
    """Recorder factory; every recorder made is closed at the end of the test."""
    made: list[Recorder] = []

    def make(settings: StoreSettings | None = None, path: Path | None = None, **kwargs) -> Recorder:
        recorder = Recorder(path or store_path, settings, **kwargs)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close()

"""The project-layer tests read settings from files they write, never from the caller's shell."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FUNCSTUDIO_CONFIG_FILE", "FUNCSTUDIO_PORT", "FUNCSTUDIO_HOST"):
        monkeypatch.delenv(name, raising=False)

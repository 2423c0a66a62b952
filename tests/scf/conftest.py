"""Fixtures of the SCF tests: a real SCF project served by the real runtime."""

from __future__ import annotations

import pytest
from scf_helpers import write_project


@pytest.fixture(scope="module")
def scf_runtime(tmp_path_factory):
    from studio.runtime.server import Runtime

    root = write_project(tmp_path_factory.mktemp("scfproj"))
    runtime = Runtime(root, host="127.0.0.1", port=0, reload=False)
    runtime.start()
    yield runtime
    runtime.stop()

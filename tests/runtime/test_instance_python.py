"""Workers run under the project's interpreter, not funcstudio's: nothing from `studio` is needed there."""

from __future__ import annotations

import json
import os
import sys

import pytest
from worker_helpers import http, invoke, spawn

from studio.runtime.instance import InstanceFactory
from studio.runtime.zygote import WorkerStartError

SOURCE = """
import sys
def handler(event):
    return {"body": {"prefix": sys.prefix, "studio": "studio" in sys.modules,
                     "worker_on_path": any(p.endswith("runtime/worker") for p in sys.path)}}
"""


def base_python() -> str:
    for name in ("python3", "python"):
        candidate = os.path.join(sys.base_prefix, "bin", name)
        if os.path.exists(candidate):
            return candidate
    raise AssertionError(f"no interpreter under {sys.base_prefix}")


def test_instances_run_under_another_interpreter(tmp_path):
    factory = InstanceFactory()
    try:
        python = base_python()
        instance = spawn(factory, tmp_path, {"cloud-functions/p.py": SOURCE}, "p.py", python=python)
        assert instance.load_error is None
        result, _ = invoke(instance, http("/p"))
        data = json.loads(result.body)
        assert os.path.realpath(data["prefix"]) == os.path.realpath(sys.base_prefix) != os.path.realpath(sys.prefix)
        assert data == {**data, "studio": False, "worker_on_path": False}
        same = spawn(factory, tmp_path, {}, "p.py")  # a second interpreter gets its own zygote
        assert json.loads(invoke(same, http("/p"))[0].body)["prefix"] == sys.prefix
        assert len(factory._zygotes) == 2
        instance.kill("shutdown")
        same.kill("shutdown")
    finally:
        factory.close()


def test_an_interpreter_that_cannot_start_is_a_clear_error(tmp_path):
    factory = InstanceFactory()
    try:
        missing = str(tmp_path / "no-such-python")
        with pytest.raises(WorkerStartError, match="no-such-python"):
            spawn(factory, tmp_path, {"cloud-functions/p.py": SOURCE}, "p.py", python=missing)
        healthy = spawn(factory, tmp_path, {}, "p.py")
        assert invoke(healthy, http("/p"))[0].status == 200
        healthy.kill("shutdown")
    finally:
        factory.close()


def test_an_interpreter_that_dies_at_start_reports_its_output(tmp_path):
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'this python is broken' >&2\nexit 3\n")
    fake.chmod(0o755)
    factory = InstanceFactory()
    try:
        instance = spawn(factory, tmp_path, {"cloud-functions/p.py": SOURCE}, "p.py", python=str(fake))
        assert not instance.alive and instance.load_error is not None
        assert "exited with code 3" in instance.load_error.message
        assert ("stderr", "this python is broken") in [(s, t) for s, _l, _w, t in instance.load_logs]
    finally:
        factory.close()

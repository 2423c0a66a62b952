"""Workers run under the project's interpreter, not funcstudio's: nothing from `studio` is needed there."""

from __future__ import annotations

import json
import os
import sys

from worker_helpers import http, invoke, spawn

from studio.runtime.instance import InstanceFactory

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

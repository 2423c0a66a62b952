"""The zygote preloads cocopot for a project that uses it; only the functions that use it get CP-SHIM."""

from __future__ import annotations

import json

import pytest
from gw_helpers import write_files

from studio.runtime.server import Runtime

FILES = {
    "cloud-functions/pot/index.py": """
        from cocopot import Cocopot

        app = Cocopot()

        @app.route("/health")
        def health():
            return "ok"
    """,
    "cloud-functions/plain.py": """
        import os, sys

        def handler(event, context):
            return {"statusCode": 200, "body": json.dumps({"cocopot_loaded": "cocopot" in sys.modules,
                                                           "pid": os.getpid()})}

        import json
    """,
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("cocopreload"), FILES)
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as rt:
        yield rt


def test_non_cocopot_function_forked_from_a_cocopot_zygote_has_no_shim_warning(runtime):
    assert "cocopot" in runtime.supervisor.preload
    for _ in range(2):  # a fresh instance, then the warm one
        record, _logs = runtime.invoke_function("cloud-functions/plain", {"path": "/plain"})
        assert record.status == 200, record.response_body
        body = json.loads(record.response_body)
        assert body["cocopot_loaded"] is True  # inherited from the zygote, which imported it
        assert [w.id for w in record.warnings] == []
    zygotes = list(runtime.supervisor.factory._zygotes.values())
    assert zygotes and all("cocopot" in z.preloaded for z in zygotes)


def test_the_cocopot_app_still_carries_its_shim_warning(runtime):
    record, _logs = runtime.invoke_function("cloud-functions/pot/index", {"path": "/pot/health"})
    assert record.status == 200 and record.response_body == b"ok"
    assert "CP-SHIM" in [w.id for w in record.warnings]

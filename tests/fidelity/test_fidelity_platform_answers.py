"""Platform-true answers (issue: fidelity item 5, finding 6): an unrouted request is answered by
what stands in front of the functions on that platform, and no internal name reaches the user."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from helpers import run_funcstudio, write_file

SCF = "def main_handler(event, context):\n    return {'ok': True}\n"
COCO = "def main():\n    return {'ok': request.get('x')}\n"
EDGE = "def handler(event, context):\n    return 'edge'\n"


def serve(root: Path):
    from studio.runtime.server import Runtime

    runtime = Runtime(root, host="127.0.0.1", port=0, reload=False, preload=[])
    runtime.start()
    return runtime


def request(runtime, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=30)
    try:
        conn.request(method, path, body=b"" if method in ("POST", "PUT") else None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def scf_only(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("scf-only")
    write_file(root, "hello/index.py", SCF)
    runtime = serve(root)
    yield runtime
    runtime.stop()


def test_scf_only_project_answers_unmatched_paths_like_api_gateway(scf_only) -> None:
    status, headers, body = request(scf_only, "GET", "/nowhere/else")
    assert status == 404
    assert not any(name.startswith("eo-pages-inner") for name in headers)
    assert json.loads(body)["message"].startswith("There is no api match uri[\\/nowhere\\/else]")


def test_cocobase_only_405_has_allow_and_no_edgeone_headers(tmp_path: Path) -> None:
    write_file(tmp_path, "cocobase/hello.py", COCO)
    runtime = serve(tmp_path)
    try:
        status, headers, _body = request(runtime, "PUT", "/functions/hello/execute")
        assert status == 405 and headers["allow"] == "GET, POST"
        assert not any(name.startswith("eo-pages-inner") for name in headers)
    finally:
        runtime.stop()


def test_edgeone_dispatcher_404_carries_the_functions_request_id(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/api/hello.py", EDGE)
    runtime = serve(tmp_path)
    try:
        status, headers, body = request(runtime, "GET", "/not/here")
        assert (status, body) == (404, b"Not Found")
        assert headers["eo-pages-inner-scf-status"] == "404" and headers["functions-request-id"]
    finally:
        runtime.stop()


def test_handler_not_found_names_no_internal_module_and_report_has_no_billed_duration(tmp_path: Path) -> None:
    write_file(tmp_path, "fn/index.py", "def other(event, context):\n    return 1\n")
    write_file(tmp_path, "fn/serverless.yml", "component: scf\ninputs:\n  name: fn\n  src: ./\n"
                                              "  handler: index.main_handler\n  runtime: Python3.10\n")
    out = run_funcstudio("invoke", str(tmp_path), "fn", "-d", "{}")
    assert out.returncode == 1
    assert "HandlerNotFound" in out.stdout and "_funcstudio_worker" not in out.stdout + out.stderr
    report = next(line for line in out.stdout.splitlines() if "Report RequestId:" in line)
    assert "Billed Duration" not in report and "MaxMemoryUsed:" in report

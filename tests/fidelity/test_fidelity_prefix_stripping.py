"""Prefix stripping made visible (issue: fidelity item 3): a FastAPI app under api/[[default]].py
that declares `/api/...` routes 404s as in production, and says why; every framework invocation
records the path the app received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_file

REPO = Path(__file__).resolve().parents[2]

FASTAPI_APP = '''\
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/health")
def health():
    return {"status": "ok"}


@app.get("/")
def root():
    return {"root": True}
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNCSTUDIO_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "studio", *args], env=env, capture_output=True, text=True,
                          timeout=90)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefix")
    write_file(root, "cloud-functions/api/[[default]].py", FASTAPI_APP)
    write_file(root, "cloud-functions/requirements.txt", "fastapi\n")
    return root


def test_app_declaring_the_full_path_404s_with_a_warning_naming_both_paths(project: Path) -> None:
    result = run("invoke", str(project), "/api/health", "--json")
    record = json.loads(result.stdout)
    assert record["status"] == 404 and result.returncode == 1
    assert record["app_path"] == "/health"
    [warning] = [w for w in record["warnings"] if w["id"] == "EO-PREFIX-STRIPPED"]
    assert "/api/health" in warning["message"] and "/health" in warning["message"]
    assert "(/health)" in warning["fix"]  # the route to declare instead

    text = run("show", str(project), record["request_id"])
    assert text.returncode == 0, text.stderr
    assert "app received  /health" in text.stdout or "app received /health" in " ".join(text.stdout.split())


def test_root_endpoint_of_the_catch_all_gets_no_catchall_warning(project: Path) -> None:
    result = run("invoke", str(project), "/api/", "--json")
    record = json.loads(result.stdout)
    assert record["status"] == 200 and record["app_path"] == "/"
    assert {w["id"] for w in record["warnings"]} == set()
    text = run("invoke", str(project), "/api/")
    assert "app received /" in text.stdout


def test_studio_response_data_carries_the_app_path() -> None:
    from studio.runtime.invocation import InvocationRecord
    from studio.tui.app import response_from_record

    record = InvocationRecord(request_id="r", function_id="cloud-functions/api/[[default]]", platform="edgeone",
                              kind="asgi", trigger="http", method="GET", path="/api/health", status=404,
                              response_body=b"Not Found", app_path="/health")
    assert response_from_record(record).app_path == "/health"

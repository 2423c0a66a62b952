"""Workers get the project's variables, the platform's and a process's essentials, never the
developer's shell (issue: fidelity item 9); the SCF region comes from the declaration (item 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_file

from studio.runtime.worker_env import base_environment, shell_only, worker_extra

REPO = Path(__file__).resolve().parents[2]

SCF = '''\
import os


def main_handler(event, context):
    return {"region": context["tencentcloud_region"], "env_region": os.environ["TENCENTCLOUD_REGION"],
            "declared": os.environ.get("DECLARED"), "dotenv": os.environ.get("FROM_DOTENV"),
            "shell": os.environ.get("FIDELITY_SHELL_SECRET"), "home": os.environ.get("HOME"),
            "path_set": bool(os.environ.get("PATH"))}
'''

EDGE = '''\
import os


def handler(event, context):
    return {"statusCode": 200, "body": {"shell": "FIDELITY_SHELL_SECRET" in os.environ,
                                        "project": os.environ.get("FROM_TOML"), "port": os.environ.get("PORT")}}
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNCSTUDIO_")}
    env.update(PYTHONPATH=str(REPO), FIDELITY_SHELL_SECRET="sk-from-my-shell", HOME="/root-of-the-developer")
    return subprocess.run([sys.executable, "-m", "studio", *args], env=env, capture_output=True, text=True,
                          timeout=90)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("envproj")
    write_file(root, "orders/index.py", SCF)
    write_file(root, "orders/serverless.yml", (
        "component: scf\ninputs:\n  name: orders\n  src: ./\n  handler: index.main_handler\n  runtime: Python3.10\n"
        "  region: ap-chengdu\n  environment:\n    variables:\n      DECLARED: yes-declared\n"))
    write_file(root, "cloud-functions/env.py", EDGE)
    write_file(root, "funcstudio.toml", '[env]\nFROM_TOML = "toml"\n')
    write_file(root, ".env", "FROM_DOTENV=dotenv\n")
    return root


def test_scf_worker_sees_the_declaration_not_the_shell(project: Path) -> None:
    result = run("invoke", str(project), "orders", "-d", "{}", "--json")
    record = json.loads(result.stdout)
    value = json.loads(record["return_value"])
    assert value == {"region": "ap-chengdu", "env_region": "ap-chengdu", "declared": "yes-declared",
                     "dotenv": "dotenv", "shell": None, "home": "/home/qcloud", "path_set": True}
    [warning] = [w for w in record["warnings"] if w["id"] == "ENV-SHELL-ONLY"]
    assert "FIDELITY_SHELL_SECRET" in warning["message"] and "sk-from-my-shell" not in json.dumps(record)
    assert "serverless.yml" in warning["fix"] and "[env]" in warning["fix"]


def test_edgeone_worker_sees_project_variables_and_port_only(project: Path) -> None:
    result = run("invoke", str(project), "/env", "--json")
    record = json.loads(result.stdout)
    assert json.loads(record["body"]) == {"shell": False, "project": "toml", "port": "9000"}
    assert [w["id"] for w in record["warnings"]] == ["ENV-SHELL-ONLY"]


def test_base_environment_keeps_only_what_a_process_needs() -> None:
    host = {"PATH": "/bin", "LANG": "C.UTF-8", "HOME": "/root", "DATABASE_URL": "postgres://x",
            "FUNCSTUDIO_PORT": "1", "OPENAI_API_KEY": "sk"}
    assert base_environment(host) == {"PATH": "/bin", "LANG": "C.UTF-8"}
    assert shell_only(host, {"OPENAI_API_KEY": "declared"}) == ["DATABASE_URL", "HOME"]
    extra = worker_extra({"A": "1"}, host)
    assert extra["process.base_env"] == {"PATH": "/bin", "LANG": "C.UTF-8"}
    assert "sk" not in json.dumps(extra["process.shell_only"])

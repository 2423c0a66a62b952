"""Shared by the worker/instance tests: write a small project, start a real instance, send requests."""

from __future__ import annotations

import uuid
from pathlib import Path

from helpers import write_files

from studio.runtime.instance import InstanceConfig, InstanceFactory


def write_project(root: Path, files: dict[str, str | bytes]) -> Path:
    return write_files(root, files, dedent=True)


def edgeone_config(root: Path, entry: str, **overrides) -> InstanceConfig:
    code_root = root / "cloud-functions"
    values = dict(
        function_id=f"cloud-functions/{entry[:-3]}", platform="edgeone", kind="http-function",
        entry_path=str(code_root / entry), code_root=str(code_root), project_root=str(root),
    )
    values.update(overrides)
    return InstanceConfig(**values)


def spawn(factory: InstanceFactory, root: Path, files: dict[str, str], entry: str, **overrides):
    write_project(root, files)
    return factory.spawn(edgeone_config(root, entry, **overrides))


def http(path: str = "/", method: str = "GET", query: str = "", headers=None, *, route_path: str | None = None,
         params: dict | None = None, strip_prefix: str | None = None, catch_all: bool = False,
         is_framework: bool = False, dispatcher: str = "flask", **extra) -> dict:
    request = {
        "method": method, "path": path, "query_string": query,
        "headers": [list(h) for h in (headers or [("Host", "localhost:8088"), ("User-Agent", "pytest")])],
        "remote_addr": "127.0.0.1", "scheme": "http", "host": "localhost:8088", "server_port": 8088,
        "dispatcher": dispatcher, "request_id": uuid.uuid4().hex,
        "route": {"path": route_path or path, "params": params or {}, "strip_prefix": strip_prefix,
                  "catch_all": catch_all, "is_framework": is_framework},
    }
    request.update(extra)
    return request


class Logs(list):
    """on_log collector: (stream, level, time, text) tuples."""

    def __call__(self, stream, level, when, text) -> None:
        self.append((stream, level, when, text))

    def texts(self, stream: str | None = None) -> list[str]:
        return [t for s, _l, _w, t in self if stream is None or s == stream]


def invoke(instance, request: dict, body: bytes = b"", deadline_s: float = 10.0):
    logs = Logs()
    result = instance.invoke(request, body, deadline_s, logs)
    return result, logs


def header(result, name: str) -> str | None:
    for key, value in result.headers:
        if key.lower() == name.lower():
            return value
    return None


def warning_ids(result) -> set[str]:
    return {w.id for w in result.warnings}

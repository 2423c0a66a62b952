"""What a worker's environment holds: the project's variables, what the platform sets, and what a
process needs to run here; never the rest of the developer's shell.

In production a function sees only the variables the project declares (`[env]`, `.env`, the
function's declared environment) plus the platform's own. A worker that inherited the shell that
started funcstudio would find API keys, `DATABASE_URL` or `HOME=/root` there and work locally while
the deploy raises KeyError. The adapters add the platform's variables (SCF's built-ins, EdgeOne's
PORT) on top of what this module hands them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

PROCESS_ESSENTIALS: tuple[str, ...] = (
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR", "TEMP", "TMP",
    "SYSTEMROOT", "COMSPEC", "PATHEXT", "WINDIR", "VIRTUAL_ENV",
)
"""Kept from the host: a process cannot find programs, decode text or make temporary files without
them, and they are not application settings."""

HOST_ONLY_PREFIXES: tuple[str, ...] = ("FUNCSTUDIO_", "PYTEST_", "COV_CORE_")
"""funcstudio's and the test runner's own switches: neither kept nor reported as shell-only."""


def base_environment(host: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host variables every worker starts from (the process essentials that are set)."""
    host = os.environ if host is None else host
    return {name: host[name] for name in PROCESS_ESSENTIALS if name in host}


def shell_only(host: Mapping[str, str] | None, worker_env: Mapping[str, str]) -> list[str]:
    """Names set in the developer's shell that the worker does not get (values never leave here):
    a function reading one gets a parity warning saying where to declare it."""
    host = os.environ if host is None else host
    return sorted(name for name in host
                  if name not in worker_env and name not in PROCESS_ESSENTIALS
                  and not name.startswith(HOST_ONLY_PREFIXES))


def worker_extra(project_env: Mapping[str, str], host: Mapping[str, str] | None = None) -> dict:
    """The `extra` entries a worker reads to build its environment (see worker/serve.py)."""
    base = base_environment(host)
    return {"process.base_env": base, "process.shell_only": shell_only(host, {**base, **project_env})}

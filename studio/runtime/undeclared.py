"""EO-UNDECLARED-DEP at invoke time: a ModuleNotFoundError for a package the EdgeOne build would not install.

The build installs only what `studio.project.deps.compute_requirements` computes (the packages it
always adds, the imports in its table, the user's requirements file). When an EdgeOne function
fails to import a third-party module outside that set, the invocation says so and how to fix it.
The set is computed once per loaded project (the reloader hands the supervisor a new `Project`
on every change), and only when such an error first happens.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

from studio.project.deps import Requirements, compute_requirements, distribution_for, package_name
from studio.project.model import Function, Project
from studio.runtime.events import ErrorInfo, ParityWarning

_MISSING = re.compile(r"No module named '([^']+)'")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


class UndeclaredDeps:
    """Turns an EdgeOne function's ModuleNotFoundError into the EO-UNDECLARED-DEP warning."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._project: Project | None = None
        self._reqs: Requirements | None = None

    def requirements(self, project: Project) -> Requirements:
        with self._lock:
            if self._project is not project or self._reqs is None:
                self._reqs = compute_requirements(project)
                self._project = project
            return self._reqs

    def warning(self, project: Project, function: Function, error: ErrorInfo | None) -> ParityWarning | None:
        if function.platform != "edgeone" or error is None or not error.type.endswith("ModuleNotFoundError"):
            return None
        found = _MISSING.search(error.message)
        if found is None:
            return None
        head = found.group(1).split(".")[0]
        if not head or head in _STDLIB or head == "__main__" or _is_project_module(project, function, head):
            return None  # a project file (EO-SIBLING-IMPORT's business) or the standard library
        reqs = self.requirements(project)
        dist = distribution_for(head)
        installed = {r.package for r in reqs.requirements}
        if package_name(dist) in installed or package_name(head) in installed:
            return None  # production installs it: only this machine lacks it
        target = reqs.target
        return ParityWarning(
            id="EO-UNDECLARED-DEP",
            message=(f"`import {head}` failed with ModuleNotFoundError. Production fails the same way: the EdgeOne "
                     f"build installs only its always-added packages, the imports in its table and the lines of "
                     f"{target}, and `{dist}` is none of them."),
            fix=f"Add `{dist}` to {target} (`funcstudio deps --write` does it) and install it locally.",
        )


def _is_project_module(project: Project, function: Function, head: str) -> bool:
    root = Path(project.root)
    folders = {root / "cloud-functions", root / function.code_root, (root / function.entry).parent}
    return any((folder / f"{head}.py").exists() or (folder / head).is_dir() for folder in folders)

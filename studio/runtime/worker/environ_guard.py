"""A warning when a function reads a variable that only the developer's shell had.

The worker's `os.environ` holds the project's variables and the platform's (serve.py clears the
rest). A lookup that misses a name the shell that started funcstudio does set is the classic
"works on my machine": the function gets a parity warning naming the variable and where to
declare it, and the lookup still fails, as it will in production.
"""

from __future__ import annotations

import os
import sys

_WHERE = {
    "edgeone": "the project's environment variables in the EdgeOne Pages console",
    "scf": "`inputs.environment.variables` in serverless.yml (or Environment.Variables in template.yaml)",
    "cocobase": "nowhere: CocoBase functions get no environment variables (use `env.project_id` or the db)",
}


def install(shell_only, platform: str, project_root: str, current) -> None:
    """Watch `os.environ` lookups of the names in `shell_only` made by the project's own code;
    `current()` is the invocation (or the load) to warn on."""
    names = frozenset(shell_only)
    if not names:
        return
    base = type(os.environ)
    root = os.path.realpath(project_root).rstrip("/") + "/"
    where = _WHERE.get(platform, "the platform's environment settings")

    class WatchedEnviron(base):  # type: ignore[misc, valid-type]
        def __getitem__(self, key):
            try:
                return base.__getitem__(self, key)
            except KeyError:
                if key in names:
                    _missed(key)
                raise

        def __contains__(self, key):
            found = base.__contains__(self, key)
            if not found and key in names:
                _missed(key)
            return found

    def _by_project_code() -> bool:
        """The lookup comes from a project file (not a library probing HOME or a config variable)."""
        frame = sys._getframe(3)
        while frame is not None and (frame.f_code.co_filename in _PLUMBING
                                     or frame.f_code.co_filename.startswith("<")):  # <frozen posixpath>
            frame = frame.f_back
        if frame is None or not os.path.isabs(frame.f_code.co_filename):
            return False
        return os.path.realpath(frame.f_code.co_filename).startswith(root)

    def _missed(key) -> None:
        invocation = current()
        if invocation is None or not _by_project_code():
            return
        seen = getattr(invocation, "shell_only_read", None)
        if seen is None:
            seen = invocation.shell_only_read = []
        if key in seen:
            return
        seen.append(key)
        listed = ", ".join(f"${name}" for name in seen)
        message = (f"The function read {listed}, set in the shell that started funcstudio but not declared for "
                   "this project: production does not have it (and neither does the worker).")
        fix = (f"Declare {', '.join(seen)} in funcstudio.toml [env] or the project's .env for local runs, "
               f"and in {where}.")
        for warning in invocation.warnings:
            if warning["id"] == "ENV-SHELL-ONLY":
                warning.update(message=message, fix=fix)
                return
        invocation.warn("ENV-SHELL-ONLY", message, fix)

    os.environ.__class__ = WatchedEnviron


_PLUMBING = frozenset({os.__file__, __file__, getattr(sys.modules.get("_collections_abc"), "__file__", "")})
"""Files between the caller and the lookup (`os.getenv`, `Mapping.get`, this module)."""

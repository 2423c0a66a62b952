"""One invocation under cProfile: the top functions by cumulative time, for the result frame.

Only the thread that runs the adapter is profiled (cProfile is per thread); the worker's own
frames are left out of the table, so it starts at the user's entry point.
"""

from __future__ import annotations

import cProfile
import functools
import os
import pstats

from . import capture

TOP = 40


class Profiler:
    def __init__(self) -> None:
        self._profile = cProfile.Profile()
        self._profile.enable()

    def stop(self, project_root: str) -> list[dict]:
        self._profile.disable()
        try:
            stats = pstats.Stats(self._profile).stats
        except TypeError:  # nothing was recorded
            return []
        kept = _under_user_code(stats, project_root)
        rows = []
        for key, (primitive, calls, own, cumulative, _callers) in stats.items():
            filename, line, function = key
            if kept is not None and key not in kept:
                continue
            if capture._is_runtime(filename) or function == "<method 'disable' of '_lsprof.Profiler' objects>":
                continue
            path = filename if filename.startswith("<") or filename == "~" else _real(filename)
            rows.append({
                "file": "" if path == "~" else path, "line": int(line), "function": function,
                "calls": int(calls), "primitive_calls": int(primitive),
                "tottime_ms": round(own * 1000.0, 3), "cumtime_ms": round(cumulative * 1000.0, 3),
                "is_user": path != "~" and capture.is_user_file(path, project_root),
            })
        rows.sort(key=lambda row: (-row["cumtime_ms"], -row["tottime_ms"]))
        return rows[:TOP]


def _under_user_code(stats: dict, project_root: str) -> set | None:
    """The user's functions and everything they called (the platform's own request handling around
    them is noise); None when no user function ran (then the table shows everything)."""
    callees: dict = {}
    roots = []
    for key, (_p, _c, _t, _ct, callers) in stats.items():
        filename = key[0]
        if filename not in ("~",) and not filename.startswith("<") and \
                capture.is_user_file(_real(filename), project_root):
            roots.append(key)
        for caller in callers:
            callees.setdefault(caller, []).append(key)
    if not roots:
        return None
    seen = set(roots)
    pending = list(roots)
    while pending:
        for callee in callees.get(pending.pop(), ()):
            if callee not in seen:
                seen.add(callee)
                pending.append(callee)
    return seen


@functools.lru_cache(maxsize=4096)
def _real(filename: str) -> str:
    return os.path.realpath(filename)


def start(wanted) -> Profiler | None:
    return Profiler() if wanted else None

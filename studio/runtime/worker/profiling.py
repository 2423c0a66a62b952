"""One invocation under cProfile: the top functions by cumulative time, for the result frame.

Only the thread that runs the adapter is profiled (cProfile is per thread); the worker's own
frames are left out of the table, so it starts at the user's entry point.
"""

from __future__ import annotations

import cProfile
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
        rows = []
        for (filename, line, function), (primitive, calls, own, cumulative, _callers) in stats.items():
            if capture._is_runtime(filename) or function == "<method 'disable' of '_lsprof.Profiler' objects>":
                continue
            path = filename if filename.startswith("<") or filename == "~" else os.path.realpath(filename)
            rows.append({
                "file": "" if path == "~" else path, "line": int(line), "function": function,
                "calls": int(calls), "primitive_calls": int(primitive),
                "tottime_ms": round(own * 1000.0, 3), "cumtime_ms": round(cumulative * 1000.0, 3),
                "is_user": path != "~" and capture.is_user_file(path, project_root),
            })
        rows.sort(key=lambda row: (-row["cumtime_ms"], -row["tottime_ms"]))
        return rows[:TOP]


def start(wanted) -> Profiler | None:
    return Profiler() if wanted else None

"""An invocation's time split into phases, and a bar of them in a fixed number of cells.

The phases (in the order they happen): waiting for an instance (`wait_ms`), the cold start
(`init_ms`), the handler (`handler_ms`), and the response: the rest of `duration_ms`, which is the
gateway's wall time (sending the request to the worker and its answer back, building the record).
The studio and `funcstudio show` draw the same cells, so both show the same proportions.
"""

from __future__ import annotations

from studio.runtime.invocation import InvocationRecord

PHASES = ("wait", "cold start", "handler", "response")


def phases(record: InvocationRecord) -> list[tuple[str, float]]:
    """(name, ms) for each phase of `record`, zero when it did not happen; empty when the record
    carries no handler time (a fault no instance answered, a row stored before the phases were)."""
    if record.handler_ms is None:
        return []
    wait = max(0.0, record.wait_ms or 0.0)
    init = max(0.0, record.init_ms or 0.0)
    handler = max(0.0, record.handler_ms)
    response = max(0.0, (record.duration_ms or 0.0) - wait - init - handler)
    return list(zip(PHASES, (wait, init, handler, response), strict=True))


def bar_cells(parts: list[tuple[str, float]], width: int) -> list[int]:
    """How many of `width` cells each phase gets: proportional to its time (largest remainder), at
    least one for any phase that took time, so a 0.3 ms response next to a 900 ms cold start stays
    visible. The counts sum to `width` (or to 0 when nothing took time)."""
    total = sum(ms for _, ms in parts)
    if total <= 0 or width <= 0:
        return [0] * len(parts)
    present = [i for i, (_, ms) in enumerate(parts) if ms > 0]
    width = max(width, len(present))
    shares = [ms / total * width for _, ms in parts]
    cells = [int(share) for share in shares]
    by_remainder = sorted(present, key=lambda i: shares[i] - cells[i], reverse=True)
    for i in by_remainder[:width - sum(cells)]:
        cells[i] += 1
    for i in present:
        if cells[i] == 0:  # too short for a cell of its own: borrow one from the widest phase
            widest = max(range(len(cells)), key=lambda j: cells[j])
            cells[widest] -= 1
            cells[i] = 1
    return cells


def phase_label(name: str, ms: float) -> str:
    return f"{name} {ms:.1f} ms"


GLYPHS = {"wait": "░", "cold start": "▒", "handler": "█", "response": "▓"}
"""One glyph per phase, so the plain-text bar (`funcstudio show`, no colour) still tells them apart."""


def text_bar(record: InvocationRecord, width: int = 40) -> str | None:
    """`░░▒▒▒▒████▓  wait 1.0 ms · cold start 4.0 ms · ...` for a terminal, or None without phases."""
    parts = phases(record)
    if not parts:
        return None
    cells = bar_cells(parts, width)
    bar = "".join(GLYPHS[name] * count for (name, _), count in zip(parts, cells, strict=True))
    labels = " · ".join(phase_label(name, ms) for name, ms in parts if ms > 0 or name == "handler")
    return f"{bar}  {labels}"

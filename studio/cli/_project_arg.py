"""The PROJECT argument shared by the headless commands, and plain-text helpers (no rich, no textual)."""

from __future__ import annotations

from pathlib import Path

import click

from studio.project.display import escaped

project_argument = click.argument(
    "project", required=False, default=".", type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
)
"""PROJECT: the project folder; defaults to the current directory."""


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Rows aligned in columns under a header line, as plain text lines."""
    rows = [[escaped(cell) for cell in row] for row in rows]  # a newline in a file name stays on its line
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows)
    return out


def location(file: str | None, line: int | None) -> str:
    if not file:
        return "(project)"
    return f"{escaped(file)}:{line}" if line else escaped(file)


def unrouted_label(status: int | None) -> str:
    """What to show instead of a function id when the gateway answered by itself."""
    if status == 405:
        return "(no route for this method)"
    if status == 404 or status is None:
        return "(no route)"
    return "(gateway)"


def clip(text: str, limit: int = 200) -> str:
    """One-line output stays readable when a client sends a huge method or path."""
    text = escaped(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"

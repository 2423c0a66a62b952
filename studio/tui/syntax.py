"""Which TextArea languages really work here, checked once (STYLE.md 3.1).

A missing grammar raises `LanguageDoesNotExist` during compose and kills the app, and a missing
`tree-sitter` silently gives plain text, so every editor asks here first.
"""

from __future__ import annotations

from functools import cache

LARGE_FILE_LINES = 2000
"""Above this many lines the editor drops highlighting: the full re-query per edit gets slow."""


@cache
def language_available(name: str) -> bool:
    try:
        from textual._tree_sitter import TREE_SITTER, get_language
    except ImportError:
        return False
    return bool(TREE_SITTER) and get_language(name) is not None


def pick_language(name: str | None, line_count: int) -> tuple[str | None, str | None]:
    """(language to use, notice for the user or None)."""
    if name is None:
        return None, None
    if not language_available(name):
        return None, f"{name} highlighting unavailable (tree-sitter or its grammar is missing): plain text"
    if line_count > LARGE_FILE_LINES:
        return None, f"{line_count} lines: highlighting off to keep editing fast"
    return name, None

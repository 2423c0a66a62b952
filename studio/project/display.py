"""Text from the project (file names, routes, function ids) made safe to print on one line.

A file may be called `a\nb.py` or hold an escape sequence in its name; printed raw, it breaks a
table or drives the terminal. `escaped(text)` writes every control, line-separator, bidi and
undecodable (surrogate) character as its Python escape and leaves everything else as it is.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def escaped(text: str) -> str:
    """`a\\nb.py` for a name holding a newline; `text` itself when nothing needs escaping."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda match: repr(match.group())[1:-1], text)

"""Comparing a replayed answer with a recorded one: what changes from run to run is left out.

`volatile_paths(data)` finds the JSON values that cannot repeat (dates, UUIDs and other generated
ids, epoch times, durations, request ids) with the reason for each; `without(data, paths)` drops them before
a structural comparison; `masked(text)` replaces the same kinds of value in a text body by
`<uuid>`, `<datetime>`, ... so two runs compare equal. Standard library only.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator

Path = tuple[object, ...]
"""Keys and list indices from the top of a JSON value: ("items", 0, "id")."""

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_HTTP_DATE = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} " \
             r"\d{2}:\d{2}:\d{2} GMT"
_VALUE_KINDS = (
    (re.compile(rf"^{_UUID}$"), "a generated id"),
    (re.compile(rf"^{_ISO}$"), "a date"),
    (re.compile(rf"^{_HTTP_DATE}$"), "a date"),
    (re.compile(r"^[0-9a-f]{16,}$"), "a generated id"),
)
_TIME_KEY = re.compile(r"(^|_)(time|ts|timestamp|date|now|created|updated|expires|started|at)$|At$|Time$",
                       re.IGNORECASE)
_DURATION_KEY = re.compile(r"duration|elapsed|took|latency|execution_?time|_ms$|_seconds$|^ms$", re.IGNORECASE)
_ID_KEY = re.compile(r"^(request_?id|requestid|trace_?id|x-request-id)$", re.IGNORECASE)
_ISO_DATETIME = r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_MASKS = (
    (re.compile(_UUID), "<uuid>"),
    (re.compile(_HTTP_DATE), "<date>"),
    (re.compile(_ISO_DATETIME), "<datetime>"),
)


def volatile_paths(data: object) -> list[tuple[Path, str]]:
    """(path, why) of every value in `data` that changes from one run to the next."""
    return list(_walk(data, ()))


def _walk(value: object, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            reason = _key_reason(str(key), item)
            if reason:
                yield (*path, key), reason
            else:
                yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
    elif isinstance(value, str):
        for pattern, why in _VALUE_KINDS:
            if pattern.match(value):
                yield path, why
                return


def _key_reason(key: str, value: object) -> str | None:
    if _ID_KEY.match(key) and isinstance(value, (str, int)):
        return "a request id"
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if _DURATION_KEY.search(key) and number:
        return "a duration"
    if _TIME_KEY.search(key) and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 1e8:
        return "a time"
    return None


def without(data: object, paths: Iterable[Path]) -> object:
    """A copy of `data` with the values at `paths` left out (paths that are not there are ignored)."""
    result = copy.deepcopy(data)
    # Deepest first and list indices from the end, so one removal never shifts another's path.
    for path in sorted((tuple(p) for p in paths), key=lambda p: (len(p), p[-1] if p and isinstance(p[-1], int)
                                                              else -1), reverse=True):
        if not path:
            return None
        parent = result
        try:
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    return result


def masked(text: str) -> str:
    """`text` with UUIDs, HTTP dates and ISO date-times replaced by `<uuid>`, `<date>`, `<datetime>`."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text

"""JSON on the request path (the journal line of every answered invocation, every worker answer),
through orjson.

`json` spent ~11 us encoding a record's response half and ~11 us parsing a worker's answer; orjson
~1 and ~3. `dumps` writes the text `json.dumps(value, ensure_ascii=False, separators=(",", ":"),
default=repr)` writes, except that NaN and infinities become `null` (standard JSON; `json` writes
the non-standard `NaN`); what orjson refuses (lone surrogates, integers over 64 bits, non-string
keys) goes through `json`, with non-ASCII characters escaped. `loads` returns what `json.loads` returns: text orjson refuses (NaN, lone
surrogate escapes...) and text with a run of 19 digits or more (an integer orjson would read as a
float, losing digits) are parsed by `json`.
"""

from __future__ import annotations

import json

import orjson

# Dataclasses and datetimes go to `default` (repr), as with `json.dumps(..., default=repr)`.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_STDLIB = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=repr)


def dumps(value) -> bytes:
    """Compact UTF-8 JSON, as `json.dumps(value, ensure_ascii=False, separators=(",", ":"),
    default=repr)` writes it. What orjson refuses (a lone surrogate: bytes a process printed that
    were not UTF-8, kept by surrogateescape) goes through `json` with every non-ASCII character
    escaped: still valid UTF-8, and `loads` gives back the very same strings. (Raw surrogateescape
    bytes, as the journal once wrote, were text no JSON parser reads: the writer process died on them.)"""
    try:
        return orjson.dumps(value, default=repr, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return _STDLIB.encode(value).encode("ascii")



_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x2E for byte in range(256))
"""A `bytes.translate` table: each ASCII digit becomes `0`, any other byte `.`."""
_LONG_RUN = b"0" * 19


def long_digit_run(data: bytes) -> bool:
    """Whether `data` holds 19 ASCII digits in a row (what `re.search(rb"\\d{19}", data)` finds): one
    C translate and a substring search, 1.2 us on a 1.3 KB journal line where the regex took 13 us
    (more than the orjson parse it guards, 3 us)."""
    return _LONG_RUN in data.translate(_DIGITS_AS_ZERO)


def loads(data: bytes):
    """`json.loads(data)` (ValueError on what is not JSON)."""
    if not long_digit_run(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)

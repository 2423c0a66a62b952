"""`fastjson.dumps` writes what `json.dumps(..., ensure_ascii=False, separators=(",", ":"),
default=repr)` writes (the journal's text), through orjson where it can and json where it cannot."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math

import pytest

from studio.runtime import fastjson


@dataclasses.dataclass
class Point:
    x: int = 1


class Name(str):
    pass


def stdlib(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("value", [
    {"text": "ü 😀 \u2028 \"quoted\" \\ \n", "list": [1, 2.5, None, True, False], "nested": {"t": (1, 2)}},
    {"surrogate": "bytes \udc80 that were not UTF-8"},  # orjson refuses: json writes it
    {"huge": 2 ** 70, "negative": -(2 ** 64)},  # over 64 bits: json writes it
    {1: "a non-string key"},  # orjson refuses: json writes "1"
    {"dataclass": Point(), "datetime": datetime.datetime(2026, 12, 6, 1, 2, 3)},  # their repr, as json
    {"subclass": Name("kept as a string")},
    {"floats": [0.1 + 0.2, -0.0, 1e300, 5e-324, 123456789.123456789]},
    [], {}, "", 0,
])
def test_the_same_text_as_json(value):
    assert fastjson.dumps(value) == stdlib(value)


def test_non_finite_floats_are_written_as_standard_json():
    assert fastjson.dumps({"n": math.nan, "i": math.inf}) == b'{"n":null,"i":null}'

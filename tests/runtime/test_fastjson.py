"""`fastjson.dumps` writes what `json.dumps(..., ensure_ascii=False, separators=(",", ":"),
default=repr)` writes (the journal's text), through orjson where it can and json where it cannot
(then with non-ASCII escaped, so that the bytes are always UTF-8 that `loads` reads back)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import re

import pytest

from studio.runtime import fastjson


@dataclasses.dataclass
class Point:
    x: int = 1


class Name(str):
    pass


def stdlib(value, ascii: bool = False) -> bytes:
    return json.dumps(value, ensure_ascii=ascii, separators=(",", ":"), default=repr).encode("utf-8")


@pytest.mark.parametrize("value", [
    {"text": "ü 😀 \u2028 \"quoted\" \\ \n", "list": [1, 2.5, None, True, False], "nested": {"t": (1, 2)}},
    {"dataclass": Point(), "datetime": datetime.datetime(2026, 12, 6, 1, 2, 3)},  # their repr, as json
    {"subclass": Name("kept as a string")},
    {"floats": [0.1 + 0.2, -0.0, 1e300, 5e-324, 123456789.123456789]},
    [], {}, "", 0,
])
def test_the_same_text_as_json(value):
    assert fastjson.dumps(value) == stdlib(value)


@pytest.mark.parametrize("value", [
    {"surrogate": "bytes \udc80\udcff that were not UTF-8, ü"},  # lone surrogates: orjson refuses
    {"high": "\ud800 alone", "pair": "😀"},
    {"huge": 2 ** 70, "negative": -(2 ** 64), "text": "ü"},  # over 64 bits
    {1: "a non-string key"},  # json writes "1"
])
def test_what_orjson_refuses_is_json_text_escaped_and_reads_back_the_same(value):
    text = fastjson.dumps(value)
    assert text == stdlib(value, ascii=True)
    text.decode("utf-8")  # valid UTF-8, where raw surrogateescape bytes were not
    expected = json.loads(json.dumps(value))  # (json's own round trip: a non-string key becomes "1")
    assert repr(fastjson.loads(text)) == repr(expected)


def test_non_finite_floats_are_written_as_standard_json():
    assert fastjson.dumps({"n": math.nan, "i": math.inf}) == b'{"n":null,"i":null}'


@pytest.mark.parametrize("text", [
    b'{"a":[1,2.5,null,true,false],"b":{"c":"\\u00fc \\ud83d\\ude00 \\"q\\""},"d":-0.0,"e":1e300}',
    b'{"big":123456789012345678901234567890,"edge":18446744073709551616,"neg":-9223372036854775809}',
    b'{"n":NaN,"i":Infinity,"m":-Infinity}',  # json's non-standard literals
    b'{"lone":"\\ud800"}',  # a lone surrogate escape
    b'{"dup":1,"dup":2}',
    b'{"phone":"1234567890123456789","x":1}',  # 19 digits inside a string: parsed by json, same value
    b'[]', b'"text"', b'0', b'{"f":0.30000000000000004,"tiny":5e-324}',
])
def test_loads_returns_what_json_returns(text):
    got, want = fastjson.loads(text), json.loads(text)
    assert repr(got) == repr(want)  # repr: NaN != NaN, and -0.0 == 0.0 would hide a difference


@pytest.mark.parametrize("text", [b"nope", b'{"a":', b"\xff\xfe", b""])
def test_loads_refuses_what_json_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        fastjson.loads(text)


@pytest.mark.parametrize("text", [
    b"", b"1" * 18, b"1" * 19, b"x" + b"2" * 20 + b"x", b"123456789.1234567891", b"-9223372036854775809",
    b'{"t":1796597621.3264494,"id":"aa823bce-80f0-4715-9b9f"}', b"1" * 18 + b"\xd9\xa1",  # U+0661 is not \d
    bytes(range(256)) * 2, b"0123456789" * 3,
])
def test_long_digit_run_finds_what_the_regex_finds(text):
    assert fastjson.long_digit_run(text) == (re.search(rb"\d{19}", text) is not None)
    assert fastjson.long_digit_run(bytearray(text)) == fastjson.long_digit_run(text)

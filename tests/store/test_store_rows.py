"""How a record's values become stored text: the quick paths write exactly what the plain ones did."""

from __future__ import annotations

import json

import pytest

from studio.store.redact import valid_text
from studio.store.rows import pairs_json

TRICKY = ["", "plain", 'say "hi"', "back\\slash", "tab\tnew\nline\x00\x1f\x7f", "é ü 中文 😀", "\u2028\u2029",
          "\ud800 lone", "</script>"]


@pytest.mark.parametrize("pairs", [
    (),
    (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "21")),
    tuple((name, value) for name in TRICKY for value in TRICKY[::-1]),
    [["list", "pairs"]],
    (("X-Count", 3), ("X-None", None)),  # not strings: json.dumps's own answer
])
def test_pairs_json_is_json_dumps(pairs):
    assert pairs_json(pairs) == json.dumps([list(pair) for pair in pairs], ensure_ascii=False)


@pytest.mark.parametrize("text", TRICKY + ["\udcff\udcfe bytes a process printed"])
def test_valid_text_keeps_valid_text_and_replaces_lone_surrogates(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert valid_text(text) != text
        valid_text(text).encode("utf-8")
    else:
        assert valid_text(text) is text
    assert valid_text("\udcff\udcfe!") == "\ufffd\ufffd!"  # printed bytes that were not UTF-8

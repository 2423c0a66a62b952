"""Pure pieces of the invoke panel: path templates, pairs, JSON errors, curl round trips, diffs."""

from __future__ import annotations

import pytest

from studio.tui.curl import CurlError, CurlRequest, parse_curl, to_curl
from studio.tui.diffing import diff_records
from studio.tui.request_model import RequestSpec, fill_path, json_error, parse_pairs, path_params


def test_path_params_and_fill():
    assert path_params("/api/:a/x/:rest*") == [("a", False), ("rest", True)]
    assert fill_path("/api/:a/x/:rest*", {"a": "b c/d", "rest": "e/f g"}) == "/api/b%20c%2Fd/x/e/f%20g"


def test_pairs_name_the_bad_line():
    pairs, errors = parse_pairs("a=1\n# note\n\nb = 2\nbroken", "=")
    assert pairs == [("a", "1"), ("b", "2")]
    assert errors == ["line 5: expected `name=value`, got 'broken'"]


def test_json_error_names_line_and_column():
    assert json_error("") is None and json_error('{"a": [1]}') is None
    assert json_error('{\n  "a": 1,\n}').startswith("invalid JSON at line 3, column 1")


@pytest.mark.parametrize("request_", [
    CurlRequest("GET", "http://127.0.0.1:8088/api/hello?name=Ada", [], ""),
    CurlRequest("POST", "http://h/api/x", [("Content-Type", "application/json"), ("X-Q", "it's")], '{"a": "b c"}'),
    CurlRequest("DELETE", "http://h/x", [("Authorization", "Bearer t")], ""),
])
def test_curl_round_trip(request_):
    assert parse_curl(to_curl(request_)) == request_


def test_curl_errors_and_data_default_to_post():
    with pytest.raises(CurlError, match="starts with `curl`"):
        parse_curl("wget http://x")
    with pytest.raises(CurlError, match="no URL"):
        parse_curl("curl -H 'A: b'")
    assert parse_curl("curl http://x -d 'a=1'").method == "POST"
    assert parse_curl("curl http://x --json '{}'").headers == [("Content-Type", "application/json")]


def test_saved_spec_round_trip():
    spec = RequestSpec(mode="http", method="PUT", path="/p", query=[("a", "1")], headers=[("H", "v")], body="b")
    assert RequestSpec.from_saved(spec.to_saved()) == spec
    assert spec.target == "/p?a=1"


def test_diff_reports_status_body_and_logs():
    before = {"status": 500, "body": "boom", "logs": [{"stream": "stdout", "text": "x"}],
              "error": {"type": "ValueError"}}
    after = {"status": 200, "body": '{"ok": true}', "logs": [{"stream": "stdout", "text": "x"}]}
    text, changed = diff_records(before, after)
    assert changed and "500 → 200" in text.plain and "ValueError → -" in text.plain and "(same)" in text.plain
    assert diff_records(after, after)[1] is False


def test_diff_marks_every_changed_line_of_a_multi_line_log_entry():
    trace = "Traceback (most recent call last):\n  File \"a.py\", line {n}, in f\nValueError: {n}"
    before = {"status": 500, "body": "", "logs": [{"level": "ERROR", "text": trace.format(n=1)}]}
    after = {"status": 500, "body": "", "logs": [{"level": "ERROR", "text": trace.format(n=2)}]}
    text, changed = diff_records(before, after)
    marked = [line for line in text.plain.splitlines() if line[:1] in ("-", "+")]
    assert changed
    assert '-      File "a.py", line 1, in f' in text.plain and '+      File "a.py", line 2, in f' in text.plain
    assert "-    ValueError: 1" in text.plain and "+    ValueError: 2" in text.plain
    assert len(marked) == 4


def test_curl_import_reads_what_browsers_and_shells_copy():
    """Finding 8: the multi-line form (`\\` at each line end), cmd.exe's `^`, Chrome's $'...' quoting."""
    chrome = ("curl 'http://localhost:8088/api/users/42?full=1' \\\n  -H 'accept: application/json' \\\r\n"
              "  -b 'sid=1' \\\n  --data-raw $'{\"name\":\"O\\'Brien\",\"n\":\"\\u00e9\"}' \\\n  --compressed")
    parsed = parse_curl(chrome)
    assert (parsed.method, parsed.url) == ("POST", "http://localhost:8088/api/users/42?full=1")
    assert parsed.headers == [("accept", "application/json"), ("Cookie", "sid=1")]
    assert parsed.body == '{"name":"O\'Brien","n":"é"}'
    windows = parse_curl('curl ^\r\n  -X PUT ^\r\n  "http://x/a" ^\r\n  -d "a=1"')
    assert (windows.method, windows.url, windows.body) == ("PUT", "http://x/a", "a=1")
    get = parse_curl("curl -G http://x/s --data-urlencode q=1 -d p=2 -u ada:pw -A bot")
    assert (get.method, get.url, get.body) == ("GET", "http://x/s?q=1&p=2", "")
    assert get.headers == [("Authorization", "Basic YWRhOnB3"), ("User-Agent", "bot")]
    assert parse_curl("curl -I --url http://x/h").method == "HEAD"


@pytest.mark.parametrize(("typed", "sent"), [
    ("42", "/42"),  # f4 selects the path; typing replaced it without its slash: the gateway said malformed-http
    ("api/users/42", "/api/users/42"),
    ("http://127.0.0.1:8088/api/users/42?x=1", "/api/users/42?x=1"),  # a URL pasted into the path field
    ("/api/a b", "/api/a%20b"),
])
def test_the_path_field_becomes_a_request_line_path(typed, sent):
    from studio.tui.request_model import RequestDraft

    draft = RequestDraft(path=typed)
    spec, error = draft.build()
    assert error is None and spec.path == sent
    assert draft.target() == sent


def test_an_empty_catch_all_sends_its_prefix_but_an_empty_param_does_not():
    from studio.tui.request_model import RequestDraft

    draft = RequestDraft(function_id="api/[[default]]", mode="http", path="/api/:default*")
    spec, error = draft.build()
    assert error is None and spec.path == "/api/" and draft.target() == "/api/"
    spec, error = RequestDraft(function_id="api/users/[id]", mode="http", path="/api/users/:id").build()
    assert spec is None and error == "path parameter :id is empty"
    spec, error = RequestDraft(function_id="api/health", mode="http", path="health").build()
    assert error is None and spec.path == "/health"

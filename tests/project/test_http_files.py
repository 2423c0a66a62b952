"""`.http` files: reading both clients' forms, writing, saving one request in place, environments and
`{{variable}}` substitution; written files read back identically (property tests)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.project.http_files import (
    Environments,
    HttpFile,
    HttpFileError,
    HttpRequest,
    MissingVariable,
    format_http,
    format_request,
    parse_environments,
    parse_http,
    read_environments,
    resolve,
    slugify,
    substitute,
    upsert_request,
)

USERS = """\
@host = http://localhost:8088

### Get user
# who: the first user
GET {{host}}/api/users/{{id}}?full=1 HTTP/1.1
Accept: application/json
// a comment among the headers

### create user
POST /api/users
Content-Type: application/json

{
  "name": "Ada"
}


###
# @name ping
/api/ping
"""


def test_reads_names_methods_urls_headers_bodies_and_comments():
    parsed = parse_http(USERS)
    assert parsed.problems == ()
    assert parsed.variables == (("host", "http://localhost:8088"),)
    get, create, ping = parsed.requests
    assert (get.name, get.method, get.url, get.line) == ("Get user", "GET", "{{host}}/api/users/{{id}}?full=1", 5)
    assert get.headers == (("Accept", "application/json"),)
    assert get.comments == ("# who: the first user", "// a comment among the headers")
    assert get.body == ""
    assert (create.method, create.body) == ("POST", '{\n  "name": "Ada"\n}')  # trailing blank lines dropped
    assert (ping.name, ping.method, ping.url) == ("ping", "GET", "/api/ping")  # VS Code's `# @name`
    assert parsed.labels() == ["get-user", "create-user", "ping"]


def test_selects_by_slugified_name_or_position():
    parsed = parse_http(USERS)
    assert parsed.find("get-user").name == "Get user"
    assert parsed.find("Create User").method == "POST"
    assert parsed.find("3").url == "/api/ping"
    assert parsed.find("nope") is None and parsed.find("9") is None


def test_a_file_without_separators_is_one_request_and_query_lines_continue_the_url():
    parsed = parse_http("POST /api/search\n    ?q=ada\n    &page=2\nX-Trace: 1\n\nbody\n")
    [only] = parsed.requests
    assert (only.name, only.url, only.headers, only.body) == ("", "/api/search?q=ada&page=2", (("X-Trace", "1"),), "body")
    assert parsed.labels() == ["1"]


def test_a_bad_block_is_a_problem_with_its_line_and_the_others_stay():
    parsed = parse_http("### ok\nGET /a\n\n### bad\nthis is not a request\n\n### headers\nGET /b\nnot a header\n")
    assert [r.name for r in parsed.requests] == ["ok"]
    assert parsed.problems == (
        "line 5: expected a request line (`GET /path`), got 'this is not a request'",
        "line 9: expected a header `Name: value` or a blank line before the body, got 'not a header'",
    )


def test_variables_are_seen_from_their_block_on():
    parsed = parse_http("@a = 1\n### one\n@b = 2\nGET /{{a}}/{{b}}\n\n### two\n@a = 3\nGET /{{a}}/{{b}}\n")
    one, two = parsed.requests
    assert parsed.variables_for(one) == {"a": "1", "b": "2"}
    assert parsed.variables_for(two) == {"a": "3", "b": "2"}
    assert resolve(parsed, two).target == "/3/2"


def test_resolve_fills_variables_drops_the_host_and_environment_wins_over_file_variables():
    parsed = parse_http(USERS)
    get = parsed.find("get-user")
    resolved = resolve(parsed, get, {"id": "42"})
    assert (resolved.method, resolved.target, resolved.headers) == (
        "GET", "/api/users/42?full=1", (("Accept", "application/json"),))
    assert resolve(parsed, get, {"id": "7", "host": "https://prod.example.com"}).target == "/api/users/7?full=1"


def test_a_missing_variable_names_itself_its_line_and_what_is_defined():
    parsed = parse_http(USERS)
    with pytest.raises(MissingVariable) as caught:
        resolve(parsed, parsed.find("get-user"), {"token": "x"}, where="users.http")
    assert str(caught.value) == "{{id}} is not defined (users.http, line 5); defined here: host, token"


def test_substitution_nests_refuses_cycles_and_knows_dynamic_values():
    assert substitute("{{url}}/x", {"base": "/api", "url": "{{base}}/users"}) == "/api/users/x"
    with pytest.raises(HttpFileError, match="refers to itself"):
        substitute("{{a}}", {"a": "{{b}}", "b": "{{a}}"})
    assert len(substitute("{{$uuid}}", {})) == 36
    assert substitute("{{ $timestamp }}", {}).isdigit()
    assert substitute("{{$x}}", {}, dynamic=lambda name: "fixed") == "fixed"


def test_environments_private_over_public_over_shared(tmp_path):
    folder = tmp_path / "http-requests"
    folder.mkdir()
    (tmp_path / "http-client.env.json").write_text(json.dumps(
        {"$shared": {"host": "h", "id": 1}, "dev": {"id": "2", "token": "public"}, "prod": {}}))
    (folder / "http-client.private.env.json").write_text(json.dumps({"dev": {"token": "secret"}}))
    envs = read_environments(folder, stop=tmp_path)
    assert envs.names == ["dev", "prod"]
    assert envs.variables("dev") == {"host": "h", "id": "2", "token": "secret"}
    assert envs.variables(None) == {"host": "h", "id": "1"}
    with pytest.raises(HttpFileError, match=r"no environment 'stage' .* environments: dev, prod"):
        envs.variables("stage")
    assert read_environments(tmp_path / "elsewhere", stop=tmp_path / "elsewhere") == Environments()


def test_environment_files_that_are_not_objects_of_objects_say_so():
    with pytest.raises(HttpFileError, match="not valid JSON"):
        parse_environments("{", "env.json")
    with pytest.raises(HttpFileError, match="must hold an object of environments"):
        parse_environments('{"dev": 1}', "env.json")


def test_upsert_replaces_only_its_own_block_and_appends_new_ones():
    changed = HttpRequest("create user", "PUT", "/api/users/{{id}}", (("X-A", "1"),), '{"n": 1}')
    text = upsert_request(USERS, changed)
    assert text.startswith(USERS[: USERS.index("### create user")])  # the first block untouched, byte for byte
    assert text.endswith(USERS[USERS.index("###\n# @name ping"):])
    assert parse_http(text).find("create-user") == changed
    appended = upsert_request(text, HttpRequest("new one", "GET", "/x"))
    assert appended.startswith(text.rstrip("\n") + "\n\n### new one\n")
    assert [r.name for r in parse_http(appended).requests] == ["Get user", "create user", "ping", "new one"]
    assert upsert_request("", HttpRequest("a", "GET", "/a")) == "### a\nGET /a\n"


def test_the_writer_refuses_what_the_format_cannot_hold():
    for bad in (HttpRequest("x", "get", "/a"), HttpRequest("x", "GET", "/a b"),
                HttpRequest("x", "GET", "/a", (("X-A", "1\n2"),)), HttpRequest("x", "GET", "/a", body="###\n")):
        with pytest.raises(HttpFileError):
            format_request(bad)


def test_response_handlers_are_kept_apart_from_the_body_and_body_files_are_read():
    text = ("### post\nPOST /api/x\n\n< ./payload.json\n\n> {%\n  client.global.set('id', response.body.id);\n%}\n"
            "### quoted\nPOST /api/y\n\n> a quote, not a handler\n")
    parsed = parse_http(text)
    post, quoted = parsed.requests
    assert post.body == "< ./payload.json"
    assert post.handler == "> {%\n  client.global.set('id', response.body.id);\n%}"
    assert quoted.body == "> a quote, not a handler" and quoted.handler == ""
    assert parse_http(format_request(post)).requests[0] == post
    read = []
    resolved = resolve(parsed, post, {}, read_body_file=lambda name: read.append(name) or '{"a": 1}')
    assert (resolved.body, read) == ('{"a": 1}', ["./payload.json"])
    assert resolve(parsed, post).body == "< ./payload.json"  # nobody to read it: sent as written


def test_check_names_unreadable_blocks_and_bad_environment_files(tmp_path):
    from studio.project.http_files import http_file_problems

    (tmp_path / "http-requests").mkdir()
    (tmp_path / "http-requests" / "a.http").write_text("### ok\nGET /a\n\n### bad\nnot a request\n")
    (tmp_path / "http-client.env.json").write_text('{"dev": 1}')
    problems = http_file_problems(tmp_path, "http-requests")
    assert [(p.code, p.severity, p.file, p.line) for p in problems] == [
        ("http-file", "warning", "http-requests/a.http", 5), ("http-file", "warning", "http-client.env.json", None)]
    assert problems[0].message == "expected a request line (`GET /path`), got 'not a request'"
    assert http_file_problems(tmp_path, "elsewhere") == []


def test_slugify():
    assert slugify("Get user: by ID!") == "get-user-by-id"
    assert slugify("  ") == ""


# -- property tests: whatever the writer accepts reads back identically ---------------------------

# Printable text without the characters str.strip() removes (the format trims lines), plus spaces.
_visible = st.characters(categories=("L", "N", "P", "S"), max_codepoint=0x2FF)
_word = st.text(_visible.filter(lambda c: c not in "{}"), min_size=1, max_size=12)
_token = st.text(st.sampled_from("abcXYZ019_-"), min_size=1, max_size=8).map(lambda t: "v" + t)
_line = st.text(st.one_of(_visible, st.just(" ")), max_size=30)


@st.composite
def _requests(draw) -> HttpRequest:
    name = draw(st.one_of(st.just(""), _line.map(str.strip)))
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"]))
    segments = draw(st.lists(st.one_of(_token, _token.map(lambda t: "{{" + t + "}}")), max_size=4))
    url = "/" + "/".join(segments) + draw(st.one_of(st.just(""), _token.map(lambda t: f"?{t}=1")))
    headers = tuple(draw(st.lists(st.tuples(_token, _line.map(str.strip)), max_size=4)))
    body_lines = draw(st.lists(_line.filter(lambda s: not s.startswith(("###", "> {%", ">> ", ">>! "))
                                            and not re.match(r"> \S+\.js\s*$", s)), max_size=5))
    body = "\n".join(body_lines).strip("\n")
    if body and not body.strip():
        body = ""
    body = body if not body or (body.split("\n")[0].strip() and body.split("\n")[-1].strip()) else ""
    comments = tuple(draw(st.lists(st.one_of(_line.map(lambda s: ("# " + s).strip()),
                                             _line.map(lambda s: ("// " + s).strip())), max_size=2)
                          .filter(lambda cs: not any("@name" in c or c.startswith("###") for c in cs))))
    variables = tuple(draw(st.lists(st.tuples(_token, _word), max_size=2)))
    handler = draw(st.sampled_from(["", "> {%\n    client.test('ok', () => {});\n%}", ">> out/last.json"]))
    return HttpRequest(name, method, url, headers, body, variables, comments, handler)


@settings(max_examples=80, deadline=None)
@given(st.lists(_requests(), max_size=5), st.lists(st.tuples(_token, _word), max_size=2))
def test_a_written_file_reads_back_identically(requests, variables):
    file = HttpFile(tuple(requests), tuple(variables))
    text = format_http(file)
    again = parse_http(text)
    assert again.problems == ()
    assert again == file
    assert format_http(again) == text


@settings(max_examples=60, deadline=None)
@given(st.lists(_requests(), min_size=1, max_size=4), _requests())
def test_saving_one_request_keeps_the_others_and_reads_back(requests, saved):
    if not saved.slug:  # the studio asks for a name that can be selected
        saved = HttpRequest(f"saved {saved.name}".strip(), saved.method, saved.url, saved.headers, saved.body, saved.variables,
                            saved.comments)
    text = format_http(HttpFile(tuple(requests)))
    after = parse_http(upsert_request(text, saved))
    assert after.problems == ()
    assert after.find(saved.slug) == saved
    others = [r for r in after.requests if r.slug != saved.slug]
    assert others == [r for r in requests if r.slug != saved.slug or not r.slug]

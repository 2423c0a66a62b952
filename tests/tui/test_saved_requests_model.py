"""The invoke panel's draft as a `.http` request and back (studio/tui/saved_requests.py), without an app."""

from __future__ import annotations

import pytest

from studio.project.http_files import HttpFileError, format_request, parse_http
from studio.tui.request_model import RequestDraft
from studio.tui.saved_requests import SavedEntry, draft_to_http, entry_to_draft, save_draft, save_name, scan


def entry_of(text: str, label: str = "a", file: str = "http-requests/a.http") -> SavedEntry:
    parsed = parse_http(text)
    return SavedEntry(file, label, parsed.find(label), parsed)


def test_a_draft_round_trips_through_its_http_form():
    draft = RequestDraft(function_id="cloud-functions/api/shop/[category]/[item]", method="PUT",
                         path="/api/shop/:category/:item", params={"category": "books", "item": "dune"},
                         query="q=a b\nx=1", headers="X-A: 1", body='{\n  "n": 1\n}')
    request = draft_to_http(draft, "put item")
    assert request.url == "/api/shop/{{category}}/{{item}}?q=a%20b&x=1"
    assert request.variables == (("category", "books"), ("item", "dune"))
    assert request.comments == ("# function: cloud-functions/api/shop/[category]/[item]",)
    text = format_request(request)
    back, _loaded, missing = entry_to_draft(entry_of(text, "put-item"), {}, draft.function_id, "http")
    assert back == draft and missing == []


def test_an_scf_event_and_a_cocobase_user_keep_their_meaning():
    scf = draft_to_http(RequestDraft(function_id="tick/index", mode="scf", body='{"Type": "Timer"}',
                                     invocation_type="Event"), "nightly")
    assert (scf.method, scf.url, scf.body) == ("POST", "/__funcstudio/functions/tick/index/invoke", '{"Type": "Timer"}')
    assert ("X-Funcstudio-Invocation-Type", "Event") in scf.headers
    back, _, _ = entry_to_draft(entry_of(format_request(scf), "nightly"), {}, None, "http")
    assert (back.mode, back.function_id, back.invocation_type, back.body) == (
        "scf", "tick/index", "Event", '{"Type": "Timer"}')
    coco = draft_to_http(RequestDraft(function_id="cocobase/hello", mode="cocobase", path="/functions/hello/execute",
                                      user_token="tok"), "as ada")
    assert ("Authorization", "Bearer tok") in coco.headers
    back, _, _ = entry_to_draft(entry_of(format_request(coco), "as-ada"), {}, "cocobase/hello", "cocobase")
    assert (back.user_token, back.headers) == ("tok", "")


def test_unedited_parts_keep_their_variables_and_edited_ones_do_not():
    text = "@id = 7\n### a\nGET {{host}}/api/users/{{id}}?k={{key}}\nAuthorization: Bearer {{token}}\n\n{\"t\": \"{{token}}\"}\n"
    env = {"host": "https://prod.example", "key": "K", "token": "s3cret"}
    draft, loaded, missing = entry_to_draft(entry_of(text), env, "f", "http")
    assert (draft.path, draft.params, draft.query, draft.headers) == (
        "/api/users/:id", {"id": "7"}, "k=K", "Authorization: Bearer s3cret")
    assert missing == []
    same = draft_to_http(draft, "a", loaded)
    assert (same.url, same.headers, same.body, same.variables) == (
        "{{host}}/api/users/{{id}}?k={{key}}", (("Authorization", "Bearer {{token}}"),), '{"t": "{{token}}"}', ())
    edited = RequestDraft(**{**draft.__dict__, "params": {"id": "8"}, "headers": "Authorization: Bearer other"})
    changed = draft_to_http(edited, "a", loaded)
    assert changed.variables == (("id", "8"),) and changed.headers == (("Authorization", "Bearer other"),)
    renamed = draft_to_http(draft, "b", loaded)  # another name is another request: what it holds now
    assert "s3cret" in renamed.headers[0][1]


def test_saving_goes_to_the_functions_file_or_the_one_named(tmp_path):
    draft = RequestDraft(function_id="cloud-functions/api/hello", path="/api/hello")
    assert save_draft(tmp_path, "http-requests", draft, "first")[0] == "http-requests/api-hello.http"
    assert save_draft(tmp_path, "http-requests", draft, "team/shared#second")[0] == "http-requests/team/shared.http"
    with pytest.raises(HttpFileError, match="outside the project"):
        save_draft(tmp_path, "http-requests", draft, "../../x#y")
    with pytest.raises(HttpFileError, match="a name with a letter or digit"):
        save_draft(tmp_path, "http-requests", draft, "!!")
    catalog = scan(tmp_path, "http-requests")
    assert [e.key for e in catalog.entries] == ["http-requests/api-hello.http#first",
                                                 "http-requests/team/shared.http#second"]
    assert all(e.function_id == "cloud-functions/api/hello" for e in catalog.entries)
    _, loaded, _ = entry_to_draft(catalog.entries[1], {}, None, "http")
    assert save_name("http-requests", loaded) == "team/shared.http#second"

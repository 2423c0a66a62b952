"""`funcstudio invoke PROJECT --request FILE.http#name [--env NAME]` as a user runs it (real subprocess,
real HTTP), its errors, and the one-time move of the store's old saved requests into `.http` files."""

from __future__ import annotations

import json
import sqlite3

import pytest
from helpers import run_funcstudio, write_file

from studio.project.http_files import HttpRequest, parse_http, upsert_request
from studio.store.db import db_path, open_store
from studio.store.request_migration import MARKER, migrate_saved_requests

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def showcase(sample_copy):
    root = sample_copy("pages-showcase")
    text = upsert_request("", HttpRequest("Get user", "GET", "{{host}}/api/users/{{id}}",
                                          (("User-Agent", "{{agent}}"),), variables=(("id", "7"),)))
    text = upsert_request(text, HttpRequest("say hello", "POST", "/api/hello?from=file",
                                            (("Content-Type", "application/json"),), '{"name": "{{who}}"}'))
    text = upsert_request(text, HttpRequest("hello from a file", "POST", "/api/hello",
                                            (("Content-Type", "application/json"),), "< ./hello.json"))
    write_file(root, "http-requests/users.http", text)
    write_file(root, "http-requests/hello.json", '{"name": "{{who}}", "from": "file"}')
    write_file(root, "http-client.env.json", json.dumps(
        {"$shared": {"host": "https://example.com", "who": "Ada"}, "dev": {"id": "42", "agent": "public"}}))
    write_file(root, "http-client.private.env.json", json.dumps({"dev": {"agent": "private"}}))
    return root


def invoke_json(root, *args):
    result = run_funcstudio("invoke", str(root), *args, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_a_saved_request_runs_with_its_environment_private_over_public(showcase):
    record = invoke_json(showcase, "--request", "http-requests/users.http#get-user", "--env", "dev")
    assert (record["method"], record["path"], record["status"]) == ("GET", "/api/users/42", 200)
    assert json.loads(record["body"]) == {"user": {"id": "42", "name": "Ada Lovelace"}, "agent": "private"}


def test_file_variables_apply_without_an_environment_and_minus_h_adds_headers(showcase):
    result = run_funcstudio("invoke", str(showcase), "--request", "http-requests/users.http#Get User",
                            "-H", "X-Extra: 1", "--json")
    # no --env: `agent` is defined nowhere, so the error names it and the environments there are
    assert result.returncode == 2
    assert "{{agent}} is not defined (http-requests/users.http, line 3)" in result.stderr
    assert "environments: dev (--env NAME)" in result.stderr
    record = invoke_json(showcase, "--request", "http-requests/users.http#say-hello", "-H", "X-Extra: 1")
    assert (record["method"], record["status"], record["query_string"]) == ("POST", 201, "from=file")
    assert json.loads(record["body"])["received"] == {"name": "Ada"}
    assert ["X-Extra", "1"] in record["request_headers"]
    from_file = invoke_json(showcase, "--request", "http-requests/users.http#hello-from-a-file")
    assert json.loads(from_file["body"])["received"] == {"name": "Ada", "from": "file"}


@pytest.mark.parametrize(("ref", "env", "message"), [
    ("http-requests/nope.http#x", None, "no file 'http-requests/nope.http' in {root}; .http files: "
                                        "http-requests/users.http"),
    ("http-requests/users.http#get-usr", None, "no request #get-usr in http-requests/users.http; it holds "
                                               "#get-user (line 3), #say-hello (line 7)"),
    ("http-requests/users.http", None, "holds 3 requests; pick one with FILE#name"),
    ("http-requests/users.http#get-user", "prod", "no environment 'prod'"),
])
def test_errors_list_what_exists(showcase, ref, env, message):
    result = run_funcstudio("invoke", str(showcase), "--request", ref, *(["--env", env] if env else []))
    assert result.returncode == 2
    assert message.format(root=showcase.resolve()) in " ".join(result.stderr.split())


def test_request_still_takes_a_method_as_curl_does(showcase):
    record = invoke_json(showcase, "/api/hello", "--request", "POST", "-d", '{"name": "Zed"}')
    assert (record["method"], record["status"]) == ("POST", 201)


# -- the store's old saved_requests rows -------------------------------------------------------


def _old_rows(root, rows):
    conn = open_store(db_path(root))
    for row in rows:
        conn.execute("INSERT INTO saved_requests (function_id, name, method, path, headers, body, event, "
                     "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1.0, ?)", row)
    conn.commit()
    conn.close()


def test_old_saved_requests_move_to_http_files_once(tmp_path):
    scf_event = json.dumps({"mode": "scf", "method": "POST", "path": "/x", "query": [], "headers": [],
                            "body": '{"k": 1}', "function_id": "hello/index", "invocation_type": "Event"})
    http_spec = json.dumps({"mode": "http", "method": "POST", "path": "/api/users/42", "query": [["q", "1"]],
                            "headers": [["X-A", "1"]], "body": "{\n  \"a\": 1\n}\n\n", "function_id": "x"})
    _old_rows(tmp_path, [
        ("cloud-functions/api/users/[id]", "get one", "POST", "/api/users/42?q=1", '[["X-A", "1"]]', b"", http_spec, 2.0),
        ("cloud-functions/api/users/[id]", "plain", "GET", "/api/users/7", "[]", b"", None, 2.0),
        ("hello/index", "nightly", "POST", "/__funcstudio/functions/hello/index/invoke", "[]", b"", scf_event, 2.0),
    ])
    before = (tmp_path / ".funcstudio" / "studio.db").read_bytes()
    result = migrate_saved_requests(tmp_path, "http-requests")
    assert result.message == ("moved 3 saved requests from the store into http-requests/api-users-id.http, "
                              "http-requests/hello-index.http")
    users = parse_http((tmp_path / "http-requests/api-users-id.http").read_text())
    get_one, plain = users.requests
    assert (get_one.name, get_one.method, get_one.url, get_one.headers, get_one.body) == (
        "get one", "POST", "/api/users/42?q=1", (("X-A", "1"),), '{\n  "a": 1\n}')
    assert (plain.method, plain.url, plain.body) == ("GET", "/api/users/7", "")
    [nightly] = parse_http((tmp_path / "http-requests/hello-index.http").read_text()).requests
    assert (nightly.method, nightly.url, nightly.body) == ("POST", "/__funcstudio/functions/hello/index/invoke",
                                                           '{"k": 1}')
    assert ("X-Funcstudio-Invocation-Type", "Event") in nightly.headers
    assert (tmp_path / ".funcstudio" / "studio.db").read_bytes() == before  # the store is only read
    assert (tmp_path / ".funcstudio" / MARKER).is_file()

    # Idempotent: nothing new, nothing said; a file the user deleted stays deleted.
    (tmp_path / "http-requests/hello-index.http").unlink()
    assert migrate_saved_requests(tmp_path, "http-requests") is None
    assert not (tmp_path / "http-requests/hello-index.http").exists()

    # A row saved later by an older studio is moved; a name the file already has is left to the file.
    _old_rows(tmp_path, [("cloud-functions/api/users/[id]", "later", "GET", "/api/users/1", "[]", b"", None, 3.0),
                         ("cloud-functions/api/users/[id]", "Get One", "GET", "/other", "[]", b"", None, 3.0)])
    again = migrate_saved_requests(tmp_path, "http-requests")
    assert again.moved == 1 and "Get One (already in http-requests/api-users-id.http)" in again.message
    names = [r.name for r in parse_http((tmp_path / "http-requests/api-users-id.http").read_text()).requests]
    assert names == ["get one", "plain", "later"]


def test_no_store_means_nothing_to_move(tmp_path):
    assert migrate_saved_requests(tmp_path, "http-requests") is None
    assert not (tmp_path / ".funcstudio").exists()


def test_the_cli_moves_old_requests_before_running_one(sample_copy):
    root = sample_copy("pages-showcase")
    _old_rows(root, [("cloud-functions/api/users/[id]", "Ada", "GET", "/api/users/42", "[]", b"", None, 2.0)])
    result = run_funcstudio("invoke", str(root), "--request", "http-requests/api-users-id.http#ada")
    assert result.returncode == 0, result.stderr
    assert "moved 1 saved request from the store into http-requests/api-users-id.http" in result.stderr
    assert '"name": "Ada Lovelace"' in result.stdout
    second = run_funcstudio("invoke", str(root), "--request", "http-requests/api-users-id.http#ada")
    assert second.returncode == 0 and "moved" not in second.stderr
    sqlite3.connect(db_path(root)).close()


def test_an_scf_event_saved_as_a_control_api_call_runs_sync_and_async(sample_copy):
    root = sample_copy("scf-demo")
    write_file(root, "http-requests/echo.http", "### now\nPOST /__funcstudio/functions/echo/index/invoke\n"
               "Content-Type: application/json\n\n{\"ping\": \"{{who}}\"}\n\n### later\n"
               "POST /__funcstudio/functions/echo/index/invoke\nX-Funcstudio-Invocation-Type: Event\n\n{\"ping\": 2}\n")
    write_file(root, "http-requests/http-client.env.json", json.dumps({"dev": {"who": "Ada"}}))
    now = invoke_json(root, "--request", "http-requests/echo.http#now", "--env", "dev")
    assert (now["function_id"], now["trigger"], json.loads(now["body"])) == ("echo/index", "invoke",
                                                                             {"echo": {"ping": "Ada"}})
    later = invoke_json(root, "--request", "http-requests/echo.http#later")
    assert (later["trigger"], json.loads(later["body"])) == ("async", {"echo": {"ping": 2}})

"""CocoBase's db and envelope as the docs describe them (issue: fidelity items 13 and 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_funcstudio, write_file

from studio.runtime.worker.cocobase_db import Database


@pytest.fixture()
def db(tmp_path: Path):
    database = Database(str(tmp_path / "db.sqlite"))
    database.create_app_user("ada@example.com", password="secret", data={"subscription": "premium", "age": 36},
                             roles=["admin", "verified"], auth_token="t-ada")
    database.create_app_user("bo@example.com", password="secret", data={"subscription": "free", "age": 17},
                             roles=["user"])
    for name, price, tags in (("pen", 3, ["office"]), ("desk", 120, ["office", "wood"]), ("lamp", 40, ["light"])):
        database.create_document("products", {"name": name, "price": price, "tags": tags})
    yield database
    database.close()


def test_users_are_objects_with_attributes_and_still_dicts(db) -> None:
    user = db.find_user(email="ada@example.com")
    assert user.email == "ada@example.com" and user.id == user["id"] and user.is_admin is True
    assert user.data["subscription"] == "premium" and "password" not in user
    assert json.loads(json.dumps(user))["email"] == "ada@example.com"
    with pytest.raises(AttributeError):
        _ = user.password


def test_list_valued_fields_match_element_wise(db) -> None:
    admins = db.query_users(roles_contains="admin")
    assert [u.email for u in admins["data"]] == ["ada@example.com"]
    assert [u.email for u in db.query_users(roles="user")["data"]] == ["bo@example.com"]
    assert sorted(d["name"] for d in db.query("products", tags="office")["data"]) == ["desk", "pen"]
    assert sorted(d["name"] for d in db.query("products", tags_in="light,wood")["data"]) == ["desk", "lamp"]
    # the element predicate's parameters stay aligned with the rest of the query
    assert [d["name"] for d in db.query("products", tags_contains="OFF", price_gt=5)["data"]] == ["desk"]
    assert [d["name"] for d in db.query("products", name_startswith="la", tags_endswith="ght")["data"]] == ["lamp"]


def test_generation_b_methods_the_docs_list(db) -> None:
    assert [c["name"] for c in db.get_collections()] == ["products"]
    assert db.get_collection("products")["id"] == "products"
    cheap = db.get_documents("products", filters={"price": {"$gte": 10}, "name": {"$in": ["desk", "lamp", "pen"]}})
    assert sorted(d["data"]["name"] for d in cheap) == ["desk", "lamp"]
    premium = db.get_app_users(filters={"data": {"subscription": "premium"}, "roles": {"$contains": "verified"}})
    assert [u.email for u in premium] == ["ada@example.com"]
    adults = db.query_app_users({"data.age": {"$gte": 18}, "email": {"$ilike": "%@EXAMPLE.com"}})
    assert [u.email for u in adults] == ["ada@example.com"]
    assert len(db.get_app_users(limit=1)) == 1


TIMES_OUT = '''\
def main():
    print("started the import")
    while True:
        pass
'''

ECHO = '''\
def main():
    return {"json": request.json(), "name": request.get("name", "none")}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    write_file(root, "cocobase/slow.py", TIMES_OUT)
    write_file(root, "cocobase/echo.py", ECHO)
    write_file(root, "funcstudio.toml", '[functions."slow"]\ntimeout_s = 1\n')
    return root


def test_output_is_kept_when_the_function_times_out(project: Path) -> None:
    out = run_funcstudio("invoke", str(project), "/functions/slow/execute", "--json")
    envelope = json.loads(json.loads(out.stdout)["body"])
    assert envelope["success"] is False and "timed out" in envelope["error"]
    assert envelope["output"] == "started the import\n"


def test_a_posted_json_array_stays_an_array(project: Path) -> None:
    out = run_funcstudio("invoke", str(project), "/functions/echo/execute", "-d", "[1, 2]", "--json")
    envelope = json.loads(json.loads(out.stdout)["body"])
    assert envelope["result"] == {"json": [1, 2], "name": "none"}

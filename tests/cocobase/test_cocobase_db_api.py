"""The CocoBase `db` API on real SQLite: relations, select, users, writes, Generation B, bad input."""

from __future__ import annotations

import sqlite3

import pytest

from studio.runtime.worker.cocobase_db import Database, DatabaseError


@pytest.fixture
def db(tmp_path):
    database = Database(str(tmp_path / "cocobase.db"), project_id="proj-1")
    yield database
    database.close()


@pytest.fixture
def blog(db):
    alice = db.create_app_user("alice@example.com", "pw", {"name": "Alice", "role": "admin"}, ["admin"], "tok-a")
    bob = db.create_app_user("bob@example.com", "pw", {"name": "Bob", "role": "user"}, [], "tok-b")
    acme = db.create_document("companies", {"name": "Acme", "city": "Paris"})
    p1 = db.create_document("posts", {"title": "Hello", "author_id": alice["id"], "company_id": acme["id"], "views": 10})
    p2 = db.create_document("posts", {"title": "World", "author_id": bob["id"], "views": 3})
    return {"alice": alice, "bob": bob, "acme": acme, "p1": p1, "p2": p2}


def test_create_returns_flat_doc_with_id_and_stamps(db):
    doc = db.create_document("otp", {"email": "a@b.c", "otp_hash": "x"})
    assert doc["id"] and doc["otp_hash"] == "x" and doc["created_at"].endswith("Z")
    assert db.find_one("otp", email="a@b.c")["id"] == doc["id"]
    assert db.find_one("otp", email="nobody") is None


def test_dotted_filters_follow_relations_to_users_and_documents(db, blog):
    titles = lambda page: [d["title"] for d in page["data"]]  # noqa: E731
    assert titles(db.query("posts", **{"author.role": "admin"})) == ["Hello"]
    assert titles(db.query("posts", **{"author.role_ne": "admin"})) == ["World"]
    assert titles(db.query("posts", **{"company.city_startswith": "par"})) == ["Hello"]
    assert titles(db.query("posts", **{"author.email": "bob@example.com"})) == ["World"]


def test_populate_and_select(db, blog):
    page = db.query("posts", populate=["author", "company"], sort="views", order="desc")
    first = page["data"][0]
    assert first["author"]["email"] == "alice@example.com" and "password" not in first["author"]
    assert first["company"]["name"] == "Acme"
    picked = db.query("posts", select=["title"], sort="title")["data"]
    assert picked == [{"id": blog["p1"]["id"], "title": "Hello"}, {"id": blog["p2"]["id"], "title": "World"}]


def test_nested_populate_through_a_list_of_ids(db, blog):
    team = db.create_document("teams", {"name": "core", "member_ids": [blog["alice"]["id"], blog["bob"]["id"]]})
    got = db.find_one("teams", populate="member", id=team["id"])
    assert [m["email"] for m in got["member"]] == ["alice@example.com", "bob@example.com"]


def test_updates(db):
    doc = db.create_document("items", {"a": 1, "b": {"x": 1}, "c": 3})
    merged = db.update_document_fields("items", doc["id"], {"b": {"y": 2}, "c": None, "d": "new"})
    assert merged["a"] == 1 and merged["b"] == {"y": 2} and merged["c"] is None and merged["d"] == "new"
    replaced = db.update_document("items", doc["id"], {"z": 9})
    assert "a" not in replaced and replaced["z"] == 9 and replaced["id"] == doc["id"]
    assert db.update_document_fields("items", "missing", {"a": 1}) is None
    assert db.delete_document("items", doc["id"]) is True
    assert db.delete_document("items", doc["id"]) is False


def test_search_documents_returns_a_plain_list(db):
    db.create_document("notes", {"title": "Buy MILK", "body": "today"})
    db.create_document("notes", {"title": "Call", "body": "the milkman"})
    db.create_document("notes", {"title": "Other", "body": "x"})
    assert [d["title"] for d in db.search_documents("notes", "milk")] == ["Buy MILK", "Call"]
    assert [d["title"] for d in db.search_documents("notes", "milk", ["title"])] == ["Buy MILK"]
    assert len(db.search_documents("notes", "milk", limit=1)) == 1


def test_users(db, blog):
    assert db.find_user(email="bob@example.com")["data"]["name"] == "Bob"
    assert db.find_user(auth_token="tok-a")["id"] == blog["alice"]["id"]
    assert db.query_users(**{"role": "admin"})["total"] == 1
    assert db.query_users(email_endswith="example.com", sort="email", order="desc")["data"][0]["email"] == "bob@example.com"
    db.add_user_relationship(blog["alice"]["id"], blog["bob"]["id"], "follows")
    rel = db.get_user_relationships(blog["alice"]["id"], "follows")
    assert rel["total"] == 1 and rel["data"][0]["email"] == "bob@example.com"
    updated = db.update_app_user(blog["bob"]["id"], data={"name": "Robert"}, roles=["editor"])
    assert updated["data"] == {"name": "Robert", "role": "user"} and updated["roles"] == ["editor"]


@pytest.mark.parametrize(
    "filters, words",
    [({"price_between": "1,2"}, "unknown filter operator 'between'"),
     ({"name; DROP TABLE documents--": "x"}, "invalid filter field"),
     ({"a') OR 1=1 --": "x"}, "invalid filter field"),
     ({"$where": "1"}, "invalid filter field"),
     ({"name_isnull": "maybe"}, "_isnull expects"),
     ({"name": {"$gt": 1}}, "unsupported filter value")],
)
def test_bad_filters_are_clear_errors(db, filters, words):
    db.create_document("things", {"name": "x"})
    with pytest.raises(DatabaseError, match=words):
        db.query("things", **filters)
    assert db.count_documents("things") == 1  # nothing was dropped


def test_injection_in_values_is_inert(db):
    db.create_document("things", {"name": "x"})
    evil = "x' OR '1'='1"
    assert db.query("things", name=evil)["total"] == 0
    assert db.query("things", name_contains="'); DROP TABLE documents; --")["total"] == 0
    assert db.query("things", name_in="x,') OR 1=1 --")["total"] == 1
    assert db.count_documents("things") == 1
    with pytest.raises(DatabaseError):
        db.query("things", sort="name DESC; DROP TABLE documents")
    with pytest.raises(DatabaseError):
        db.query("things", select=["name) FROM x --"])


def test_generation_b_surface(db):
    for name, price, tags in [("pen", 2, ["office"]), ("desk", 150, ["office", "big"]), ("cup", 5, ["kitchen"])]:
        db.create_document("products", {"name": name, "price": price, "tags": tags})
    assert [d["data"]["name"] for d in db.get_documents("products")] == ["pen", "desk", "cup"]
    assert [d["data"]["name"] for d in db.get_documents("products", limit=1, offset=1)] == ["desk"]
    q = db.query_documents("products", {"price": {"$gte": 5, "$lt": 200}, "name": {"$ilike": "%E%"}}, sort_by="price")
    assert [d["data"]["name"] for d in q] == ["desk"]
    assert [d["data"]["name"] for d in db.query_documents("products", {"tags": {"$contains": "office"}})] == ["pen", "desk"]
    assert [d["data"]["name"] for d in db.query_documents("products", {"name": {"$regex": "^c"}})] == ["cup"]
    assert [d["data"]["name"] for d in db.query_documents("products", {"name": {"$like": "P%"}})] == []
    assert [d["data"]["name"] for d in db.query_documents("products", {"name": {"$nin": ["pen"]}}, sort_by="name", sort_order="desc")] == ["desk", "cup"]
    assert db.query_documents("products", {"color": {"$exists": False}}).__len__() == 3
    agg = db.aggregate_documents("products", aggregations={"count": "count", "avg_price": "avg:price", "top": "max:price"})
    assert agg == [{"count": 3, "avg_price": pytest.approx(157 / 3), "top": 150}]
    assert db.count_documents("missing") == 0
    assert db.count_documents("products", filters={"price_gt": "4"}) == 2
    with pytest.raises(DatabaseError, match="unknown condition operator"):
        db.query_documents("products", {"price": {"$where": "1"}})
    assert db.execute_raw_query("SELECT :project_id AS p") == [{"p": "proj-1"}]
    assert db.delete_collection("products") and db.count_documents("products") == 0


def test_seed_and_dump(db):
    counts = db.seed({"collections": {"posts": [{"id": "p1", "title": "t"}]},
                      "users": [{"email": "u@x.y", "token": "t1", "data": {"n": 1}}]})
    assert counts == {"posts": 1, "users": 1}
    dumped = db.dump()
    assert dumped["posts"][0]["id"] == "p1" and dumped["users"][0]["email"] == "u@x.y"
    assert "password" not in dumped["users"][0]
    with pytest.raises(DatabaseError, match=r"posts\[0\]"):
        db.seed({"posts": ["nope"]})
    with pytest.raises(DatabaseError, match="already exists"):
        db.seed({"posts": [{"id": "p1"}]})


def test_queries_never_fetch_whole_collections(db):
    for i in range(50):
        db.create_document("big", {"n": i})
    seen = []
    db.conn.set_trace_callback(seen.append)
    page = db.query("big", n_gte="40", limit=3)
    db.conn.set_trace_callback(None)
    assert [d["n"] for d in page["data"]] == [40, 41, 42] and page["total"] == 10 and page["has_more"]
    assert any("LIMIT" in s and "json_extract" in s for s in seen)
    assert isinstance(db.conn, sqlite3.Connection)


def test_or_groups_written_before_plain_keys_keep_their_parameters(db):
    db.create_document("t", {"a": 0, "b": "x"})
    db.create_document("t", {"a": 5, "b": "y"})
    filters = {"[or:g]a": 0, "[or:g]b_contains": "Y", "a_lte": "4"}
    assert [d["b"] for d in db.query("t", **filters)["data"]] == ["x"]

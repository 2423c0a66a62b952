"""Generation B `query_documents` conditions ($ operators) on real SQLite against a plain-Python reference."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cocobase_db_props import MISSING, STORED, TOKENS, ref_cmp, ref_eq

from studio.runtime.worker.cocobase_db import Database

FIELDS = ["a", "tags"]
WORDS = ["ab", "AB", "b", "x5", "5", ""]
DOCS = st.lists(
    st.fixed_dictionaries({}, optional={"a": STORED, "tags": st.lists(st.sampled_from(WORDS), max_size=3)}),
    max_size=10,
)
PATTERNS = ["a%", "%b", "_b", "%", "A_", "x%", "%5"]


def like(pattern: str, value, case_sensitive: bool) -> bool:
    if not isinstance(value, str):
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (0 if case_sensitive else re.IGNORECASE)) is not None


def ref(doc: dict, field: str, op: str, value) -> bool:
    stored = doc.get(field, MISSING)
    if op == "$eq":
        return ref_eq(stored, value)
    if op == "$ne":
        return not ref_eq(stored, value)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return ref_cmp(stored, value, op[1:])
    if op == "$in":
        return any(ref_eq(stored, v) for v in value)
    if op == "$nin":
        return not any(ref_eq(stored, v) for v in value)
    if op == "$exists":
        return (stored is not MISSING and stored is not None) == value
    if op in ("$like", "$ilike"):
        return like(value, stored, op == "$like")
    if op == "$regex":
        return isinstance(stored, str) and re.search(value, stored) is not None
    if op == "$contains":
        if isinstance(stored, list):
            return value in stored
        return isinstance(stored, str) and value in stored
    raise AssertionError(op)


def op_value(op: str):
    if op in ("$in", "$nin"):
        return st.lists(st.sampled_from([t for t in TOKENS if t]), max_size=3)
    if op == "$exists":
        return st.booleans()
    if op in ("$like", "$ilike"):
        return st.sampled_from(PATTERNS)
    if op == "$regex":
        return st.sampled_from(["^a", "b$", "[0-9]", "A|x", "."])
    if op == "$contains":
        return st.sampled_from(WORDS[:-1])
    return st.one_of(st.sampled_from(TOKENS), st.integers(-3, 6), st.booleans())


OPS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$like", "$ilike", "$regex", "$contains"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(str(tmp_path_factory.mktemp("cbm") / "cocobase.db"))
    yield database
    database.close()


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_condition_agrees_with_the_reference(db, op, data):
    docs = data.draw(DOCS)
    field = "tags" if op == "$contains" and data.draw(st.booleans()) else "a"
    value = data.draw(op_value(op))
    db.conn.execute("DELETE FROM documents")
    ids = [db.create_document("items", doc)["id"] for doc in docs]
    expected = [i for i, doc in zip(ids, docs, strict=True) if ref(doc, field, op, value)]
    got = [d["id"] for d in db.query_documents("items", {field: {op: value}})]
    assert got == expected, (field, op, value)

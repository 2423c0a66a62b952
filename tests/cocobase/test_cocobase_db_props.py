"""The CocoBase `db` filters on real SQLite against a plain-Python reference, for every operator.

The reference below re-implements the documented semantics (cocobase_db module docstring) on
Python values; hypothesis generates random documents and filters and both must agree.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.runtime.worker.cocobase_db import Database

FIELDS = ["a", "b", "name"]
TOKENS = ["5", "-2", "3.5", "0", "abc", "Abc", "ABC d", "bcd", "true", "False", "", "x5", "é", "É"]
STORED = st.one_of(
    st.integers(-3, 6), st.sampled_from([3.5, -2.0, 0.5]), st.booleans(), st.none(), st.sampled_from(TOKENS)
)
OPS = ["", "_eq", "_ne", "_gt", "_gte", "_lt", "_lte", "_contains", "_startswith", "_endswith", "_in", "_notin", "_isnull"]
MISSING = object()


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def num_of(text):
    if re.fullmatch(r"\s*[+-]?\d+(\.\d+)?\s*", text):
        return float(text)
    return None


def ref_eq(stored, fv):
    if fv is None:
        return stored is MISSING or stored is None
    if isinstance(fv, bool):
        return isinstance(stored, bool) and stored == fv
    if is_num(fv):
        return is_num(stored) and stored == fv
    if isinstance(stored, str) and stored == fv:
        return True
    n = num_of(fv)
    if n is not None and is_num(stored) and stored == n:
        return True
    word = fv.strip().lower()
    return word in ("true", "false") and isinstance(stored, bool) and stored == (word == "true")


def ref_cmp(stored, fv, op):
    test = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}[op]
    if is_num(fv):
        return is_num(stored) and test(stored, fv)
    if isinstance(stored, str) and isinstance(fv, str):
        return test(stored, fv)
    n = num_of(fv) if isinstance(fv, str) else None
    return n is not None and is_num(stored) and test(stored, n)


def ref_match(doc, field, op, fv):
    stored = doc.get(field, MISSING)
    if op in ("eq", "ne"):
        hit = ref_eq(stored, fv)
        return hit if op == "eq" else not hit
    if op in ("gt", "gte", "lt", "lte"):
        return ref_cmp(stored, fv, op)
    if op in ("contains", "startswith", "endswith"):
        if not isinstance(stored, str):
            return False
        s, n = stored.lower(), str(fv).lower()
        return {"contains": n in s, "startswith": s.startswith(n), "endswith": s.endswith(n)}[op]
    if op in ("in", "notin"):
        items = [i.strip() for i in fv.split(",")] if fv != "" else []
        hit = any(ref_eq(stored, item) for item in items)
        return hit if op == "in" else not hit
    if op == "isnull":
        null = stored is MISSING or stored is None
        return null if fv.lower() == "true" else not null
    raise AssertionError(op)


def split_key(key):
    group = None
    m = re.match(r"^\[or(?::(\w+))?\](.*)$", key)
    if m:
        group, key = m.group(1) or "", m.group(2)
        key = re.sub(r"_\d+$", "", key)
    for op in sorted(OPS, key=len, reverse=True):
        if op and key.endswith(op):
            return group, key[: -len(op)], op[1:]
    return group, key, "eq"


def ref_filter(docs, filters):
    out = []
    for doc in docs:
        groups: dict = {}
        ok = True
        for key, fv in filters.items():
            group, field, op = split_key(key)
            hit = ref_match(doc, field, op, fv)
            if group is None:
                ok = ok and hit
            else:
                groups[group] = groups.get(group, False) or hit
        if ok and all(groups.values()):
            out.append(doc)
    return out


documents = st.lists(
    st.fixed_dictionaries({}, optional={f: STORED for f in FIELDS}), min_size=0, max_size=12
)


def filter_value(op):
    if op == "_isnull":
        return st.sampled_from(["true", "false", "True"])
    if op in ("_in", "_notin"):
        return st.lists(st.sampled_from([t for t in TOKENS if t]), min_size=0, max_size=3).map(",".join)
    if op in ("", "_eq", "_ne", "_gt", "_gte", "_lt", "_lte"):
        return st.one_of(st.sampled_from(TOKENS), st.integers(-3, 6), st.booleans(), st.none())
    return st.sampled_from(TOKENS)


@st.composite
def filter_sets(draw):
    filters = {}
    for i in range(draw(st.integers(1, 4))):
        field, op = draw(st.sampled_from(FIELDS)), draw(st.sampled_from(OPS))
        if op in ("_gt", "_gte", "_lt", "_lte", "_ne", "_eq", "") and draw(st.booleans()):
            pass
        prefix = draw(st.sampled_from(["", "", "[or]", "[or:g2]"]))
        key = f"{prefix}{field}{op}" + (f"_{i + 2}" if prefix and draw(st.booleans()) else "")
        filters[key] = draw(filter_value(op))
    return filters


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(str(tmp_path_factory.mktemp("cb") / "cocobase.db"))
    yield database
    database.close()


def load(db, docs):
    db.conn.execute("DELETE FROM documents")
    for doc in docs:
        db.create_document("things", doc)
    return [{"id": r["id"], **doc} for r, doc in zip(db.query("things", limit=1000)["data"], docs, strict=True)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents, filters=filter_sets())
def test_filters_agree_with_the_reference(db, docs, filters):
    stored = load(db, docs)
    expected = [d["id"] for d in ref_filter(stored, filters)]
    got = db.query("things", limit=1000, **filters)
    assert [d["id"] for d in got["data"]] == expected, filters
    assert got["total"] == len(expected)
    assert db.count_documents("things", **filters) == len(expected)


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_each_operator_alone(db, op, data):
    docs = data.draw(documents)
    field = data.draw(st.sampled_from(FIELDS))
    value = data.draw(filter_value(op))
    stored = load(db, docs)
    expected = [d["id"] for d in stored if ref_match(d, field, op.lstrip("_") or "eq", value)]
    assert [d["id"] for d in db.query("things", limit=1000, **{f"{field}{op}": value})["data"]] == expected


def sort_key(doc, field):
    v = doc.get(field, MISSING)
    if v is MISSING or v is None:
        return (0, 0)
    if isinstance(v, (int, float)):  # bools sort as 0/1, like json_extract
        return (1, float(v))
    return (2, v)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents, field=st.sampled_from(FIELDS), order=st.sampled_from(["asc", "desc"]),
       limit=st.integers(0, 5), offset=st.integers(0, 6))
def test_sort_and_pagination_agree(db, docs, field, order, limit, offset):
    stored = load(db, docs)
    ranked = [d for _, d in sorted(((sort_key(d, field), i), d) for i, d in enumerate(stored))]
    if order == "desc":
        ranked.reverse()
    page = db.query("things", sort=field, order=order, limit=limit, offset=offset)
    assert [d["id"] for d in page["data"]] == [d["id"] for d in ranked[offset: offset + limit]]
    assert page["total"] == len(stored)
    assert page["has_more"] == (offset + len(page["data"]) < len(stored))

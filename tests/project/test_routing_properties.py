"""Property tests for the EdgeOne route order and RouteTable.match (RUNTIME_SPEC.md §2.3).

Projects are generated from a small alphabet of folder and file names so that routes overlap a
lot (prefixes, shadowing, same-length ties). `RouteTable.match` (dict lookups for static routes,
precompiled rounds) is checked against a literal reading of the spec: a linear scan of the
ordered routes, round by round.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from studio.project.model import Route
from studio.project.routing import (
    ALL_METHODS,
    Match,
    NoMatch,
    RouteTable,
    edgeone_order_key,
    edgeone_route_shape,
    sort_routes,
)

STATIC = ["api", "users", "a", "b", "ab", "index", "v1"]
DYNAMIC = ["[id]", "[name]"]
CATCH_ALL = ["[[rest]]", "[[default]]"]
KINDS = ["handler-class", "http-function", "wsgi", "asgi"]


@st.composite
def route_files(draw) -> str:
    depth = draw(st.integers(0, 3))
    folders = [draw(st.sampled_from(STATIC + DYNAMIC)) for _ in range(depth)]
    leaf = draw(st.sampled_from(STATIC + DYNAMIC + CATCH_ALL))
    return "/".join([*folders, leaf]) + ".py"


@st.composite
def routes(draw) -> Route:
    rel = draw(route_files())
    kind = draw(st.sampled_from(KINDS))
    methods: tuple[str, ...] = ()
    if kind == "handler-class":
        chosen = draw(st.sets(st.sampled_from(ALL_METHODS[:4]), min_size=1, max_size=3))
        methods = tuple(m for m in ALL_METHODS if m in chosen)
    shape = edgeone_route_shape(rel)
    return Route(
        path=shape.path, src=shape.src, function_id=f"cloud-functions/{rel[:-3]}",
        file=f"cloud-functions/{rel}", platform="edgeone", kind=kind, methods=methods,
        params=shape.params, catch_all=shape.catch_all, is_framework=kind in ("wsgi", "asgi"),
    )


def unique_by_file(items: list[Route]) -> list[Route]:
    seen: dict[str, Route] = {}
    for r in items:
        seen.setdefault(r.file, r)
    return list(seen.values())


route_sets = st.lists(routes(), min_size=1, max_size=12).map(unique_by_file)
request_paths = st.lists(
    st.sampled_from(STATIC + ["42", "x", "", "rest"]), min_size=0, max_size=5
).map(lambda segs: "/" + "/".join(segs))
methods = st.sampled_from(list(ALL_METHODS[:5]))


def reference_match(ordered: list[Route], method: str, path: str):
    """The spec, read literally: strip trailing slashes, three rounds over the ordered list."""
    path = path.rstrip("/") or "/"
    rounds = [
        (1, [(r, r.src) for r in ordered if not r.catch_all]),
        (2, [(r, r.src[:-1] + "(?:/.*)?$") for r in ordered if not r.catch_all and r.kind in ("wsgi", "asgi")]),
        (3, [(r, r.src) for r in ordered if r.catch_all]),
    ]
    allowed: set[str] = set()
    any_path = False
    for number, candidates in rounds:
        for route, pattern in candidates:
            m = re.match(pattern, path)
            if not m:
                continue
            if not route.methods or method in route.methods:
                return route, number, dict(zip(route.params, m.groups(), strict=False))
            any_path = True
            allowed |= set(route.methods)
    if any_path:
        return 405, tuple(m for m in ALL_METHODS if m in allowed)
    for route in ordered:  # EO-ROOT-FRAMEWORK: an unmatched path goes to a root app, flagged
        if route.path == "/" and route.kind in ("wsgi", "asgi"):
            return route, 2, {}
    return 404, ()


@settings(max_examples=75, deadline=None)
@given(route_sets, st.randoms(use_true_random=False))
def test_order_is_independent_of_input_order(items: list[Route], rnd) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert sort_routes(shuffled) == sort_routes(items)
    assert RouteTable(shuffled).routes == RouteTable(items).routes


@settings(max_examples=75, deadline=None)
@given(route_sets)
def test_order_is_the_documented_total_order(items: list[Route]) -> None:
    ordered = sort_routes(items)
    keys = [edgeone_order_key(r) for r in ordered]
    assert len(set(keys)) == len(keys)  # total: no two routes tie
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        # static before dynamic; non-catch-all before catch-all; then longer path first.
        assert (bool(earlier.params), earlier.catch_all) <= (bool(later.params), later.catch_all)
        if (bool(earlier.params), earlier.catch_all) == (bool(later.params), later.catch_all):
            assert len(earlier.path) >= len(later.path)


@settings(max_examples=250, deadline=None)
@given(route_sets, methods, request_paths)
def test_match_agrees_with_a_literal_reading_of_the_spec(items: list[Route], method: str, path: str) -> None:
    table = RouteTable(items)
    expected = reference_match(list(table.routes), method, path)
    got = table.match(method, path)
    if isinstance(got, Match):
        assert (got.route, got.round, dict(got.params)) == expected
        # The root-app fallback is flagged exactly when the root route's own patterns missed.
        root_missed = not re.match(got.route.src, got.path)
        assert got.root_framework == (got.round == 2 and got.route.path == "/" and root_missed)
    else:
        assert (got.status, got.allowed) == expected


@settings(max_examples=75, deadline=None)
@given(route_sets)
def test_static_route_path_hits_itself_or_an_earlier_static_route(items: list[Route]) -> None:
    table = RouteTable(items)
    order = {r.file: i for i, r in enumerate(table.routes)}
    for route in table.routes:
        if route.params:
            continue
        method = route.methods[0] if route.methods else "GET"
        got = table.match(method, route.path)
        assert isinstance(got, Match)
        assert not got.route.params and got.round == 1
        assert order[got.route.file] <= order[route.file]


@settings(max_examples=75, deadline=None)
@given(route_sets, methods, request_paths)
def test_catch_all_never_wins_over_a_matching_non_catch_all(items: list[Route], method: str, path: str) -> None:
    table = RouteTable(items)
    got = table.match(method, path)
    if isinstance(got, Match) and got.route.catch_all:
        norm = path.rstrip("/") or "/"
        for r in table.routes:
            if r.catch_all or (r.methods and method not in r.methods):
                continue
            assert not re.match(r.src, norm)
            if r.kind in ("wsgi", "asgi"):
                assert not re.match(r.src[:-1] + "(?:/.*)?$", norm)


@settings(max_examples=75, deadline=None)
@given(route_sets, methods, request_paths)
def test_405_only_when_some_route_matched_the_path(items: list[Route], method: str, path: str) -> None:
    table = RouteTable(items)
    got = table.match(method, path)
    any_method = [table.match(m, path) for m in ALL_METHODS]
    if isinstance(got, NoMatch) and got.status == 405:
        assert got.allowed and method not in got.allowed
        for allowed in got.allowed:
            assert isinstance(table.match(allowed, path), Match)
    if all(isinstance(r, NoMatch) for r in any_method):
        # Nothing answers any method: then no route matched the path at all, so it is a 404,
        # unless a handler class declares none of the standard methods (impossible here).
        assert got.status in (404, 405)
    if isinstance(got, NoMatch) and got.status == 404:
        assert all(isinstance(r, NoMatch) and r.status == 404 for r in any_method)


@settings(max_examples=75, deadline=None)
@given(route_sets, methods, request_paths, st.integers(1, 3))
def test_trailing_slashes_do_not_change_the_match(items: list[Route], method: str, path: str, n: int) -> None:
    table = RouteTable(items)
    assert table.match(method, path) == table.match(method, path + "/" * n)


@settings(max_examples=75, deadline=None)
@given(route_sets, methods, request_paths)
def test_shadowed_target_is_an_exact_dynamic_match(items: list[Route], method: str, path: str) -> None:
    table = RouteTable(items)
    got = table.match(method, path)
    if isinstance(got, Match) and got.shadowed is not None:
        assert not got.route.params and got.path != got.route.path
        assert got.shadowed.params and re.match(got.shadowed.src, got.path)
    if isinstance(got, Match) and got.catchall_empty:
        assert got.round == 3 and not list(got.params.values())[-1]

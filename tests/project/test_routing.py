"""EdgeOne file routes, the platform's order and RouteTable.match (RUNTIME_SPEC.md §2.3, §2.8)."""

from __future__ import annotations

import random

import pytest

from studio.project.model import Route
from studio.project.routing import (
    Match,
    NoMatch,
    RouteTable,
    edgeone_route_shape,
    sort_routes,
    template_src,
)


def eo(rel: str, kind: str = "http-function", methods: tuple[str, ...] = ()) -> Route:
    """An EdgeOne route for `cloud-functions/<rel>`, as discovery builds it."""
    shape = edgeone_route_shape(rel)
    return Route(
        path=shape.path,
        src=shape.src,
        function_id=f"cloud-functions/{rel[:-3]}",
        file=f"cloud-functions/{rel}",
        platform="edgeone",
        kind=kind,
        methods=methods,
        params=shape.params,
        catch_all=shape.catch_all,
        is_framework=kind in ("wsgi", "asgi"),
    )


def platform_route(platform: str, path: str, methods: tuple[str, ...] = (), name: str = "fn") -> Route:
    src, params = template_src(path)
    return Route(
        path=path, src=src, function_id=name, file=f"{name}/index.py", platform=platform,
        kind="scf-event" if platform == "scf" else "cocobase", methods=methods, params=params,
    )


def matched(table: RouteTable, method: str, path: str) -> Match:
    result = table.match(method, path)
    assert isinstance(result, Match), f"{method} {path}: {result}"
    return result


# --- file path -> route: the spec's table ------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "path", "src", "params", "catch_all"),
    [
        ("index.py", "/", r"^/(?:/.*)?$", (), False),
        ("api/index.py", "/api", r"^/api(?:/.*)?$", (), False),
        ("api/hello.py", "/api/hello", r"^/api/hello(?:/.*)?$", (), False),
        ("api/users/[id].py", "/api/users/:id", r"^/api/users/([^/]+)$", ("id",), False),
        ("api/[a]/[b].py", "/api/:a/:b", r"^/api/([^/]+)/([^/]+)$", ("a", "b"), False),
        ("api/[[default]].py", "/api/:default*", r"^/api(?:/(.*))?$", ("default",), True),
        ("[[default]].py", "/:default*", r"^(?:/(.*))?$", ("default",), True),
        ("[id].py", "/:id", r"^/([^/]+)$", ("id",), False),
        ("users/[id]/index.py", "/users/:id", r"^/users/([^/]+)$", ("id",), False),
        ("shop/[category]/items/[item].py", "/shop/:category/items/:item",
         r"^/shop/([^/]+)/items/([^/]+)$", ("category", "item"), False),
        ("v1.0/ping.py", "/v1.0/ping", r"^/v1\.0/ping(?:/.*)?$", (), False),
    ],
)
def test_file_to_route(rel, path, src, params, catch_all) -> None:
    shape = edgeone_route_shape(rel)
    assert (shape.path, shape.src, shape.params, shape.catch_all) == (path, src, params, catch_all)


def test_template_src_for_platform_paths() -> None:
    assert template_src("/users/{id}") == (r"^/users/([^/]+)$", ("id",))
    assert template_src("/functions/send-otp/execute") == (r"^/functions/send\-otp/execute$", ())
    assert template_src("/") == ("^/$", ())


# --- order ------------------------------------------------------------------------------------


SHOWCASE = [
    "index.py", "api/index.py", "api/hello.py", "api/users/index.py", "api/users/[id].py",
    "api/[a]/[b].py", "api/[[default]].py", "[[default]].py", "about.py", "api/users/[id]/posts.py",
]


def test_order_static_dynamic_catch_all_then_length_then_scan_order() -> None:
    ordered = [r.path for r in sort_routes(eo(rel) for rel in SHOWCASE)]
    assert ordered == [
        # static, longer path first; equal lengths in scan order (api/hello.py before api/users/)
        "/api/hello", "/api/users", "/about", "/api", "/",
        # dynamic, non-catch-all
        "/api/users/:id/posts", "/api/users/:id", "/api/:a/:b",
        # catch-all
        "/api/:default*", "/:default*",
    ]


def test_ties_follow_the_alphabetical_scan_order() -> None:
    # Same length, both static: the folder walk order decides (`a/x` before `b`... by segments).
    routes = [eo("zz.py"), eo("ab.py"), eo("b/c.py"), eo("a/c.py")]
    assert [r.file for r in sort_routes(routes)] == [
        "cloud-functions/a/c.py", "cloud-functions/b/c.py", "cloud-functions/ab.py", "cloud-functions/zz.py",
    ]


def test_order_does_not_depend_on_input_order() -> None:
    routes = [eo(rel) for rel in SHOWCASE]
    expected = sort_routes(routes)
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(routes)
        assert sort_routes(routes) == expected


def test_platform_routes_come_first_in_table_order() -> None:
    table = RouteTable([eo("[[default]].py"), platform_route("cocobase", "/functions/a/execute")])
    assert [r.platform for r in table.routes] == ["cocobase", "edgeone"]


# --- matching: the spec's examples ---------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable(eo(rel) for rel in SHOWCASE)


def test_static_routes_are_prefix_matches(table: RouteTable) -> None:
    m = matched(table, "GET", "/api/hello/x/y")
    assert m.route.path == "/api/hello" and m.round == 1 and m.params == {}


def test_static_index_shadows_dynamic_sibling(table: RouteTable) -> None:
    m = matched(table, "GET", "/api/users/42")
    assert m.route.file == "cloud-functions/api/users/index.py"
    # ... and the runtime is told which route the docs say should have answered.
    assert m.shadowed is not None and m.shadowed.path == "/api/users/:id"


def test_exact_static_hit_is_not_shadowing(table: RouteTable) -> None:
    m = matched(table, "GET", "/api/users")
    assert m.route.path == "/api/users" and m.shadowed is None


def test_api_index_captures_unclaimed_api_paths(table: RouteTable) -> None:
    m = matched(table, "GET", "/api/x/y/z")
    assert m.route.path == "/api"
    assert m.shadowed is not None and m.shadowed.path == "/api/:default*"
    two = matched(table, "GET", "/api/x/y")
    assert two.route.path == "/api" and two.shadowed.path == "/api/:a/:b"


def test_dynamic_route_params_without_statics() -> None:
    t = RouteTable([eo("api/users/[id].py"), eo("api/[a]/[b].py"), eo("shop/[c]/items/[i].py")])
    assert matched(t, "GET", "/api/users/42").params == {"id": "42"}
    assert matched(t, "GET", "/api/x/y").params == {"a": "x", "b": "y"}
    assert matched(t, "GET", "/shop/books/items/7").params == {"c": "books", "i": "7"}
    assert isinstance(t.match("GET", "/api/users/42/more"), NoMatch)  # not a prefix match


def test_catch_all_matches_zero_segments() -> None:
    t = RouteTable([eo("api/[[default]].py", "wsgi")])
    m = matched(t, "GET", "/api")
    assert m.round == 3 and m.catchall_empty and m.params == {"default": None}
    deep = matched(t, "GET", "/api/a/b")
    assert deep.params == {"default": "a/b"} and not deep.catchall_empty
    assert isinstance(t.match("GET", "/apix"), NoMatch)


def test_root_catch_all_and_empty_root() -> None:
    t = RouteTable([eo("[[default]].py")])
    assert matched(t, "GET", "/").catchall_empty
    assert matched(t, "GET", "/anything/at/all").params == {"default": "anything/at/all"}


def test_root_index_matches_only_root_in_round_one() -> None:
    t = RouteTable([eo("index.py")])
    assert matched(t, "GET", "/").route.path == "/"
    assert t.match("GET", "/health") == NoMatch(404, (), "/health")


def test_root_framework_app_answers_only_root() -> None:
    # EO-ROOT-FRAMEWORK: the adapter's root special case never fires, so production answers 404
    # for `/health`. The table hands such requests to the app, flagged, only when nothing else
    # matched, so the runtime can warn (and forward under quirks = "fixed").
    t = RouteTable([eo("index.py", "wsgi"), eo("api/[[rest]].py"), eo("users/[id].py", "handler-class", ("GET",))])
    root = matched(t, "GET", "/")
    assert root.round == 1 and not root.root_framework
    fallback = matched(t, "GET", "/health")
    assert fallback.root_framework and fallback.route.path == "/" and fallback.round == 2
    assert fallback.strip_prefix == ""
    assert matched(t, "GET", "/api/x").route.path == "/api/:rest*"  # real matches still win
    assert t.match("POST", "/users/1") == NoMatch(405, ("GET",), "/users/1")  # and 405 stays 405
    # A root handler (not a framework) gets no such fallback.
    assert t.match("GET", "/x") != NoMatch(404, (), "/x")
    assert RouteTable([eo("index.py")]).match("GET", "/x") == NoMatch(404, (), "/x")


def test_round_two_prefix_form_only_for_wsgi_and_asgi() -> None:
    handler = RouteTable([eo("api/[id].py")])
    assert isinstance(handler.match("GET", "/api/42/deeper"), NoMatch)
    for kind in ("wsgi", "asgi"):
        app = RouteTable([eo("api/[id].py", kind)])
        m = matched(app, "GET", "/api/42/deeper")
        assert m.round == 2 and m.params == {"id": "42"}
        assert m.strip_prefix is None  # ordinary dynamic routes are not prefix-stripped
        assert matched(app, "GET", "/api/42").round == 1


def test_round_order_non_catch_all_prefix_beats_catch_all() -> None:
    t = RouteTable([eo("[[default]].py"), eo("api/[id].py", "asgi")])
    assert matched(t, "GET", "/api/1/x").route.path == "/api/:id"
    assert matched(t, "GET", "/other").route.path == "/:default*"


def test_trailing_slash_is_stripped_for_matching_only() -> None:
    t = RouteTable([eo("api/users/[id].py"), eo("api/hello.py")])
    m = matched(t, "GET", "/api/users/42/")
    assert m.params == {"id": "42"} and m.path == "/api/users/42"
    assert matched(t, "GET", "/api/hello//").route.path == "/api/hello"


# --- methods: 404 vs 405 ---------------------------------------------------------------------


def test_method_filter_and_405_with_allowed_methods() -> None:
    t = RouteTable([eo("api/hello.py", "handler-class", ("GET", "POST"))])
    assert matched(t, "post", "/api/hello").route.path == "/api/hello"
    assert t.match("DELETE", "/api/hello") == NoMatch(405, ("GET", "POST"), "/api/hello")
    assert t.match("DELETE", "/nothing") == NoMatch(404, (), "/nothing")


def test_method_mismatch_falls_through_to_later_routes() -> None:
    t = RouteTable([eo("api/users/index.py", "handler-class", ("GET",)), eo("api/users/[id].py")])
    assert matched(t, "GET", "/api/users/9").route.path == "/api/users"
    m = matched(t, "DELETE", "/api/users/9")
    assert m.route.path == "/api/users/:id" and m.params == {"id": "9"}


def test_405_lists_methods_of_every_path_match() -> None:
    t = RouteTable([
        eo("api/users/index.py", "handler-class", ("GET",)),
        eo("api/users/[id].py", "handler-class", ("PUT", "DELETE")),
    ])
    assert t.match("PATCH", "/api/users/1") == NoMatch(405, ("GET", "PUT", "DELETE"), "/api/users/1")


# --- framework prefix (§2.8) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "request_path", "prefix"),
    [
        ("py.py", "/py/health", "/py"),
        ("api/[[default]].py", "/api/health", "/api"),
        ("[[default]].py", "/health", ""),
        ("index.py", "/", ""),
        ("flask-api/index.py", "/flask-api/x", "/flask-api"),
    ],
)
def test_strip_prefix_for_framework_routes(rel, request_path, prefix) -> None:
    m = matched(RouteTable([eo(rel, "wsgi")]), "GET", request_path)
    assert m.strip_prefix == prefix


def test_handlers_get_no_prefix() -> None:
    assert matched(RouteTable([eo("py.py")]), "GET", "/py/x").strip_prefix is None


# --- platform endpoints (SCF, CocoBase) --------------------------------------------------------


def test_cocobase_endpoints_win_over_edgeone_catch_all() -> None:
    t = RouteTable([
        eo("[[default]].py", "wsgi"),
        platform_route("cocobase", "/functions/send-otp/execute", ("GET", "POST"), "cocobase/send-otp"),
        platform_route("cocobase", "/functions/local-project/func/send-otp", ("GET", "POST"), "cocobase/send-otp"),
    ])
    m = matched(t, "POST", "/functions/send-otp/execute")
    assert (m.function_id, m.round, m.params) == ("cocobase/send-otp", 0, {})
    assert matched(t, "GET", "/functions/local-project/func/send-otp/").round == 0
    # A method the endpoint lacks falls through to EdgeOne, which takes every method here.
    assert matched(t, "PUT", "/functions/send-otp/execute").route.platform == "edgeone"


def test_platform_endpoint_405() -> None:
    t = RouteTable([platform_route("cocobase", "/functions/a/execute", ("GET", "POST"))])
    assert t.match("DELETE", "/functions/a/execute") == NoMatch(405, ("GET", "POST"), "/functions/a/execute")


def test_scf_templates_methods_and_any() -> None:
    t = RouteTable([
        platform_route("scf", "/users/{id}", ("GET",), "users"),
        platform_route("scf", "/hello", ("ANY",), "hello"),
        platform_route("scf", "/orders", (), "orders"),
    ])
    m = matched(t, "GET", "/users/42")
    assert (m.function_id, m.params) == ("users", {"id": "42"})
    assert t.match("POST", "/users/42") == NoMatch(405, ("GET",), "/users/42")
    assert matched(t, "PATCH", "/hello").function_id == "hello"
    assert matched(t, "DELETE", "/orders").function_id == "orders"
    assert isinstance(t.match("GET", "/users/42/x"), NoMatch)  # API Gateway paths are exact
    assert isinstance(t.match("GET", "/hello/x"), NoMatch)


def test_table_iterates_in_match_order() -> None:
    t = RouteTable(eo(rel) for rel in SHOWCASE)
    assert list(t) == list(t.routes) and len(t) == len(SHOWCASE)

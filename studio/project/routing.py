"""Routes: EdgeOne file path -> route, the platform's route order, and request matching.

EdgeOne rules are RUNTIME_SPEC.md §2.3 and §2.8. In short:

* `index.py` -> `/`, `api/hello.py` -> `/api/hello` (static: a *prefix* match),
  `api/users/[id].py` -> `/api/users/:id`, `api/[[default]].py` -> `/api/:default*` (catch-all,
  which also matches zero segments);
* order: static before dynamic, non-catch-all before catch-all, longer path first, then the
  alphabetical scan order;
* matching strips trailing slashes, then runs three rounds in route order: (1) non-catch-all by
  `src`, (2) non-catch-all by prefix form, WSGI/ASGI routes only, (3) catch-all by `src`. A route
  whose method list lacks the request method is skipped; a path that matched only such routes
  gives 405, no match 404.

`RouteTable` also holds the exact endpoints of the other platforms (SCF API Gateway paths,
CocoBase `/functions/<name>/execute`), matched before the EdgeOne rounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from studio.project.model import Route

ALL_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
"""The methods the EdgeOne Flask dispatcher accepts, and the order `Allow` lists them in."""

_DYNAMIC = re.compile(r"^\[([^\[\]/]+)\]$")
_CATCH_ALL = re.compile(r"^\[\[([^\[\]/]+)\]\]$")
_TEMPLATE_PARAM = re.compile(r"^\{([^{}/]+)\}$")


# --- file path -> route -----------------------------------------------------------------------


@dataclass(frozen=True)
class RouteShape:
    """The path-derived part of an EdgeOne route record."""

    path: str
    src: str
    params: tuple[str, ...] = ()
    catch_all: bool = False


def edgeone_route_shape(rel: str) -> RouteShape:
    """The route of a file, given its path relative to `cloud-functions/` (`api/users/[id].py`).

    `index` as the last segment is dropped. A `[name]` segment matches one path segment, a
    `[[name]]` segment zero or more. Static routes get the prefix form `(?:/.*)?$`; the literal
    parts are regex-escaped (a file `v1.0.py` matches only `/v1.0`).
    """
    stem = rel[:-3] if rel.endswith(".py") else rel
    segments = [s for s in stem.split("/") if s]
    if segments and segments[-1] == "index":
        segments.pop()
    shown: list[str] = []
    pattern: list[str] = []
    params: list[str] = []
    catch_all = False
    for seg in segments:
        m = _CATCH_ALL.match(seg)
        if m:
            catch_all = True
            params.append(m.group(1))
            shown.append(f":{m.group(1)}*")
            pattern.append("(?:/(.*))?")
            continue
        m = _DYNAMIC.match(seg)
        if m:
            params.append(m.group(1))
            shown.append(f":{m.group(1)}")
            pattern.append("/([^/]+)")
            continue
        shown.append(seg)
        pattern.append("/" + re.escape(seg))
    path = "/" + "/".join(shown)
    if not params:
        return RouteShape(path=path, src="^" + "".join(pattern or ["/"]) + "(?:/.*)?$")
    return RouteShape(path=path, src="^" + "".join(pattern) + "$", params=tuple(params), catch_all=catch_all)


def template_src(path: str) -> tuple[str, tuple[str, ...]]:
    """Regex and param names for an exact platform path template (`/users/{id}`).

    Used for SCF API Gateway paths and CocoBase endpoints: `{name}` matches one segment,
    everything else literally.
    """
    params: list[str] = []
    parts: list[str] = []
    for seg in path.strip("/").split("/"):
        if not seg:
            continue
        m = _TEMPLATE_PARAM.match(seg)
        if m:
            params.append(m.group(1))
            parts.append("/([^/]+)")
        else:
            parts.append("/" + re.escape(seg))
    return "^" + ("".join(parts) or "/") + "$", tuple(params)


# --- order ------------------------------------------------------------------------------------


def edgeone_order_key(route: Route) -> tuple:
    """The platform's sort key: static first, non-catch-all first, longer path first, then the
    scan order (entries sorted by name in each folder, depth first = tuple order of segments)."""
    return (
        bool(route.params),
        route.catch_all,
        -len(route.path),
        tuple(route.file.split("/")),
        route.function_id,
        route.path,
    )


def sort_routes(routes: Iterable[Route]) -> list[Route]:
    """Routes in match order: platform endpoints first (their order kept), then EdgeOne."""
    routes = list(routes)
    platform = [r for r in routes if r.platform != "edgeone"]
    edgeone = sorted((r for r in routes if r.platform == "edgeone"), key=edgeone_order_key)
    return platform + edgeone


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A request resolved to a route."""

    route: Route
    params: Mapping[str, str | None]
    """Route params by name. A catch-all that matched zero segments has None (the regex group
    did not take part), as the platform's adapter passes it."""
    round: int
    """1, 2, 3: the EdgeOne round that matched (§2.3); 0: a platform endpoint (SCF, CocoBase)."""
    path: str
    """The path as matched: the request path without trailing slashes."""
    shadowed: Route | None = None
    """EO-STATIC-SHADOWS: a static route answered a deeper path, and this dynamic or catch-all
    route matches that path exactly (the documented target)."""
    catchall_empty: bool = False
    """EO-CATCHALL-EMPTY: a catch-all matched with nothing after its prefix."""
    root_framework: bool = False
    """EO-ROOT-FRAMEWORK: no route matched, but a framework app lives in `cloud-functions/index.py`.
    Production answers 404 here (the adapter's root special case never fires); the match hands the
    request to that app so the runtime can attach the warning and answer 404, or forward it under
    `quirks = "fixed"`."""

    @property
    def function_id(self) -> str:
        return self.route.function_id

    @property
    def strip_prefix(self) -> str | None:
        """The prefix a framework app sees removed (§2.8), or None."""
        return self.route.strip_prefix

    @property
    def status(self) -> int:
        return 200


@dataclass(frozen=True)
class NoMatch:
    status: int
    """404 (no route matched the path) or 405 (some did, none for this method)."""
    allowed: tuple[str, ...] = ()
    """For 405: the methods the path-matching routes accept."""
    path: str = ""


@dataclass(frozen=True)
class _Compiled:
    route: Route
    regex: re.Pattern[str]
    prefix: re.Pattern[str] | None
    """Round 2 form (pattern + `(?:/.*)?$`), only for WSGI/ASGI non-catch-all routes."""
    methods: frozenset[str] | None
    """None: every method."""
    catch_group: int = -1
    """Index of the catch-all param's group (for EO-CATCHALL-EMPTY)."""
    names: tuple[str, ...] = ()
    """Param names, in group order."""


def _methods(route: Route) -> frozenset[str] | None:
    methods = frozenset(m.upper() for m in route.methods)
    if not methods or "ANY" in methods:
        return None
    return methods


def _compile(route: Route) -> _Compiled:
    if route.platform == "edgeone":
        regex = re.compile(route.src)
        prefix = None
        if not route.catch_all and route.kind in ("wsgi", "asgi"):
            body = route.src[:-1] if route.src.endswith("$") else route.src
            prefix = re.compile(body + "(?:/.*)?$")
        names = route.params
    else:
        pattern, names = template_src(route.path)
        regex = re.compile(pattern)
        prefix = None
    catch_group = -1
    if route.catch_all:
        shown = [seg for seg in route.path.split("/") if seg.startswith(":")]
        starred = [i for i, seg in enumerate(shown) if seg.endswith("*")]
        catch_group = starred[0] if starred else len(route.params) - 1
    return _Compiled(route, regex, prefix, _methods(route), catch_group, names)


@dataclass
class _Seen:
    """Methods of routes whose path matched but whose method list did not (for 405)."""

    methods: set[str] = field(default_factory=set)
    any_path: bool = False

    def add(self, c: _Compiled) -> None:
        self.any_path = True
        if c.methods is not None:
            self.methods |= c.methods


class RouteTable:
    """Every HTTP route of a project, in match order, with `match(method, path)`.

    Platform endpoints (SCF API Gateway, CocoBase) are tried before the EdgeOne rounds: they are
    separate platforms with exact endpoints of their own, so an exact platform endpoint wins over
    an EdgeOne prefix or catch-all route that happens to cover the same path. They match by
    `Route.path` read as a template (`{name}` = one segment, the rest literal; `src` is only
    informative), literal paths before templated ones; `methods` empty or containing `ANY` means
    every method. EdgeOne routes match by their `src` (§2.3).
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(sort_routes(routes))
        compiled = [_compile(r) for r in self.routes]
        self._platform_exact: dict[str, list[_Compiled]] = {}
        self._platform_templated: list[_Compiled] = []
        self._static: dict[str, list[_Compiled]] = {}
        self._dynamic: dict[int, list[_Compiled]] = {}
        """Ordinary dynamic routes by segment count: `^/a/([^/]+)$` only matches paths with exactly
        as many `/` as its own path, so a request looks at one bucket (route order kept)."""
        self._prefixed: list[_Compiled] = []
        self._catch_all: list[_Compiled] = []
        for c in compiled:
            r = c.route
            if r.platform != "edgeone":
                if c.names:
                    self._platform_templated.append(c)
                else:
                    self._platform_exact.setdefault(_normalise(r.path), []).append(c)
            elif r.catch_all:
                self._catch_all.append(c)
            elif r.params:
                self._dynamic.setdefault(r.path.count("/"), []).append(c)
            else:
                self._static.setdefault(r.path, []).append(c)
            if c.prefix is not None:
                self._prefixed.append(c)
        self._root_framework: Route | None = next(
            (
                r for r in self.routes
                if r.platform == "edgeone" and r.path == "/" and not r.params and r.kind in ("wsgi", "asgi")
            ),
            None,
        )

    def __len__(self) -> int:
        return len(self.routes)

    def __iter__(self):
        return iter(self.routes)

    def match(self, method: str, path: str) -> Match | NoMatch:
        """Resolve a request. `path` is the URL path without the query string."""
        method = method.upper()
        path = _normalise(path)
        seen = _Seen()

        # Round 0: exact endpoints of the other platforms.
        for c in self._platform_exact.get(path, ()):
            if c.methods is None or method in c.methods:
                return Match(c.route, {}, 0, path)
            seen.add(c)
        for c in self._platform_templated:
            m = c.regex.match(path)
            if m:
                if c.methods is None or method in c.methods:
                    return Match(c.route, dict(zip(c.names, m.groups(), strict=False)), 0, path)
                seen.add(c)

        # Round 1: static routes (prefix matches: longest matching path first, which is their
        # order), then ordinary dynamic routes.
        for candidate in _prefixes(path):
            for c in self._static.get(candidate, ()):
                if not c.regex.match(path):
                    continue  # the root route `^/(?:/.*)?$` matches only `/` and `//...`
                if c.methods is None or method in c.methods:
                    shadowed = None
                    if path != c.route.path:
                        shadowed = self._exact_dynamic(method, path)
                    return Match(c.route, {}, 1, path, shadowed=shadowed)
                seen.add(c)
        for c in self._dynamic.get(path.count("/"), ()):
            m = c.regex.match(path)
            if m:
                if c.methods is None or method in c.methods:
                    return Match(c.route, dict(zip(c.route.params, m.groups(), strict=False)), 1, path)
                seen.add(c)

        # Round 2: prefix form, WSGI/ASGI only.
        for c in self._prefixed:
            m = c.prefix.match(path)  # type: ignore[union-attr]
            if m:
                if c.methods is None or method in c.methods:
                    return Match(c.route, dict(zip(c.route.params, m.groups(), strict=False)), 2, path)
                seen.add(c)

        # Round 3: catch-all routes.
        for c in self._catch_all:
            m = c.regex.match(path)
            if m:
                if c.methods is None or method in c.methods:
                    groups = m.groups()
                    params = dict(zip(c.route.params, groups, strict=False))
                    empty = not groups or not groups[c.catch_group]
                    return Match(c.route, params, 3, path, catchall_empty=empty)
                seen.add(c)

        if seen.any_path:
            allowed = tuple(m for m in ALL_METHODS if m in seen.methods) + tuple(
                sorted(seen.methods - set(ALL_METHODS))
            )
            return NoMatch(405, allowed, path)
        if self._root_framework is not None:
            return Match(self._root_framework, {}, 2, path, root_framework=True)
        return NoMatch(404, (), path)

    def _exact_dynamic(self, method: str, path: str) -> Route | None:
        """The dynamic or catch-all route that would take `path` if statics were exact."""
        for c in [*self._dynamic.get(path.count("/"), ()), *self._catch_all]:
            if c.regex.match(path) and (c.methods is None or method in c.methods):
                return c.route
        return None


def _normalise(path: str) -> str:
    """Trailing slashes are stripped for matching only; `/` stays `/`."""
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


def _prefixes(path: str) -> Iterable[str]:
    """`path` and each of its ancestors at a `/`, longest first; `/` last.

    A static route with path P matches exactly the requests equal to P or starting with `P/`,
    so these are the only static paths that can match.
    """
    yield path
    i = path.rfind("/")
    while i > 0:
        yield path[:i]
        i = path.rfind("/", 0, i)
    if path != "/" and not path.startswith("//"):
        yield "/"

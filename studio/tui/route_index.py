"""The route tree's data: a pure view of a `Project`, grouped for display and filterable.

Kept apart from the widget so it is testable without Textual and cheap to rebuild on every
keystroke of the filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

KIND_LABELS = {"http-function": "fn", "handler-class": "class", "scf-event": "scf"}


@dataclass(frozen=True)
class Entry:
    """One selectable row of the tree."""

    kind: str
    """route | function | helper | problem | inner"""
    label: str
    """What the row says (methods and path, or a name)."""
    detail: str = ""
    """Kind or framework, shown dim on the right."""
    function_id: str | None = None
    file: str | None = None
    line: int | None = None
    methods: tuple[str, ...] = ()
    path: str | None = None
    params: tuple[str, ...] = ()
    platform: str | None = None
    dynamic: bool = False
    catch_all: bool = False
    error: str | None = None
    """A load error or a conflict, shown in red."""
    children: tuple[Entry, ...] = ()

    @property
    def short_detail(self) -> str:
        """The kind as the tree shows it (`fn`, `class`, a framework name)."""
        return KIND_LABELS.get(self.detail, self.detail)

    def haystack(self) -> str:
        return " ".join(filter(None, [self.label, self.detail, self.short_detail, self.function_id, self.file,
                                      " ".join(self.methods)])).lower()


@dataclass(frozen=True)
class Section:
    title: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)
    groups: tuple[tuple[str, tuple[Entry, ...]], ...] = ()
    """EdgeOne routes grouped by their parent path."""


def _methods_label(methods: Iterable[str]) -> str:
    methods = tuple(methods)
    return ",".join(methods) if methods else "ANY"


def _parent(path: str) -> str:
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


CONFLICT_CODES = ("route-conflict", "EO-NAME-CONFLICT")


def _files_in(message: str, project) -> list[str]:
    entries = {fn.entry for fn in project.functions}
    return [word.strip(".,;:'\"") for word in message.split() if word.strip(".,;:'\"") in entries]


def _inner_entry(route, item: Mapping[str, object]) -> Entry:
    """A framework route reported by the worker (`{methods, path, name}`), shown under its file route."""
    methods = item.get("methods") or ()
    if isinstance(methods, str):
        methods = methods.split(",")
    methods = tuple(sorted(str(m).upper() for m in methods if str(m).upper() not in ("HEAD", "OPTIONS")))
    inner_path = str(item.get("path") or "/")
    prefix = route.strip_prefix or ""
    full = (prefix.rstrip("/") + inner_path) if prefix else inner_path
    return Entry(kind="inner", label=f"{_methods_label(methods)} {full}", detail=str(item.get("name") or ""),
                 function_id=route.function_id, file=route.file, methods=methods, path=full,
                 platform="edgeone", dynamic="<" in full or "{" in full)


def build_sections(project, inner_routes: Mapping[str, Iterable[Mapping[str, object]]] | None = None
                   ) -> list[Section]:
    """Turn a Project into the tree's sections: EdgeOne routes by path, SCF, CocoBase, helpers, problems."""
    inner_routes = inner_routes or {}
    conflicts: dict[str, str] = {}
    load_errors: dict[str, str] = {}
    for problem in project.problems:
        if problem.file and problem.severity == "error":
            load_errors.setdefault(problem.file, f"{problem.code}: {problem.message}")
        if problem.code in CONFLICT_CODES:
            # a conflict names both files: mark the winner and the shadowed one
            for file in {problem.file, *_files_in(problem.message, project)} - {None}:
                conflicts.setdefault(file, f"{problem.code}: {problem.message}")
    for fn in project.functions:
        if fn.load_problem is not None:
            load_errors[fn.entry] = f"{fn.load_problem.code}: {fn.load_problem.message}"

    groups: dict[str, list[Entry]] = {}
    seen_functions: set[str] = set()
    for route in project.routes:
        if route.platform != "edgeone":
            continue
        seen_functions.add(route.function_id)
        inner = tuple(_inner_entry(route, item) for item in inner_routes.get(route.function_id, ()))
        error = load_errors.get(route.file) or conflicts.get(route.file)
        entry = Entry(
            kind="route",
            label=f"{_methods_label(route.methods)} {route.path}",
            detail=route.framework or route.kind,
            function_id=route.function_id,
            file=route.file,
            methods=route.methods,
            path=route.path,
            params=route.params,
            platform="edgeone",
            dynamic=route.is_dynamic,
            catch_all=route.catch_all,
            error=error,
            children=inner,
        )
        groups.setdefault(_parent(route.path), []).append(entry)
    sections: list[Section] = []
    if groups:
        sections.append(Section("EdgeOne", groups=tuple((key, tuple(val)) for key, val in groups.items())))

    scf: list[Entry] = []
    coco: list[Entry] = []
    unrouted: list[Entry] = []
    for fn in project.functions:
        error = load_errors.get(fn.entry)
        if fn.platform == "scf":
            triggers = ",".join(t.type for t in fn.triggers) or "event"
            apigw = next((t for t in fn.triggers if t.type == "apigw" and t.path), None)
            scf.append(Entry(kind="function", label=fn.name or fn.id, detail=triggers, function_id=fn.id,
                             file=fn.entry, platform="scf", path=apigw.path if apigw else None, error=error))
        elif fn.platform == "cocobase":
            name = fn.name or fn.id.rsplit("/", 1)[-1]
            coco.append(Entry(kind="function", label=name, detail="cocobase", function_id=fn.id, file=fn.entry,
                              platform="cocobase", methods=("GET", "POST"),
                              path=f"/functions/{name}/execute", error=error))
        elif fn.id not in seen_functions:
            # an EdgeOne entry without an HTTP route (e.g. it failed to load)
            unrouted.append(Entry(kind="function", label=fn.id, detail=fn.kind, function_id=fn.id,
                                  file=fn.entry, platform=fn.platform, error=error or conflicts.get(fn.entry)))
    if unrouted:
        sections.append(Section("Unrouted", entries=tuple(unrouted)))
    if scf:
        sections.append(Section("SCF", entries=tuple(scf)))
    if coco:
        sections.append(Section("CocoBase", entries=tuple(coco)))
    if project.helpers:
        sections.append(Section("Helpers", entries=tuple(
            Entry(kind="helper", label=h, file=h) for h in project.helpers)))
    problems = [p for p in project.problems if p.severity == "error"]
    if problems:
        sections.append(Section("Problems", entries=tuple(
            Entry(kind="problem", label=f"{p.file or ''}{':' + str(p.line) if p.line else ''}", file=p.file,
                  line=p.line, error=f"{p.code}: {p.message}") for p in problems)))
    return sections


def _in_order(word: str, text: str) -> bool:
    """Every character of `word` appears in `text`, in order (`uid` in `/api/users/:id`)."""
    position = 0
    for char in word:
        position = text.find(char, position) + 1
        if position == 0:
            return False
    return True


def filter_sections(sections: list[Section], text: str) -> list[Section]:
    """Keep entries where every word of `text` is in the label, id, file, kind or methods, or, fuzzily,
    has its characters in order in the route's path or label (`uid` finds `/api/users/:id`)."""
    words = text.lower().split()
    if not words:
        return sections

    def keep(entry: Entry) -> bool:
        hay = entry.haystack() + " " + " ".join(c.haystack() for c in entry.children)
        paths = [(e.path or e.label or "").lower() for e in (entry, *entry.children)]
        return all(w in hay or any(_in_order(w, p) for p in paths) for w in words)

    result: list[Section] = []
    for section in sections:
        groups = tuple((k, tuple(e for e in v if keep(e))) for k, v in section.groups)
        groups = tuple((k, v) for k, v in groups if v)
        entries = tuple(e for e in section.entries if keep(e))
        if groups or entries:
            result.append(Section(section.title, entries=entries, groups=groups))
    return result


def all_entries(sections: list[Section]) -> list[Entry]:
    out: list[Entry] = []
    for section in sections:
        for _key, entries in section.groups:
            out.extend(entries)
        out.extend(section.entries)
    return out

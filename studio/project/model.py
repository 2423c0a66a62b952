"""What exists in a project: functions, routes, triggers and problems, as frozen values.

Everything here is pure data. Discovery (discover.py, scf.py, cocobase.py) builds these values
from files; the runtime, the store and the TUI only read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Platform = Literal["edgeone", "scf", "cocobase"]
Kind = Literal["handler-class", "http-function", "wsgi", "asgi", "scf-event", "cocobase"]
Severity = Literal["error", "warning", "info"]

PLATFORMS: tuple[str, ...] = ("edgeone", "scf", "cocobase")
KINDS: tuple[str, ...] = ("handler-class", "http-function", "wsgi", "asgi", "scf-event", "cocobase")


DOCS_PAGE = "docs/platforms.md"
"""The user's reference for every code: what production does and how to fix it."""


def doc_link(code: str) -> str | None:
    """`docs/platforms.md#eo-dict-envelope` for a parity or check code (upper-case ids), else None."""
    return f"{DOCS_PAGE}#{code.lower()}" if code[:1].isupper() else None


@dataclass(frozen=True)
class Problem:
    """Something a deploy or a request would trip over, found without running code."""

    severity: Severity
    code: str
    """Stable id: a parity id from RUNTIME_SPEC.md §6 (`EO-NAME-CONFLICT`) or a funcstudio one
    (`syntax-error`, `invalid-config`, `route-conflict`, `unreadable-file`, ...)."""
    message: str
    file: str | None = None
    """Project-relative POSIX path, when the problem belongs to a file."""
    line: int | None = None
    hint: str | None = None
    """What to do about it, in one sentence."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_mb: int | None
    """None: memory is reported, not enforced (EdgeOne, CocoBase)."""


@dataclass(frozen=True)
class Trigger:
    """An SCF trigger. Only the fields of its `type` are meaningful."""

    type: Literal["apigw", "timer", "cos", "cmq", "ckafka"]
    name: str
    enabled: bool = True
    path: str | None = None
    """apigw: the API path template, e.g. `/hello` or `/users/{id}`."""
    method: str = "ANY"
    integrated_response: bool = True
    stage: str = "release"
    cron: str | None = None
    """timer: 7-field (`sec min hour day month week year`) or legacy 5-field cron."""
    message: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    """Anything else the config gave (bucket, topic, filter ...)."""


@dataclass(frozen=True)
class Route:
    """One HTTP route, as the platform's route table holds it.

    For EdgeOne this mirrors the build's route record (`src`, `path`, `params`, `isCatchAll`,
    `method`, `isFramework`). SCF API Gateway paths and CocoBase endpoints are routes too.
    """

    path: str
    """Display form: `/api/users/:id`, `/api/:default*`, `/functions/send-otp/execute`."""
    src: str
    """The regular expression the platform matches with (`^/api/users/([^/]+)$`)."""
    function_id: str
    file: str
    """Project-relative POSIX path of the entry file."""
    platform: Platform
    kind: Kind
    framework: str | None = None
    methods: tuple[str, ...] = ()
    """Upper-case methods; empty means every method."""
    params: tuple[str, ...] = ()
    catch_all: bool = False
    is_framework: bool = False
    excluded_dir: bool = False
    """EdgeOne: the entry lies in a build-excluded folder, so production has no module behind it."""

    @property
    def is_dynamic(self) -> bool:
        return bool(self.params)

    @property
    def strip_prefix(self) -> str | None:
        """The prefix a framework app sees removed (RUNTIME_SPEC.md §2.8), or None."""
        if not self.is_framework:
            return None
        if self.catch_all:
            head = self.path.split(":", 1)[0].rstrip("/")
            return head
        if self.params:
            return None
        return "" if self.path == "/" else self.path


@dataclass(frozen=True)
class Function:
    """One deployable function: an entry file plus how the platform runs it."""

    id: str
    """Project-relative POSIX path of the entry file without `.py` (RUNTIME_SPEC.md §1)."""
    platform: Platform
    kind: Kind
    entry: str
    """Project-relative POSIX path of the entry file."""
    code_root: str
    """Project-relative folder that is the function's cwd and `sys.path` root in production
    (`cloud-functions` for EdgeOne, the SCF `src`, `cocobase` for CocoBase)."""
    limits: Limits
    framework: str | None = None
    """flask | django | fastapi | starlette | sanic | quart | bottle | cocopot | None"""
    routes: tuple[Route, ...] = ()
    methods: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    catch_all: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    """SCF: the declared function name; CocoBase: the file stem."""
    aliases: tuple[str, ...] = ()
    """Other ids this function answers to (an SCF declared name)."""
    handler: str | None = None
    """SCF: `file.function`, e.g. `index.main_handler`."""
    runtime: str | None = None
    """SCF: the configured runtime string, e.g. `Python3.10`."""
    region: str | None = None
    """SCF: the region its declaration names (`inputs.region`), or None for the `[scf] region` default."""
    namespace: str = "default"
    triggers: tuple[Trigger, ...] = ()
    load_problem: Problem | None = None
    """Set when the entry cannot be loaded as found (syntax error, unreadable)."""


@dataclass(frozen=True)
class NotRun:
    """A function the project declares that funcstudio lists but does not run (an SCF function in
    Node.js, PHP, Go, Java, a custom runtime, or Python 2.7)."""

    name: str
    runtime: str
    file: str
    """The config file that declares it (project-relative)."""
    reason: str


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    functions: tuple[Function, ...] = ()
    routes: tuple[Route, ...] = ()
    """Every HTTP route in match order (see routing.RouteTable)."""
    helpers: tuple[str, ...] = ()
    """EdgeOne auxiliary modules: copied `.py` files without a route."""
    problems: tuple[Problem, ...] = ()
    not_run: tuple[NotRun, ...] = ()
    """Declared functions in runtimes funcstudio does not run (listed, never routed)."""

    def function(self, ident: str) -> Function | None:
        """Find a function by id or alias (an SCF declared name, a CocoBase name)."""
        for fn in self.functions:
            if fn.id == ident or ident in fn.aliases:
                return fn
        return None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

"""Project settings: `funcstudio.toml` or `[tool.funcstudio]` in `pyproject.toml`, plus `.env`.

Every field has a default, so a project with no settings file opens as it is (DESIGN.md §7).
The loader (`load_settings`) names the file and key of every error and never raises for bad
user input: it returns the defaults plus `Problem`s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class LimitSettings:
    timeout_s: float | None = None
    """Default timeout for every function; None: the platform default (RUNTIME_SPEC.md §1)."""
    memory_mb: int | None = None
    """Default memory limit; None: the platform default."""


@dataclass(frozen=True)
class FunctionSettings:
    """`[functions."<id or name>"]`: per-function overrides (and SCF functions declared here)."""

    timeout_s: float | None = None
    memory_mb: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    src: str | None = None
    handler: str | None = None
    runtime: str | None = None
    triggers: tuple[Mapping[str, object], ...] = ()


@dataclass(frozen=True)
class EdgeOneSettings:
    headers: Literal["production", "dev"] = "production"
    """Which request headers the gateway injects (RUNTIME_SPEC.md §2.9)."""


@dataclass(frozen=True)
class ScfSettings:
    header_case: Literal["lower", "original"] = "lower"
    region: str = "ap-guangzhou"
    appid: str = "1250000000"
    uin: str = "100000000001"


@dataclass(frozen=True)
class CocoBaseSettings:
    dir: str = "cocobase"
    strict: bool = False
    """Block imports, builtins and I/O outside the sandbox, as the platform would."""
    error_status: int = 500
    tuple_mode: Literal["envelope", "raw"] = "envelope"
    timeout: float = 20.0
    project_id: str = "local-project"


@dataclass(frozen=True)
class StoreSettings:
    max_invocations: int = 50_000
    """Retention: the newest N invocations are kept."""
    max_log_lines: int = 2_000_000
    """Retention: the newest M log lines are kept."""
    body_cap_bytes: int = 256 * 1024
    """Request and response bodies are stored up to this size and flagged when truncated."""


@dataclass(frozen=True)
class RuntimeSettings:
    max_instances: int = 2
    """Warm instances kept per function."""
    idle_timeout_s: float = 600.0
    max_total_instances: int = 32
    """Global cap; least recently used idle instances are evicted beyond it."""
    output_cap_bytes: int = 1024 * 1024
    """Per-invocation captured output; beyond it lines are dropped with a marker."""


@dataclass(frozen=True)
class Settings:
    python: str | None = None
    """Interpreter for workers; None: the project's .venv, else funcstudio's own."""
    port: int = 8088
    host: str = "127.0.0.1"
    quirks: Literal["platform", "fixed"] = "platform"
    limits: LimitSettings = field(default_factory=LimitSettings)
    env: Mapping[str, str] = field(default_factory=dict)
    """`[env]` plus the project's `.env` (the file's values lose to `[env]`)."""
    functions: Mapping[str, FunctionSettings] = field(default_factory=dict)
    edgeone: EdgeOneSettings = field(default_factory=EdgeOneSettings)
    scf: ScfSettings = field(default_factory=ScfSettings)
    cocobase: CocoBaseSettings = field(default_factory=CocoBaseSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    keymap: Mapping[str, str] = field(default_factory=dict)
    """TUI binding id -> keys, e.g. {"invoke.send": "f9"}."""
    source: str | None = None
    """Project-relative path of the file the settings came from, if any."""

"""Project settings: `funcstudio.toml` or `[tool.funcstudio]` in `pyproject.toml`, plus `.env`.

Every field has a default, so a project with no settings file opens as it is (DESIGN.md §7).
The loader (`load_settings`) names the file and key of every error and never raises for bad
user input: it returns the defaults plus `Problem`s.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from studio.project.model import Problem


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
    redact: tuple[str, ...] = ()
    """More header, query-parameter and return-value names whose values are never stored (any case)."""
    redact_body_fields: tuple[str, ...] = ()
    """JSON (or form) fields of a request body stored as `[redacted]`; bodies are otherwise kept as sent."""


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
class RequestsSettings:
    dir: str = "http-requests"
    """Project-relative folder of the saved requests (`.http` files) the studio lists and saves."""


@dataclass(frozen=True)
class Settings:
    python: str | None = None
    """Interpreter for workers; None: the project's .venv, else funcstudio's own."""
    port: int = 8088
    host: str = "127.0.0.1"
    quirks: Literal["platform", "fixed"] = "platform"
    max_source_bytes: int = 5 * 1024 * 1024
    """Discovery never reads (so never parses) a source file bigger than this; it reports it."""
    limits: LimitSettings = field(default_factory=LimitSettings)
    env: Mapping[str, str] = field(default_factory=dict)
    """`[env]` plus the project's `.env` (the file's values lose to `[env]`)."""
    functions: Mapping[str, FunctionSettings] = field(default_factory=dict)
    edgeone: EdgeOneSettings = field(default_factory=EdgeOneSettings)
    scf: ScfSettings = field(default_factory=ScfSettings)
    cocobase: CocoBaseSettings = field(default_factory=CocoBaseSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    requests: RequestsSettings = field(default_factory=RequestsSettings)
    keymap: Mapping[str, str] = field(default_factory=dict)
    """TUI binding id -> keys, e.g. {"invoke.send": "f9"}."""
    source: str | None = None
    """Project-relative path of the file the settings came from, if any."""


# ---------------------------------------------------------------------------------------------
# Loading. Everything below turns files (and a few FUNCSTUDIO_* variables) into a `Settings`
# value plus `Problem`s; it never raises for bad user input.

CONFIG_FILE_ENV = "FUNCSTUDIO_CONFIG_FILE"
"""Points at an alternative settings file (tests use it to load a fixture)."""
PORT_ENV = "FUNCSTUDIO_PORT"
HOST_ENV = "FUNCSTUDIO_HOST"

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


POSITIVE_KEYS = frozenset({
    "timeout_s", "memory_mb", "max_instances", "max_total_instances", "idle_timeout_s", "output_cap_bytes",
    "max_invocations", "max_log_lines", "timeout", "max_source_bytes",
})
"""Limits for which zero means nothing sensible (no time, no memory, no instance): they must be > 0."""


class _BadValue(Exception):
    """A value of the wrong type or outside its allowed set; the message says what was expected."""


def load_settings(root: Path) -> tuple[Settings, tuple[Problem, ...]]:
    """Read the project's settings: `funcstudio.toml`, else `[tool.funcstudio]` in `pyproject.toml`.

    `$FUNCSTUDIO_CONFIG_FILE` replaces the file lookup; `.env` beside the settings file (or in the
    project root) adds environment variables that `[env]` overrides; `$FUNCSTUDIO_PORT` and
    `$FUNCSTUDIO_HOST` override `port` and `host`. A bad key keeps its default and yields an
    `invalid-config` problem naming the file and the key.
    """
    root = Path(root)
    problems: list[Problem] = []
    config_path, table_prefix = _find_config_file(root, problems)
    raw: dict[str, object] = {}
    source: str | None = None
    if config_path is not None:
        source = _display_path(config_path, root)
        raw = _read_toml_table(config_path, table_prefix, source, problems)

    start = len(problems)
    values = _convert_dataclass(Settings, raw, source, table_prefix, problems)
    _check_ranges(values, source, table_prefix, problems)
    if config_path is not None and len(problems) > start:
        problems[start:] = _with_key_lines(problems[start:], config_path)

    env_dir = config_path.parent if config_path is not None else root
    dotenv_path = env_dir / ".env"
    if not dotenv_path.is_file() and env_dir != root:
        dotenv_path = root / ".env"
    dotenv = read_dotenv(dotenv_path, _display_path(dotenv_path, root), problems)
    values["env"] = {**dotenv, **dict(values.get("env", {}))}

    _apply_environment_overrides(values, problems)
    values["source"] = source
    settings = Settings(**values)
    if settings.host not in _LOOPBACK_HOSTS:
        problems.append(
            Problem(
                "warning",
                "exposed-host",
                f"host = {settings.host!r}: the gateway runs project code and is reachable beyond this machine",
                file=source,
                hint='Keep host = "127.0.0.1" unless you mean to serve other machines.',
            )
        )
    return settings, tuple(problems)


def _find_config_file(root: Path, problems: list[Problem]) -> tuple[Path | None, tuple[str, ...]]:
    """The settings file and the table path inside it (`("tool", "funcstudio")` for pyproject)."""
    override = os.environ.get(CONFIG_FILE_ENV)
    if override:
        path = Path(override)
        if not path.is_absolute():
            path = root / path
        if not path.is_file():
            problems.append(
                Problem(
                    "error",
                    "invalid-config",
                    f"{CONFIG_FILE_ENV} points at {override}, which is not a readable file; using defaults",
                    hint=f"Unset {CONFIG_FILE_ENV} or point it at a funcstudio.toml.",
                )
            )
            return None, ()
        prefix = ("tool", "funcstudio") if path.name == "pyproject.toml" else ()
        return path, prefix
    candidate = root / "funcstudio.toml"
    if candidate.is_file():
        return candidate, ()
    if candidate.is_symlink():  # a link to nowhere (or to itself) must not pass for "no settings"
        problems.append(Problem("error", "invalid-config",
                                "funcstudio.toml is a broken symbolic link (or a link loop); using defaults",
                                file="funcstudio.toml", hint="Point the link at a real file, or replace it."))
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None, ()
        # Only a pyproject that mentions our table counts; others are somebody else's business.
        if "tool.funcstudio" in text:
            return pyproject, ("tool", "funcstudio")
    return None, ()


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop before Python 3.13
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.as_posix()


def _toml_module():
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def _read_toml_table(
    path: Path, prefix: tuple[str, ...], source: str, problems: list[Problem]
) -> dict[str, object]:
    tomllib = _toml_module()
    try:
        data = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(_not_utf8(exc, source, "using defaults"))
        return {}
    except OSError as exc:
        problems.append(
            Problem("error", "invalid-config", f"cannot read settings: {exc}; using defaults", file=source)
        )
        return {}
    try:
        parsed = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        problems.append(
            Problem(
                "error",
                "invalid-config",
                f"invalid TOML: {exc}; using defaults",
                file=source,
                line=_toml_error_line(exc),
                hint="Fix the syntax; every setting falls back to its default until then.",
            )
        )
        return {}
    table: object = parsed
    for part in prefix:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    if not isinstance(table, dict):
        problems.append(
            Problem("error", "invalid-config", f"[{'.'.join(prefix)}] must be a table", file=source)
        )
        return {}
    return table


def _toml_error_line(exc: Exception) -> int | None:
    line = getattr(exc, "lineno", None)
    if isinstance(line, int):
        return line
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def _check_ranges(values: dict[str, object], source: str | None, where: tuple[str, ...],
                  problems: list[Problem]) -> None:
    """Values of the right type but outside what they can mean fall back to their defaults."""
    def bad(key: str, value: object, allowed: str) -> None:
        dotted = ".".join((*where, key))
        problems.append(Problem("error", "invalid-config", f"`{dotted}`: {value!r} is not {allowed}; using the default",
                                file=source))

    port = values.get("port")
    if isinstance(port, int) and port > 65535:
        bad("port", port, "a port number (0-65535, 0 = any free port)")
        del values["port"]
    coco = values.get("cocobase")
    if isinstance(coco, CocoBaseSettings) and not 100 <= coco.error_status <= 599:
        bad("cocobase.error_status", coco.error_status, "an HTTP status (100-599)")
        values["cocobase"] = dataclasses.replace(coco, error_status=CocoBaseSettings.error_status)
    requests = values.get("requests")
    if isinstance(requests, RequestsSettings):
        folder = requests.dir.replace("\\", "/")
        parts = [p for p in folder.split("/") if p not in ("", ".")]
        if (not parts or folder.startswith("/") or re.match(r"^[A-Za-z]:", folder) or ".." in parts
                or parts[0] == ".funcstudio"):
            bad("requests.dir", requests.dir, "a folder inside the project (relative, no `..`, not .funcstudio)")
            values["requests"] = RequestsSettings()


def _with_key_lines(found: list[Problem], path: Path) -> list[Problem]:
    """Give key problems the line of the key, found by a plain text search of the file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return found
    located = []
    for problem in found:
        match = re.search(r"`([^`]+)`", problem.message)
        line = None
        if match:
            parts = match.group(1).split(".")
            last = parts[-1].strip('"')
            key = re.compile(rf'^\s*"?{re.escape(last)}"?\s*=|^\s*\[+[^\]]*\b{re.escape(last)}"?\s*\]')
            # Search from the key's own table header, so `memory_mb` in [functions."a"] is not the
            # one in [limits].
            start = 0
            if len(parts) > 1:
                table = re.compile(rf'^\s*\[+[^\]]*\b{re.escape(parts[-2].strip(chr(34)))}"?\s*\]')
                start = next((n for n, text in enumerate(lines) if table.search(text)), 0)
            line = next((n for n, text in enumerate(lines[start:], start=start + 1) if key.search(text)), None)
        located.append(dataclasses.replace(problem, line=line) if line else problem)
    return located


def _convert_dataclass(
    cls: type, raw: dict[str, object], source: str | None, where: tuple[str, ...], problems: list[Problem]
) -> dict[str, object]:
    """Keyword arguments for `cls` from a TOML table; bad keys are reported and left at default."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    values: dict[str, object] = {}
    for key, value in raw.items():
        dotted = ".".join((*where, key))
        if key not in known:
            problems.append(
                Problem(
                    "warning",
                    "invalid-config",
                    f"unknown setting `{dotted}` (ignored)",
                    file=source,
                    hint="Known keys here: " + ", ".join(sorted(known)) + ".",
                )
            )
            continue
        try:
            values[key] = _convert(hints[key], value, source, (*where, key), problems)
        except _BadValue as exc:
            problems.append(
                Problem(
                    "error",
                    "invalid-config",
                    f"`{dotted}`: {exc}; using the default",
                    file=source,
                )
            )
    return values


def _convert(hint: object, value: object, source: str | None, where: tuple[str, ...], problems: list[Problem]):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _BadValue(f"expected a table, got {_describe(value)}")
        return hint(**_convert_dataclass(hint, value, source, where, problems))
    if origin is Literal:
        if value not in args:
            raise _BadValue(f"expected one of {', '.join(repr(a) for a in args)}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, source, where, problems)
            except _BadValue as exc:
                errors.append(str(exc))
        raise _BadValue(errors[0] if errors else f"unexpected {value!r}")
    if origin in (Mapping, dict):
        key_type, value_type = args
        if not isinstance(value, dict):
            raise _BadValue(f"expected a table, got {_describe(value)}")
        result = {}
        for k, v in value.items():
            if value_type is str and where[-1] == "env":
                # Environment values are strings; TOML numbers and booleans are written out as such.
                if isinstance(v, bool):
                    v = "true" if v else "false"
                elif isinstance(v, (int, float)):
                    v = str(v)
            if dataclasses.is_dataclass(value_type):
                # One bad `[functions."x"]` entry must not cost the others.
                try:
                    result[str(k)] = _convert(value_type, v, source, (*where, str(k)), problems)
                except _BadValue as exc:
                    dotted = ".".join((*where, str(k)))
                    problems.append(Problem("error", "invalid-config", f"`{dotted}`: {exc}; ignored", file=source))
                continue
            result[str(k)] = _convert(value_type, v, source, (*where, str(k)), problems)
        return result
    if origin is tuple:
        if not isinstance(value, list):
            raise _BadValue(f"expected an array, got {_describe(value)}")
        item_type = args[0]
        return tuple(_convert(item_type, v, source, where, problems) for v in value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _BadValue(f"expected a number, got {_describe(value)}")
        if value < 0 or (value == 0 and where[-1] in POSITIVE_KEYS):
            raise _BadValue(f"expected a {_sign(where)} number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadValue(f"expected an integer, got {_describe(value)}")
        if value < 0 or (value == 0 and where[-1] in POSITIVE_KEYS):
            raise _BadValue(f"expected a {_sign(where)} integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise _BadValue(f"expected true or false, got {_describe(value)}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise _BadValue(f"expected a string, got {_describe(value)}")
        return value
    if hint is object:
        return value
    raise _BadValue(f"unsupported value {value!r}")  # pragma: no cover - a schema we do not use


def _sign(where: tuple[str, ...]) -> str:
    return "positive" if where and where[-1] in POSITIVE_KEYS else "non-negative"


def _describe(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
             dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


def _apply_environment_overrides(values: dict[str, object], problems: list[Problem]) -> None:
    port = os.environ.get(PORT_ENV)
    if port is not None and port.strip():
        try:
            number = int(port)
            if not 0 <= number <= 65535:
                raise ValueError
            values["port"] = number
        except ValueError:
            problems.append(
                Problem(
                    "error",
                    "invalid-config",
                    f"{PORT_ENV}={port!r} is not a port number (0-65535); using the configured port",
                    hint=f"Set {PORT_ENV} to an integer, 0 for any free port.",
                )
            )
    host = os.environ.get(HOST_ENV)
    if host is not None and host.strip():
        values["host"] = host.strip()


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")


def _not_utf8(exc: UnicodeDecodeError, display: str, consequence: str) -> Problem:
    """A settings file that is not UTF-8: the line of the first bad byte, like a source file."""
    line = exc.object[: exc.start].count(b"\n") + 1
    return Problem("error", "invalid-config",
                   f"not valid UTF-8: byte 0x{exc.object[exc.start]:02x} at line {line}; {consequence}",
                   file=display, line=line, hint="Save the file as UTF-8.")


def read_dotenv(path: Path, display: str, problems: list[Problem]) -> dict[str, str]:
    """Parse a `.env` file: `KEY=VALUE` lines, `#` comments, single or double quotes."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        problems.append(_not_utf8(exc, display, "its variables are not set"))
        return {}
    except OSError as exc:
        problems.append(Problem("error", "invalid-config", f"cannot read .env: {exc}", file=display))
        return {}
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if match is None:
            problems.append(
                Problem(
                    "warning",
                    "invalid-config",
                    f"not a KEY=VALUE line: {stripped[:60]!r} (ignored)",
                    file=display,
                    line=number,
                )
            )
            continue
        key, value = match.group(1), match.group(2)
        env[key] = _dotenv_value(value)
    return env


def _dotenv_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        while quote == '"' and end > 0 and value[end - 1] == "\\":
            end = value.find(quote, end + 1)
        if end > 0:
            inner = value[1:end]
            if quote == '"':
                inner = (inner.replace("\\n", "\n").replace("\\t", "\t")
                         .replace('\\"', '"').replace("\\\\", "\\"))
            return inner
        return value[1:]
    # Unquoted: a ` #` starts a comment.
    comment = re.search(r"\s#", value)
    if comment:
        value = value[: comment.start()]
    return value.strip()


CACHE_DIR_ENV = "FUNCSTUDIO_CACHE_DIR"


def user_cache_dir() -> str:
    """Where funcstudio keeps caches that are not part of a project (the import scan's):
    `$FUNCSTUDIO_CACHE_DIR`, else `$XDG_CACHE_HOME/funcstudio`, else `~/.cache/funcstudio`."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return override
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "funcstudio")

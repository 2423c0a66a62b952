"""Tencent SCF event functions: `serverless.yml`, `template.yaml`, the `index.py` + `main_handler`
convention and `[functions."<name>"] platform = "scf"` settings (RUNTIME_SPEC.md §3.9).

Later sources win: a function declared twice keeps the later declaration's fields, and settings
override everything. Files are parsed, never imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studio.project._common import (
    find_def_line,
    key_line,
    read_source,
    rel,
    syntax_problem,
    walk_dirs,
)
from studio.project.model import Function, Limits, NotRun, Problem, Route, Trigger
from studio.project.settings import FunctionSettings, Settings

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 128
DEFAULT_RUNTIME = "Python3.10"
DEFAULT_HANDLER = "index.main_handler"
MAX_TIMEOUT_S = 900.0

CONFIG_NAMES = ("serverless.yml", "serverless.yaml")
TEMPLATE_NAMES = ("template.yaml", "template.yml")

_ENV_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_RESERVED_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
_MAIN_HANDLER = re.compile(r"^def\s+main_handler\s*\(", re.M)
_TRIGGER_TYPES = {"apigw": "apigw", "timer": "timer", "cos": "cos", "cmq": "cmq", "ckafka": "ckafka"}


PYTHON2_END_OF_LIFE = "2020-01-01"
"""Python 2.7's end of life (https://www.python.org/doc/sunset-python-2/)."""


@dataclass
class ScfScan:
    functions: tuple[Function, ...] = ()
    routes: tuple[Route, ...] = ()
    problems: tuple[Problem, ...] = ()
    not_run: tuple[NotRun, ...] = ()


def runtime_family(runtime: str) -> str:
    """`python3` (funcstudio runs it), `python2` (end of life, not run) or `other` (another
    language: Nodejs12.16, Php7, Go1, Java8, CustomRuntime...), from the declared runtime string."""
    value = runtime.strip().lower().replace(" ", "")
    if value.startswith("python3"):
        return "python3"
    if value.startswith("python2") or value == "python":
        return "python2"
    return "other"


@dataclass
class _Decl:
    """One SCF function as a config source describes it, before it becomes a `Function`."""

    name: str
    src: Path
    """Absolute code root."""
    handler: str = DEFAULT_HANDLER
    runtime: str = DEFAULT_RUNTIME
    timeout_s: float | None = None
    memory_mb: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    namespace: str = "default"
    triggers: list[Trigger] = field(default_factory=list)
    runtime_declared: bool = False
    region: str | None = None
    config_file: str | None = None
    config_text: str = ""
    anchor: int = 1
    """Line where this function's block starts in `config_text` (key lines are searched from it)."""
    convention: bool = False

    def line_of(self, *keys: str) -> int | None:
        for key in keys:
            line = key_line(self.config_text, key, self.anchor) if self.config_text else None
            if line:
                return line
        return None


def discover_scf(root: Path, settings: Settings, *, skip_dirs: frozenset[str] = frozenset()) -> ScfScan:
    """Every SCF function of the project, its API Gateway routes, and what is wrong with them.

    `skip_dirs` are project-relative folders that belong to another platform (`cloud-functions`,
    the CocoBase folder): the convention never looks inside them.
    """
    # Declared `src` folders are resolved to absolute paths: the root must be too, or their ids
    # would not be project-relative when the caller passed a relative root.
    root = Path(root).resolve()
    problems: list[Problem] = []
    decls: dict[str, _Decl] = {}
    skip = frozenset({"cloud-functions", settings.cocobase.dir.strip("/"), *skip_dirs})

    # One walk finds both the config files (near the top) and the convention's index.py files.
    config_files: list[Path] = []
    index_dirs: list[Path] = []
    for folder, files in walk_dirs(root, skip):
        if "index.py" in files:
            index_dirs.append(folder)
        if len(folder.relative_to(root).parts) > 3:
            continue
        for name in files:
            if name in CONFIG_NAMES or name in TEMPLATE_NAMES:
                config_files.append(folder / name)
    for path in sorted(config_files, key=lambda p: (p.name in TEMPLATE_NAMES, len(p.parts), p.as_posix())):
        parsed = _load_yaml(path, root, problems)
        if parsed is None:
            continue
        data, text = parsed
        if path.name in CONFIG_NAMES:
            found = _from_serverless(data, text, path, root, problems)
        else:
            found = _from_template(data, text, path, root, problems)
        for decl in found:
            _add_declared(decls, decl, root, problems)

    # Every declared entry is claimed, whatever its runtime: a Python 2.7 folder's index.py is not a
    # conventional Python 3 function.
    claimed = {_resolved(d.src / _handler_file(d.handler)) for d in decls.values()}
    declared_dirs = {_resolved(d.src) for d in decls.values()}
    declared_dirs |= {_resolved(root / d.config_file).parent for d in decls.values() if d.config_file}
    for folder in index_dirs:
        entry = folder / "index.py"
        if _resolved(entry) in claimed or _resolved(folder) in declared_dirs:
            continue  # a declared function's folder: its declaration says what runs there
        text, _ = read_source(entry, root)
        if text is None or not _MAIN_HANDLER.search(text):
            continue
        name = folder.name if folder != root else root.resolve().name
        if name in decls:
            name = rel(folder, root)
            if name in decls:  # a top-level folder named like a declared function: that one keeps the name
                name = rel(entry, root).removesuffix(".py")
        decls[name] = _Decl(
            name=name,
            src=folder,
            triggers=[Trigger(type="apigw", name="apigw", path=f"/{name}", method="ANY",
                              integrated_response=True, stage="release")],
            convention=True,
        )

    for key, fs in settings.functions.items():
        if fs.platform != "scf":
            continue
        _apply_settings(key, fs, decls, root, settings, problems)

    functions: list[Function] = []
    routes: list[Route] = []
    not_run: list[NotRun] = []
    for key, decl in decls.items():
        skipped = _not_run(decl, problems)
        if skipped is not None:
            not_run.append(skipped)
            continue
        fn = _build_function(decl, root, settings, problems, owns_name=key == decl.name)
        functions.append(fn)
        routes.extend(fn.routes)
    functions.sort(key=lambda f: f.id)
    return ScfScan(tuple(functions), tuple(routes), tuple(problems), tuple(not_run))


def _add_declared(decls: dict[str, _Decl], decl: _Decl, root: Path, problems: list[Problem]) -> None:
    """Register a declared function. The same entry declared again (serverless.yml and template.yaml
    for one function) takes the later fields; another entry under a taken name is a duplicate: both
    are kept, and the name goes to the one funcstudio runs (Python 3) or else the first."""
    same = decls.get(decl.name)
    if same is None:
        decls[decl.name] = decl
        return
    if _resolved(same.src / _handler_file(same.handler)) == _resolved(decl.src / _handler_file(decl.handler)):
        decls[decl.name] = decl
        return
    if "python3" not in (runtime_family(decl.runtime), runtime_family(same.runtime)):
        # Neither is run here (two Node.js demos, say): nothing of funcstudio's depends on the name.
        key = f"{decl.name}@{decl.config_file}"
        decls[key] = decl
        return
    if runtime_family(decl.runtime) == "python3" and runtime_family(same.runtime) != "python3":
        decls[decl.name], decl = decl, same  # the runnable one keeps the name
    owner = decls[decl.name]
    problems.append(Problem(
        "warning", "SCF-DUPLICATE-NAME",
        f"function name `{decl.name}` is declared by both {owner.config_file} ({owner.runtime}) and "
        f"{decl.config_file} ({decl.runtime}): deployed to one region and namespace, the later deploy replaces "
        "the earlier function",
        file=decl.config_file, line=decl.line_of("name", decl.name),
        hint=f"Give one of them another `name`; here `{decl.name}` means the one in {owner.config_file}.",
    ))
    key = f"{decl.name}@{decl.config_file}"
    while key in decls:
        key += "'"
    decls[key] = decl


def _not_run(decl: _Decl, problems: list[Problem]) -> NotRun | None:
    """A declared function in a runtime funcstudio does not run: listed and reported, never built."""
    family = runtime_family(decl.runtime)
    if family == "python3":
        return None
    where = decl.config_file or rel(decl.src, decl.src)
    line = decl.line_of("runtime", "Runtime")
    if family == "python2":
        reason = (f"runtime {decl.runtime}: Python 2.7 reached its end of life on {PYTHON2_END_OF_LIFE}; "
                  "funcstudio runs Python 3 only")
        problems.append(Problem(
            "error", "SCF-RUNTIME-EOL", f"{decl.name} declares runtime {decl.runtime}: Python 2.7 reached its end "
            f"of life on {PYTHON2_END_OF_LIFE}, and funcstudio runs Python 3 functions only, so it is not run",
            file=where, line=line,
            hint="Port the code to Python 3 and declare runtime: Python3.10 (SCF also offers 3.6, 3.7 and 3.9).",
        ))
    else:
        reason = f"runtime {decl.runtime}: funcstudio runs Python functions only"
        problems.append(Problem(
            "info", "SCF-RUNTIME-OTHER", f"{decl.name} is a {decl.runtime} function: listed, not run "
            "(funcstudio runs Python functions only)", file=where, line=line,
        ))
    return NotRun(name=decl.name, runtime=decl.runtime, file=where, reason=reason)


# -- sources -----------------------------------------------------------------------------------


def _load_yaml(path: Path, root: Path, problems: list[Problem]) -> tuple[object, str] | None:
    text, problem = read_source(path, root)
    if text is None:
        problems.append(problem)
        return None
    import yaml  # only projects with SCF config files pay for PyYAML

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster, same result
    try:
        return yaml.load(text, Loader=loader), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(
            Problem(
                "error",
                "invalid-config",
                f"invalid YAML: {what}; its functions are not loaded",
                file=rel(path, root),
                line=mark.line + 1 if mark is not None else None,
                hint="Fix the YAML syntax.",
            )
        )
        return None


def _config_problem(message: str, path: Path, root: Path, text: str, key: str | None, severity="error",
                    after: int = 1):
    return Problem(severity, "invalid-config", message, file=rel(path, root),
                   line=key_line(text, key, after) if key else None)


def _from_serverless(data: object, text: str, path: Path, root: Path, problems: list[Problem]) -> list[_Decl]:
    """`component: scf` (inputs.src) or the older `@serverless/tencent-scf` (inputs.codeUri)."""
    if not isinstance(data, dict):
        problems.append(_config_problem("serverless.yml must be a mapping", path, root, text, None))
        return []
    blocks: list[tuple[str | None, dict]] = []
    if "component" in data:
        blocks.append((None, data))
    else:  # older multi-component files: `<key>: {component: '@serverless/tencent-scf', inputs: ...}`
        for key, value in data.items():
            if isinstance(value, dict) and "component" in value:
                blocks.append((str(key), value))
    if not any("scf" in str(block.get("component", "")).lower() for _key, block in blocks):
        problems.append(_config_problem(
            "declares no SCF function: no block with `component: scf` (or `@serverless/tencent-scf`)",
            path, root, text, None, severity="warning"))
        return []
    decls = []
    for key, block in blocks:
        component = str(block.get("component", ""))
        if "scf" not in component.lower():
            continue
        inputs = block.get("inputs") or {}
        if not isinstance(inputs, dict):
            problems.append(_config_problem("`inputs` must be a mapping", path, root, text, "inputs"))
            continue
        name = inputs.get("name") or block.get("name") or key or path.parent.name
        src_value = inputs.get("src", inputs.get("codeUri", "."))
        if isinstance(src_value, dict):  # `src: {src: ./code, exclude: [...]}`
            src_value = src_value.get("src", ".")
        src = _resolve_src(str(src_value or "."), path.parent)
        decl = _Decl(name=str(name), src=src, config_file=rel(path, root), config_text=text,
                     anchor=(key_line(text, key) or 1) if key else 1)
        decl.handler = str(inputs.get("handler") or DEFAULT_HANDLER)
        decl.runtime = str(inputs.get("runtime") or DEFAULT_RUNTIME)
        decl.runtime_declared = bool(inputs.get("runtime"))
        region = inputs.get("region") or block.get("region")
        decl.region = str(region) if region else None
        decl.namespace = str(inputs.get("namespace") or "default")
        decl.timeout_s = _number(inputs.get("timeout"), "timeout", decl, path, root, problems)
        memory = _number(inputs.get("memorySize"), "memorySize", decl, path, root, problems)
        decl.memory_mb = int(memory) if memory is not None else None
        env = inputs.get("environment") or {}
        variables = env.get("variables") if isinstance(env, dict) else None
        decl.env = _env_table(variables, "environment.variables", decl, path, root, problems)
        decl.triggers = _serverless_events(inputs.get("events"), decl, path, root, problems)
        decls.append(decl)
    return decls


def _serverless_events(events: object, decl: _Decl, path: Path, root: Path, problems: list[Problem]):
    if events is None:
        return []
    if isinstance(events, dict):  # tolerate a mapping instead of a list
        events = [{k: v} for k, v in events.items()]
    if not isinstance(events, list):
        problems.append(_config_problem("`events` must be a list", path, root, decl.config_text, "events", after=decl.anchor))
        return []
    triggers: list[Trigger] = []
    for entry in events:
        if not isinstance(entry, dict):
            continue
        if "type" in entry:  # `- type: apigw \n parameters: {...}`
            kind, body = str(entry["type"]), entry
        elif len(entry) == 1:
            kind, body = next(iter(entry.items()))
            kind = str(kind)
        else:
            continue
        if not isinstance(body, dict):
            body = {}
        ttype = _TRIGGER_TYPES.get(kind.lower())
        if ttype is None:
            problems.append(_config_problem(f"unknown event type `{kind}` (ignored)", path, root,
                                            decl.config_text, kind, "warning", after=decl.anchor))
            continue
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            params = {}
        tname = str(body.get("name") or params.get("name") or params.get("serviceName") or ttype)
        enabled = _bool(params.get("enable", body.get("enable", True)))
        if ttype == "apigw":
            stage = str(params.get("environment") or params.get("stage") or "release")
            endpoints = params.get("endpoints") or [{"path": f"/{decl.name}", "method": "ANY"}]
            for ep in endpoints if isinstance(endpoints, list) else []:
                if not isinstance(ep, dict):
                    continue
                fn_opts = ep.get("function") if isinstance(ep.get("function"), dict) else {}
                integrated = ep.get("isIntegratedResponse", fn_opts.get("isIntegratedResponse", False))
                triggers.append(Trigger(
                    type="apigw", name=tname, enabled=enabled, path=_norm_path(str(ep.get("path") or "/")),
                    method=str(ep.get("method") or "ANY").upper(), integrated_response=_bool(integrated),
                    stage=stage, options={k: v for k, v in params.items() if k != "endpoints"},
                ))
        elif ttype == "timer":
            triggers.append(Trigger(
                type="timer", name=tname, enabled=enabled,
                cron=str(params.get("cronExpression") or params.get("cron") or "") or None,
                message=str(params.get("argument") or params.get("message") or ""),
            ))
        else:
            triggers.append(Trigger(type=ttype, name=tname, enabled=enabled,
                                    options={k: v for k, v in params.items() if k not in ("enable", "name")}))
    return triggers


def _from_template(data: object, text: str, path: Path, root: Path, problems: list[Problem]) -> list[_Decl]:
    """TCSAM: Resources -> namespace -> function, with Globals.Function inherited."""
    if not isinstance(data, dict):
        problems.append(_config_problem("template.yaml must be a mapping", path, root, text, None))
        return []
    globals_fn = {}
    glob = data.get("Globals")
    if isinstance(glob, dict) and isinstance(glob.get("Function"), dict):
        globals_fn = glob["Function"]
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        problems.append(_config_problem("template.yaml has no `Resources` mapping", path, root, text,
                                        "Resources", "warning"))
        return []
    decls = []
    for ns_name, ns in resources.items():
        if not isinstance(ns, dict):
            continue
        for fn_name, fn in ns.items():
            if not isinstance(fn, dict) or "function" not in str(fn.get("Type", "")).lower():
                continue
            props = fn.get("Properties") or {}
            if not isinstance(props, dict):
                props = {}
            merged = {**globals_fn, **props}
            if isinstance(globals_fn.get("Environment"), dict) and isinstance(props.get("Environment"), dict):
                gv = globals_fn["Environment"].get("Variables") or {}
                pv = props["Environment"].get("Variables") or {}
                if isinstance(gv, dict) and isinstance(pv, dict):
                    merged["Environment"] = {"Variables": {**gv, **pv}}
            code = str(merged.get("CodeUri") or ".")
            src = _resolve_src(code, path.parent)
            if code.endswith(".py") or code.endswith(".zip"):
                src = src.parent
            decl = _Decl(name=str(fn_name), src=src, namespace=str(ns_name), config_file=rel(path, root),
                         config_text=text, anchor=key_line(text, str(fn_name)) or 1)
            decl.handler = str(merged.get("Handler") or DEFAULT_HANDLER)
            decl.runtime = str(merged.get("Runtime") or DEFAULT_RUNTIME)
            decl.runtime_declared = bool(merged.get("Runtime"))
            region = merged.get("Region") or data.get("Region")
            decl.region = str(region) if region else None
            decl.timeout_s = _number(merged.get("Timeout"), "Timeout", decl, path, root, problems)
            memory = _number(merged.get("MemorySize"), "MemorySize", decl, path, root, problems)
            decl.memory_mb = int(memory) if memory is not None else None
            env = merged.get("Environment") or {}
            decl.env = _env_table(env.get("Variables") if isinstance(env, dict) else None,
                                  "Environment.Variables", decl, path, root, problems)
            events = props.get("Events", fn.get("Events"))
            decl.triggers = _template_events(events, decl, path, root, problems)
            decls.append(decl)
    return decls


def _template_events(events: object, decl: _Decl, path: Path, root: Path, problems: list[Problem]):
    if not isinstance(events, dict):
        return []
    triggers: list[Trigger] = []
    for ev_name, ev in events.items():
        if not isinstance(ev, dict):
            continue
        kind = str(ev.get("Type", ""))
        ttype = _TRIGGER_TYPES.get(kind.lower())
        if ttype is None:
            problems.append(_config_problem(f"unknown event Type `{kind}` in `{ev_name}` (ignored)", path, root,
                                            decl.config_text, str(ev_name), "warning", after=decl.anchor))
            continue
        props = ev.get("Properties") or {}
        if not isinstance(props, dict):
            props = {}
        enabled = _bool(props.get("Enable", True))
        if ttype == "apigw":
            triggers.append(Trigger(
                type="apigw", name=str(ev_name), enabled=enabled,
                path=_norm_path(str(props.get("Path") or f"/{decl.name}")),
                method=str(props.get("HttpMethod") or "ANY").upper(),
                integrated_response=_bool(props.get("IntegratedResponse", False)),
                stage=str(props.get("StageName") or "release"),
                options={k: v for k, v in props.items()
                         if k not in ("Path", "HttpMethod", "IntegratedResponse", "StageName", "Enable")},
            ))
        elif ttype == "timer":
            triggers.append(Trigger(type="timer", name=str(ev_name), enabled=enabled,
                                    cron=str(props.get("CronExpression") or "") or None,
                                    message=str(props.get("Message") or props.get("Argument") or "")))
        else:
            triggers.append(Trigger(type=ttype, name=str(ev_name), enabled=enabled,
                                    options={k: v for k, v in props.items() if k != "Enable"}))
    return triggers


def _apply_settings(key: str, fs: FunctionSettings, decls: dict[str, _Decl], root: Path,
                    settings: Settings, problems: list[Problem]) -> None:
    """`[functions."<key>"] platform = "scf"`: override a found function or declare a new one."""
    decl = decls.get(key)
    if decl is None:
        for candidate in decls.values():
            entry = rel(candidate.src / _handler_file(candidate.handler), root)
            if entry.removesuffix(".py") == key:
                decl = candidate
                break
    if decl is None:
        decl = _Decl(name=key.rsplit("/", 1)[-1], src=root / (fs.src or key))
        decls[key] = decl
    elif fs.src:
        decl.src = root / fs.src
    decl.config_file = settings.source
    if fs.handler:
        decl.handler = fs.handler
    if fs.runtime:
        decl.runtime = fs.runtime
    if fs.triggers:
        decl.triggers = _settings_triggers(key, fs.triggers, decl, settings, problems)
    elif decl.convention is False and not decl.triggers and decl.config_text == "":
        decl.triggers = [Trigger(type="apigw", name="apigw", path=f"/{decl.name}", integrated_response=True)]


def _settings_triggers(key: str, raw: tuple[Mapping[str, object], ...], decl: _Decl, settings: Settings,
                       problems: list[Problem]) -> list[Trigger]:
    triggers = []
    for item in raw:
        ttype = _TRIGGER_TYPES.get(str(item.get("type", "")).lower())
        if ttype is None:
            problems.append(Problem("error", "invalid-config",
                                    f'`functions."{key}".triggers`: unknown type {item.get("type")!r} '
                                    "(apigw, timer, cos, cmq or ckafka)", file=settings.source))
            continue
        known = {"type", "name", "enabled", "enable", "path", "method", "integrated_response", "stage", "cron",
                 "message"}
        triggers.append(Trigger(
            type=ttype,
            name=str(item.get("name") or ttype),
            enabled=_bool(item.get("enabled", item.get("enable", True))),
            path=_norm_path(str(item.get("path") or f"/{decl.name}")) if ttype == "apigw" else None,
            method=str(item.get("method") or "ANY").upper(),
            integrated_response=_bool(item.get("integrated_response", True)),
            stage=str(item.get("stage") or "release"),
            cron=str(item["cron"]) if item.get("cron") is not None else None,
            message=str(item.get("message") or ""),
            options={k: v for k, v in item.items() if k not in known},
        ))
    return triggers


# -- building ----------------------------------------------------------------------------------


def _build_function(decl: _Decl, root: Path, settings: Settings, problems: list[Problem],
                    owns_name: bool = True) -> Function:
    fs = settings.functions.get(decl.name) if owns_name else None
    entry_path = decl.src / _handler_file(decl.handler)
    entry = rel(entry_path, root)
    fid = entry.removesuffix(".py")
    if fs is None:
        fs = settings.functions.get(fid)
    where = decl.config_file
    line = decl.line_of("handler", "Handler")

    load_problem = None
    if "." not in decl.handler:
        load_problem = Problem("error", "SCF-HANDLER-NOT-FOUND",
                               f"handler {decl.handler!r} of {decl.name} is not `file.function`", file=where,
                               line=line, hint="Write the handler as e.g. index.main_handler.")
    else:
        func_name = decl.handler.rsplit(".", 1)[1]
        text, read_problem = read_source(entry_path, root)
        if not entry_path.exists():
            load_problem = Problem("error", "SCF-HANDLER-NOT-FOUND",
                                   f"handler {decl.handler!r} of {decl.name}: {entry} does not exist",
                                   file=where or entry, line=line,
                                   hint=f"Create {entry} or fix the handler / src.")
        elif text is None or read_problem is not None:
            load_problem = read_problem
        else:
            load_problem = syntax_problem(text, entry_path, root)
            if load_problem is None and find_def_line(text, func_name) is None:
                load_problem = Problem("error", "SCF-HANDLER-NOT-FOUND",
                                       f"handler {decl.handler!r} of {decl.name}: {entry} defines no "
                                       f"`{func_name}`", file=entry,
                                       hint=f"Define def {func_name}(event, context) in {entry}.")
    if load_problem is not None:
        problems.append(load_problem)

    timeout = _checked_timeout(decl, settings, fs, problems)
    memory = _checked_memory(decl, settings, fs, problems)
    user_env = dict(decl.env)
    if fs is not None:
        user_env.update(fs.env)
    for key in user_env:
        bad = not _ENV_NAME.match(key)
        reserved = key.upper().startswith(_RESERVED_PREFIXES)
        if bad or reserved:
            why = "is not a valid name ([a-zA-Z][a-zA-Z0-9_]*)" if bad else "uses a reserved prefix (SCF_, QCLOUD_, TENCENTCLOUD_)"
            from_settings = fs is not None and key in fs.env
            problems.append(Problem("error", "SCF-ENV-NAME", f"environment variable {key!r} of {decl.name} {why}",
                                    file=settings.source if from_settings else where,
                                    line=None if from_settings else decl.line_of(key),
                                    hint="Rename it; the deploy rejects this key."))
    env = {**settings.env, **user_env}

    routes = tuple(
        _route(t, fid, entry) for t in decl.triggers if t.type == "apigw" and t.enabled and t.path is not None
    )
    code_root = rel(decl.src, root)
    return Function(
        id=fid,
        platform="scf",
        kind="scf-event",
        entry=entry,
        code_root="" if code_root == "." else code_root,
        limits=Limits(timeout_s=timeout, memory_mb=memory),
        routes=routes,
        env=env,
        name=decl.name,
        aliases=(decl.name,) if decl.name != fid and owns_name else (),
        handler=decl.handler,
        runtime=decl.runtime,
        region=decl.region,
        namespace=decl.namespace,
        triggers=tuple(decl.triggers),
        load_problem=load_problem,
    )


def _checked_timeout(decl: _Decl, settings: Settings, fs: FunctionSettings | None, problems: list[Problem]):
    value, from_settings = decl.timeout_s, False
    if value is None and settings.limits.timeout_s is not None:
        value, from_settings = settings.limits.timeout_s, True
    if fs is not None and fs.timeout_s is not None:
        value, from_settings = fs.timeout_s, True
    if value is None:
        return DEFAULT_TIMEOUT_S
    if not 1 <= value <= MAX_TIMEOUT_S:
        problems.append(Problem("error", "invalid-config",
                                f"timeout of {decl.name} is {value:g} s; SCF accepts 1-900 s (using "
                                f"{DEFAULT_TIMEOUT_S:g} s)", file=settings.source if from_settings else decl.config_file,
                                line=None if from_settings else decl.line_of("timeout", "Timeout")))
        return DEFAULT_TIMEOUT_S
    return float(value)


def _checked_memory(decl: _Decl, settings: Settings, fs: FunctionSettings | None, problems: list[Problem]):
    value, from_settings = decl.memory_mb, False
    if value is None and settings.limits.memory_mb is not None:
        value, from_settings = settings.limits.memory_mb, True
    if fs is not None and fs.memory_mb is not None:
        value, from_settings = fs.memory_mb, True
    if value is None:
        return DEFAULT_MEMORY_MB
    if not (value == 64 or (128 <= value <= 3072 and value % 128 == 0)):
        problems.append(Problem("error", "invalid-config",
                                f"memory of {decl.name} is {value} MB; SCF accepts 64, or 128-3072 in 128 MB "
                                f"steps (using {DEFAULT_MEMORY_MB} MB)", file=settings.source if from_settings else decl.config_file,
                                line=None if from_settings else decl.line_of("memorySize", "MemorySize")))
        return DEFAULT_MEMORY_MB
    return int(value)


def _route(trigger: Trigger, fid: str, entry: str) -> Route:
    src, params = path_template_regex(trigger.path or "/")
    method = trigger.method.upper()
    return Route(
        path=trigger.path or "/",
        src=src,
        function_id=fid,
        file=entry,
        platform="scf",
        kind="scf-event",
        methods=() if method in ("ANY", "") else (method,),
        params=params,
    )


def path_template_regex(template: str) -> tuple[str, tuple[str, ...]]:
    """`/users/{id}` -> (`^/users/([^/]+)$`, ("id",)): API Gateway path parameters are one segment."""
    params: list[str] = []
    parts = []
    for segment in template.strip("/").split("/"):
        if not segment:
            continue
        match = re.fullmatch(r"\{(\w+)\}", segment)
        if match:
            params.append(match.group(1))
            parts.append("([^/]+)")
        else:
            parts.append(re.escape(segment))
    if not parts:
        return "^/?$", ()
    return "^/" + "/".join(parts) + "$", tuple(params)


# -- small converters --------------------------------------------------------------------------


def _handler_file(handler: str) -> str:
    module = handler.rsplit(".", 1)[0] if "." in handler else handler
    return module.replace(".", "/") + ".py"


def _resolved(path: Path) -> Path:
    """`path.resolve()`, or the path as given when a symlink loop stops it (RuntimeError before 3.13);
    the loop then surfaces as a missing handler file with its config line."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _resolve_src(value: str, base: Path) -> Path:
    path = Path(value)
    return _resolved(path if path.is_absolute() else base / path) if value else base


def _norm_path(path: str) -> str:
    return "/" + path.strip().lstrip("/") if path.strip() != "/" else "/"


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0", "")
    return bool(value)


def _number(value: object, key: str, decl: _Decl, path: Path, root: Path, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(_config_problem(f"`{key}` of {decl.name} must be a number, got {value!r}", path, root,
                                        decl.config_text, key, after=decl.anchor))
        return None
    try:
        return float(value)
    except ValueError:
        problems.append(_config_problem(f"`{key}` of {decl.name} must be a number, got {value!r}", path, root,
                                        decl.config_text, key, after=decl.anchor))
        return None


def _env_table(value: object, key: str, decl: _Decl, path: Path, root: Path, problems: list[Problem]):
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(_config_problem(f"`{key}` of {decl.name} must be a mapping", path, root,
                                        decl.config_text, key.rsplit(".", 1)[-1], after=decl.anchor))
        return {}
    return {str(k): "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in value.items()}

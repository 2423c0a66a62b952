"""`funcstudio invoke`: one call through the real runtime, printed (and recorded).

TARGET is a URL path (starts with `/`, sent as real HTTP to the runtime on a free loopback
port) or a function id/alias (run directly with a JSON event, like the control API).
Exit status: 0 for a non-error response, 1 when the function failed, 2 for usage errors.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import sys
import threading
import time
from pathlib import Path

import click

from studio.cli._project_arg import unrouted_label
from studio.project.model import doc_link

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Usage(click.UsageError):
    exit_code = EXIT_USAGE


class NotJsonEvent(Usage):
    """The event is not JSON: a usage error, except for an SCF function, where it is the platform's
    400 InvalidParameterValue result (RUNTIME_SPEC.md §3.4, §3.7)."""


class UnknownTarget(Usage):
    """No function by that id or name: for an SCF project, the platform's 435 FunctionNotFound."""


def door_record(status: int, message: str, target: str, function=None):
    """What SCF answers at its door (the event or the function id is wrong): an error result with
    the platform's status and body, which never reaches a worker and is not recorded."""
    import uuid

    from studio.runtime.invocation import InvocationRecord
    from studio.runtime.platforms import scf_error_body

    request_id = str(uuid.uuid4())
    return InvocationRecord(
        request_id=request_id, function_id=function.id if function is not None else None,
        platform="scf", kind="scf-event", trigger="invoke", method="INVOKE", path=target, status=status,
        response_headers=(("Content-Type", "application/json"),),
        response_body=scf_error_body(status, message, request_id),
    )


def _has_scf(project) -> bool:
    return any(fn.platform == "scf" for fn in project.functions)


def parse_headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    headers = []
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
            raise Usage(f"bad header {raw!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def read_data(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data.startswith("@"):
        name = data[1:]
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise Usage(f"cannot read {name}: {exc.strerror or exc}") from None
    return data.encode("utf-8")


def split_args(args: tuple[str, ...]) -> tuple[Path, str]:
    if len(args) == 1:
        return Path("."), args[0]
    if len(args) == 2:
        return Path(args[0]), args[1]
    raise Usage("expected [PROJECT] TARGET (a URL path such as /api/hello, or a function id)")


class Collector:
    """Bus subscriber that keeps the record and log lines of the invocations we started."""

    def __init__(self) -> None:
        self.records: dict[str, object] = {}
        self.logs: dict[str, list] = {}
        self.done = threading.Condition()

    def __call__(self, event) -> None:
        from studio.runtime.events import InvocationFinished, LogLine

        if isinstance(event, LogLine):
            self.logs.setdefault(event.request_id, []).append(event)
        elif isinstance(event, InvocationFinished):
            with self.done:
                self.records[event.record.request_id] = event.record
                self.done.notify_all()

    def wait(self, request_id: str, timeout: float) -> object | None:
        with self.done:
            self.done.wait_for(lambda: request_id in self.records, timeout)
            return self.records.get(request_id)


def http_call(runtime, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None,
              timeout: float) -> str:
    """Send the request over real HTTP; returns the request id the gateway gave it."""
    conn = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=timeout)
    try:
        names = {k.lower() for k, _ in headers}
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None and "content-length" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Funcstudio-Request-Id") or ""
    finally:
        conn.close()


def render_text(record, logs) -> str:
    from http import HTTPStatus

    out = []
    try:
        phrase = HTTPStatus(record.status).phrase
    except ValueError:
        phrase = ""
    out.append(f"HTTP {record.status} {phrase}".rstrip())
    for name, value in record.response_headers:
        out.append(f"{name}: {value}")
    out.append("")
    body = record.response_body
    try:
        out.append(body.decode("utf-8"))
    except UnicodeDecodeError:
        out.append(f"[binary body: {len(body)} bytes, sha1 {hashlib.sha1(body).hexdigest()[:12]}; "
                   f"--json shows it as base64]")
    meta = [f"request {record.request_id}", f"{record.duration_ms:.1f} ms",
            f"function {record.function_id or unrouted_label(record.status)}"]
    if record.init_ms is not None:
        meta.append(f"cold start {record.init_ms:.0f} ms")
    if record.peak_memory_mb is not None:
        meta.append(f"peak {record.peak_memory_mb:.1f} MB")
    if record.fault:
        meta.append(f"fault {record.fault}")
    if record.app_path is not None:
        meta.append(f"app received {record.app_path}")
    if record.paused_ms:
        meta.append(f"paused {record.paused_ms / 1000:.1f} s in the debugger")
    out.append("")
    out.append("-- " + ", ".join(meta))
    if record.return_value is not None:
        out.append(f"-- return value: {record.return_value}")
    if logs:
        out.append(f"-- logs ({len(logs)})")
        for line in logs:
            at = time.strftime("%H:%M:%S", time.localtime(line.time)) + f".{int(line.time * 1000) % 1000:03d}"
            level = f" {line.level}" if line.level else ""
            out.append(f"{at} {line.stream}{level}: {line.text.rstrip()}")
    if record.error is not None:
        out.append("-- error")
        out.append(record.error.traceback.rstrip() or f"{record.error.type}: {record.error.message}")
    for w in record.warnings:
        link = doc_link(w.id)
        out.append(f"-- warning {w.id}: {w.message}" + (f" (fix: {w.fix})" if w.fix else "")
                   + (f" [{link}]" if link else ""))
    return "\n".join(out)


def resolve_target(project, ident: str, root) -> str:
    """A function id, alias, or the unique function whose id ends with `/<ident>` (api/hello)."""
    if project.function(ident) is not None:
        return ident
    wanted = ident.strip("/")
    if wanted.endswith(".py"):
        wanted = wanted[:-3]
    matches = [fn.id for fn in project.functions if fn.id == wanted or fn.id.endswith("/" + wanted)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise Usage(f"{ident!r} matches several functions: {', '.join(matches)}; give the full id")
    import difflib

    ids = [fn.id for fn in project.functions]
    depth = wanted.count("/") + 1  # compare like with like: api/helo against the ids' last two segments
    tails = {"/".join(i.split("/")[-depth:]): i for i in ids}
    tails.update({alias: fn.id for fn in project.functions for alias in fn.aliases})
    close = list(dict.fromkeys(tails[t] for t in difflib.get_close_matches(wanted, list(tails), n=3, cutoff=0.75)))
    if close:
        hint = f"did you mean {' or '.join(close)}?"
    elif ids:
        hint = f"known: {', '.join(ids[:12])}" + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
    else:
        hint = "the project has no functions (funcstudio check explains why)"
    raise UnknownTarget(f"no function {ident!r} in {root}; {hint} (a URL path starts with /)")


def failed(record) -> bool:
    return bool(record.fault or record.error is not None or (record.status or 500) >= 400)


@click.command("invoke", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[PROJECT] TARGET")
@click.option("-X", "--method", "method", default=None, help="HTTP method (default GET, POST with -d).")
@click.option("--request", "request_ref", default=None, metavar="FILE.http#NAME",
              help="Send a saved request instead of TARGET: a .http file (relative to PROJECT) and the "
                   "slugified ### name of one of its requests.")
@click.option("--env", "env_name", default=None, metavar="NAME",
              help="With --request: the environment of http-client(.private).env.json to fill {{variables}}.")
@click.option("-H", "--header", "header_values", multiple=True, help="Request header 'Name: value' (repeatable).")
@click.option("-d", "--data", default=None, help="Request body, or the event for a function id; @FILE reads a file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the answer of a URL path or --async call (default: the function's "
                   "limit + 10); the limit itself is timeout_s in funcstudio.toml.")
@click.option("--event", "event_spec", default=None, metavar="FILE|-|TEMPLATE",
              help="Event for a function id: a JSON file, - for stdin, or a template (funcstudio events list).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override an --event field (dotted path).")
@click.option("--async", "async_", is_flag=True, help="Invoke as InvocationType=Event: 202 at once, result recorded.")
@click.option("--break", "breaks", multiple=True, metavar="FILE:LINE[,COND]",
              help="Stop at this line (repeatable) with a pdb-style prompt reading commands from stdin.")
@click.option("--pdb", "post_mortem", is_flag=True, help="On an uncaught exception, open the prompt at the raising frame.")
@click.option("--profile", is_flag=True, help="Run under cProfile and print the top functions by cumulative time.")
def invoke(args: tuple[str, ...], method: str | None, header_values: tuple[str, ...], data: str | None,
           as_json: bool, timeout: float | None, event_spec: str | None = None, overrides: tuple[str, ...] = (),
           async_: bool = False, request_ref: str | None = None, env_name: str | None = None,
           breaks: tuple[str, ...] = (), post_mortem: bool = False, profile: bool = False) -> None:
    """Invoke TARGET in PROJECT (default: the current folder) once, print the result and record it.

    TARGET is a URL path such as '/api/hello?name=Ada', sent as real HTTP through the gateway, or
    a function id such as cloud-functions/api/hello, hello/index or cocobase/hello (`funcstudio
    routes` lists them; the end of an id, api/hello, or an SCF name, hello, also works), run
    directly with a JSON event.

    \b
    Examples:
      funcstudio invoke sample_projects/pages-showcase '/api/hello?name=Ada'
      funcstudio invoke sample_projects/pages-showcase /api/hello -d '{"name": "Zed"}'
      funcstudio invoke sample_projects/scf-demo hello --event apigw --set queryString.name=Ada
      funcstudio invoke sample_projects/scf-demo tick --event timer --async
      funcstudio invoke sample_projects/pages-showcase --request http-requests/users.http#get-user --env dev
      printf 'p name\\nc\\n' | funcstudio invoke sample_projects/pages-showcase '/api/hello?name=Ada' \\
          --break cloud-functions/api/hello.py:18

    --break and --pdb read debugger commands from stdin (p, pp, n, s, r, c, w, u, d, l, q); at the
    end of stdin the invocation runs on without stopping.

    Exit status: 0 when the function answered without error, 1 when it failed (status >= 400,
    exception, timeout, crash), 2 for usage errors.
    """
    if request_ref is not None and method is None and _is_method(request_ref):
        method, request_ref = request_ref, None  # curl's `--request POST`
    if request_ref is None and env_name is not None:
        raise Usage("--env applies to --request FILE.http#NAME")
    debugging = bool(breaks or post_mortem)
    if debugging and data == "@-":
        raise Usage("--break/--pdb read debugger commands from stdin, so the body cannot come from -d @-")
    if debugging and async_:
        raise Usage("--break/--pdb need an answer to wait for; drop --async")
    if request_ref is not None:
        project, target, method, headers, body = _from_http_file(args, request_ref, env_name, method,
                                                                 header_values, data, event_spec or overrides)
    else:
        if not args:
            raise Usage("expected [PROJECT] TARGET (a URL path such as /api/hello, or a function id), "
                        "or --request FILE.http#NAME")
        project, target = split_args(args)
        if not project.is_dir():
            raise Usage(f"project folder {str(project)!r} does not exist")
        headers = parse_headers(header_values)
        body = read_data(data)
    event = None
    not_json: NotJsonEvent | None = None
    if not target.startswith("/") and not event_spec and body is not None and body.strip():
        try:
            json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            not_json = NotJsonEvent(f"the event for {target} must be JSON: {exc}")
    if (event_spec or async_) and not target.startswith("/") and not_json is None:
        from studio.cli.invoke_event import prepare_event

        try:
            event = prepare_event(target, event_spec, overrides, body)  # usage errors before any worker starts
        except NotJsonEvent as exc:
            not_json = exc  # the platform's 400 for an SCF function, decided once the project is known

    from studio.runtime.records import record_to_json
    from studio.runtime.server import Runtime

    # One call: the zygote imports no framework up front; the one instance imports what it needs.
    runtime = Runtime(project, host="127.0.0.1", port=0, reload=False, preload=[])
    if target.startswith("/") and not runtime.project.functions:
        # the platform's 404 alone reads like a routing bug; the likelier cause is the wrong folder
        click.echo(f"note: no functions found in {runtime.root} (funcstudio check explains why)", err=True)
    if not target.startswith("/"):
        try:
            target = resolve_target(runtime.project, target, runtime.root)  # before any worker starts
        except UnknownTarget as exc:
            if not _has_scf(runtime.project):
                raise
            click.echo(f"funcstudio: {exc.message}", err=True)
            _door_exit(door_record(435, f"FunctionNotFound: function {target!r} does not exist", target), as_json)
        function = runtime.project.function(target)
        if not_json is not None:
            if function is None or function.platform != "scf":
                raise not_json
            _door_exit(door_record(400, f"InvalidParameterValue: the event is not JSON ({not_json.message})",
                                   target, function), as_json)
        if event_spec == "timer":
            from studio.cli.invoke_event import use_declared_timer

            event = use_declared_timer(event, runtime.project.function(target), overrides)
    collector = Collector()
    runtime.bus.subscribe(collector)
    if debugging or profile:
        _arm_debugger(runtime, breaks, post_mortem, profile)
        if debugging and timeout is None:
            timeout = 7 * 24 * 3600.0  # a person at the prompt takes as long as they take
    from studio.store.wiring import record_runtime

    recording = record_runtime(runtime, on_problem=lambda message: click.echo(f"warning: {message}", err=True))
    try:
        runtime.start()
        if target.startswith("/") and (event_spec or async_):
            raise Usage("--event and --async apply to a function id, not a URL path")

        def call():
            if target.startswith("/"):
                return _invoke_path(runtime, collector, target, method, headers, body, timeout)
            if event_spec or async_:
                from studio.cli.invoke_event import invoke_with_event

                return invoke_with_event(runtime, collector, target, event, event_spec, async_, timeout)
            return _invoke_function(runtime, target, body, method, headers)

        record = _call_with_prompt(runtime, call, as_json) if debugging else call()
        logs = collector.logs.get(record.request_id, [])
        # An async caller gets only the ack with the request id; the run itself (its return value
        # among the platform lines) is in the logs. The exit status still follows the run.
        shown = _async_view(record) if async_ else record
        if as_json:
            payload = record_to_json(shown, logs)
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            click.echo(render_text(shown, logs))
            if record.profile:
                click.echo(render_profile(record.profile, runtime.root))
    finally:
        runtime.stop()
        recording.close()
    sys.exit(EXIT_FAILED if failed(record) else EXIT_OK)


def invoke_once(runtime, collector: Collector, target: str, *, method: str | None = None,
                headers: list[tuple[str, str]] | None = None, body: bytes | None = None, event: object = None,
                timeout: float | None = None):
    """One call on a started runtime, as `funcstudio invoke` makes it: a URL path as real HTTP through
    the gateway, a function id (or alias, or the end of one) directly with `event` (or `body` as JSON).
    The pytest plugin (studio/testing) calls this too. Raises Usage or ClickException."""
    headers = list(headers or [])
    if target.startswith("/"):
        return _invoke_path(runtime, collector, target, method, headers, body, timeout)
    ident = resolve_target(runtime.project, target, runtime.root)
    if event is not None:
        from studio.cli.invoke_event import invoke_with_event

        return invoke_with_event(runtime, collector, ident, event, None, False, timeout)
    return _invoke_function(runtime, ident, body, method, headers)


def _async_view(record):
    """What an InvocationType=Event caller receives: 202 and the request id, no value, no body."""
    import dataclasses

    return dataclasses.replace(record, status=202, response_headers=(), response_body=b"", return_value=None)


def _door_exit(record, as_json: bool) -> None:
    from studio.runtime.records import record_to_json

    click.echo(json.dumps(record_to_json(record, []), ensure_ascii=False, indent=2) if as_json
               else render_text(record, []))
    sys.exit(EXIT_FAILED)


def _is_method(value: str) -> bool:
    from studio.cli.http_request_arg import looks_like_method

    return looks_like_method(value)


def _from_http_file(args, ref: str, env_name, method, header_values, data, event_options):
    """(project, target, method, headers, body) of the saved request `ref`; -H adds headers."""
    if len(args) > 1:
        raise Usage("--request replaces TARGET: give only the PROJECT folder")
    if data is not None or event_options:
        raise Usage("--request sends the saved body; -d, --event and --set do not apply")
    project = Path(args[0]) if args else Path(".")
    if not project.is_dir():
        raise Usage(f"project folder {str(project)!r} does not exist")
    from studio.cli.http_request_arg import load_request
    from studio.project.settings import load_settings
    from studio.store.request_migration import migrate_saved_requests

    settings, _problems = load_settings(project)
    moved = migrate_saved_requests(project, settings.requests.dir)
    if moved is not None:
        click.echo(moved.message, err=True)
    resolved, _label = load_request(project.resolve(), ref, env_name, settings.requests.dir)
    headers = [*resolved.headers, *parse_headers(header_values)]
    body = resolved.body.encode("utf-8") if resolved.body else None
    return project, resolved.target, (method or resolved.method).upper(), headers, body


def _arm_debugger(runtime, breaks: tuple[str, ...], post_mortem: bool, profile: bool) -> None:
    from studio.cli.debug_prompt import parse_break
    from studio.runtime.debug import BreakpointError

    hub = runtime.debug
    for spec in breaks:
        try:
            hub.add(parse_break(spec, runtime.root))
        except BreakpointError as exc:
            raise Usage(str(exc)) from None
    hub.stop_on_exception = post_mortem
    hub.all_requests = True  # this runtime serves only this call
    hub.profile_requests = profile


def _call_with_prompt(runtime, call, as_json: bool):
    """Run `call` on a thread and answer its pauses from stdin on this one."""
    from studio.cli.debug_prompt import run_prompt
    from studio.runtime.debug import Pauses

    pauses = Pauses()
    unsubscribe = runtime.bus.subscribe(pauses)
    done = threading.Event()
    outcome: dict = {}

    def worker():
        try:
            outcome["record"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=worker, name="funcstudio-invoke", daemon=True)
    thread.start()
    try:
        run_prompt(runtime.debug, pauses, done, out=sys.stderr if as_json else sys.stdout, root=runtime.root)
        thread.join()
    finally:
        unsubscribe()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["record"]


def render_profile(rows, root, limit: int = 20) -> str:
    import os

    out = [f"-- profile (top {min(limit, len(rows))} by cumulative time)",
           f"{'cumulative':>12} {'own':>10} {'calls':>7}  function"]
    for row in rows[:limit]:
        where = row.get("file") or ""
        if where and not where.startswith("<"):
            relative = os.path.relpath(where, root)
            where = relative if not relative.startswith("..") else where
        location = f"  {where}:{row.get('line')}" if where else ""
        out.append(f"{row.get('cumtime_ms', 0.0):>9.2f} ms {row.get('tottime_ms', 0.0):>7.2f} ms "
                   f"{row.get('calls', 0):>7}  {row.get('function')}{location}")
    return "\n".join(out)


def _invoke_path(runtime, collector: Collector, target: str, method: str | None, headers, body, timeout):
    method = (method or ("POST" if body is not None else "GET")).upper()
    limit = max((fn.limits.timeout_s for fn in runtime.project.functions), default=30.0)
    wait = timeout if timeout is not None else limit + 10.0
    try:
        request_id = http_call(runtime, method, target, headers, body, wait)
    except (OSError, http.client.HTTPException) as exc:
        raise click.ClickException(f"the request to {target} failed: {exc}") from None
    record = collector.wait(request_id, wait)
    if record is None:
        raise click.ClickException(f"no record arrived for request {request_id or '?'} of {target}")
    return record


def _invoke_function(runtime, ident: str, body: bytes | None, method: str | None, headers):
    from studio.runtime.server import UnknownFunction

    event: object = {}
    if body is not None and body.strip():
        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotJsonEvent(f"the event for {ident} must be JSON: {exc}") from None
    fn = runtime.project.function(ident)
    if fn is not None and fn.kind != "scf-event" and isinstance(event, dict):
        if method:
            event.setdefault("httpMethod", method.upper())
        if headers:
            event.setdefault("headers", dict(headers))
    try:
        record, _logs = runtime.invoke_function(ident, event)
    except UnknownFunction:
        known = ", ".join(f.id for f in runtime.project.functions) or "(none)"
        raise Usage(f"no function {ident!r} in {runtime.root}; known: {known}") from None
    return record

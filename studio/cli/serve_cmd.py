"""`funcstudio serve`: the runtime, headless, like a platform's `dev` server."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

import click

from studio.cli._project_arg import clip, unrouted_label
from studio.project.display import escaped

PRINT_EVERY_S = 0.05
"""serve prints what happened this often (a person cannot tell; a busy server saves a wake-up per request)."""
PRINT_BACKLOG = 10_000


def format_route_table(project) -> list[str]:
    rows = []
    for route in project.routes:
        methods = ",".join(route.methods) if route.methods else "ANY"
        what = route.kind + (f" ({route.framework})" if route.framework else "")
        rows.append((methods, escaped(route.path), escaped(route.function_id), escaped(what)))
    if not rows:
        return ["  (no routes)"]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [f"  {m:<{widths[0]}}  {p:<{widths[1]}}  {f:<{widths[2]}}  {w}" for m, p, f, w in rows]


def format_invocation(record) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(record.started_at or time.time()))
    status = record.status if record.status is not None else "-"
    path = clip(record.path + (f"?{record.query_string}" if record.query_string else ""))
    function = escaped(record.function_id) if record.function_id else unrouted_label(record.status)
    extra = f"  {len(record.warnings)} warning{'s' if len(record.warnings) != 1 else ''}" if record.warnings else ""
    fault = f"  [{record.fault}]" if record.fault else ""
    if record.error is not None and not record.fault:  # an SCF error behind API Gateway still answers 200
        fault = f"  {clip(record.error.type or 'error', 60)}"
    return (f"{at}  {clip(record.method, 20):<7} {path}  {status}  {record.duration_ms:.1f}ms  {function}"
            f"{extra}{fault}")


def format_reload(event) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(event.time))
    changed = ", ".join(escaped(path) for path in event.changed[:3]) + (f" (+{len(event.changed) - 3})" if len(event.changed) > 3 else "")
    retired = f"; retired {', '.join(event.retired)}" if event.retired else ""
    count = f"{event.function_count} function{'s' if event.function_count != 1 else ''}"
    return f"{at}  reload  {changed}  ({count}, {event.reload_ms:.0f}ms{retired})"


@click.command("serve")
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default=None, help="Interface to bind (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default from settings: 8088; 0 picks a free one).")
@click.option("--no-reload", is_flag=True, help="Do not watch the project for changes.")
@click.option("--timers", is_flag=True, help="Fire SCF timer triggers on their cron schedule.")
@click.option("--debugpy", "debugpy_port", type=click.IntRange(0, 65535), is_flag=False, flag_value=5678,
              default=None, metavar="[PORT]",
              help="Let VS Code or any DAP client attach on 127.0.0.1:PORT (default 5678); every instance "
                   "joins as a child process. Needs the `debug` extra: pip install 'funcstudio[debug]'.")
def serve(project: Path, host: str | None, port: int | None, no_reload: bool, timers: bool = False,
          debugpy_port: int | None = None) -> None:
    """Run the local runtime server for PROJECT (default: the current folder)."""
    attach = _start_debugpy(debugpy_port) if debugpy_port is not None else None
    from studio.runtime.access import is_loopback
    from studio.runtime.events import InstanceExited, InvocationFinished, ProjectChanged
    from studio.runtime.http_server import PortInUse
    from studio.runtime.server import Runtime
    from studio.store.wiring import record_runtime

    runtime = Runtime(project, host=host, port=port, reload=not no_reload)
    runtime.debug.external_debugger = attach is not None
    # Subscribers only enqueue (on the gateway's event loop); the store is written by its own process.
    recording = record_runtime(runtime, on_problem=lambda message: click.echo(f"warning: {message}", err=True))
    # Printed in batches every PRINT_EVERY_S: waking the printing thread for each invocation made it
    # take the GIL from the event loop once per request (a third of the throughput at 64 clients).
    events: deque = deque()

    def enqueue(event) -> None:
        if isinstance(event, (InvocationFinished, ProjectChanged)) or (
            isinstance(event, InstanceExited) and event.leftovers
        ):
            if len(events) < PRINT_BACKLOG:
                events.append(event)  # else the printer fell behind; the store still has everything

    runtime.bus.subscribe(enqueue)
    if not is_loopback(runtime.host):
        click.echo(f"warning: serving on {runtime.host}, not loopback: this project's functions are reachable "
                   f"from the network (the control API still answers only this machine's names and "
                   f"refuses other sites' pages).", err=True)
    try:
        url = runtime.start()
    except PortInUse as exc:
        runtime.stop()
        recording.close()
        raise click.ClickException(str(exc.strerror or exc)) from None
    except OSError as exc:
        runtime.stop()
        recording.close()
        reason = str(exc.strerror or exc)
        if not reason.startswith("cannot listen"):  # the gateway's own message already names the address
            reason = f"cannot listen on {runtime.host}:{runtime.port}: {reason}"
        raise click.ClickException(reason) from None

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        stop.set()

    scheduler = None
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo(f"funcstudio serving {runtime.project.name} at {url}")
        if attach:
            click.echo(f"debugpy: attach a DAP client to {attach} (VS Code: \"request\": \"attach\", "
                       f"\"connect\": {{\"port\": {attach.rsplit(':', 1)[1]}}}, \"subProcess\": true); "
                       "function timeouts are lifted while it may hold them at breakpoints")
        for problem in _startup_problems(runtime.project):
            where = f"{problem.file}:{problem.line}: " if problem.file and problem.line else (
                f"{problem.file}: " if problem.file else "")
            hint = f" ({problem.hint})" if problem.hint and problem.severity == "warning" else ""
            click.echo(f"  {'problem' if problem.severity == 'error' else 'warning'}: {where}{problem.message}{hint}",
                       err=True)
        click.echo("routes:")
        for line in format_route_table(runtime.project):
            click.echo(line)
        click.echo(("watching for changes" if not no_reload else "reload off") + "; Ctrl-C stops", err=True)
        scheduler = _start_timers(runtime) if timers else None
        sys.stdout.flush()
        while not stop.wait(PRINT_EVERY_S):
            _print_events(events)
        _print_events(events)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if scheduler is not None:
            scheduler.stop()
        runtime.stop()
        recording.close()
        click.echo("stopped", err=True)


def _print_events(events: deque) -> None:
    """Everything that happened since the last call, in one write."""
    from studio.runtime.events import InstanceExited, InvocationFinished

    lines = []
    while events:
        event = events.popleft()
        if isinstance(event, InvocationFinished):
            lines.append(format_invocation(event.record))
        elif isinstance(event, InstanceExited):
            lines.extend(f"  {event.function_id} ({event.reason}): {line}" for line in event.leftovers)
        else:
            lines.append(format_reload(event))
    if lines:
        click.echo("\n".join(lines))
        sys.stdout.flush()


def _start_debugpy(port: int) -> str:
    """debugpy's adapter on loopback, before any worker starts: the zygote and every instance forked
    from it join the session as child processes (debugpy's subProcess support)."""
    try:
        import debugpy
    except ImportError:
        raise click.ClickException("--debugpy needs debugpy, which is not installed: "
                                   "pip install 'funcstudio[debug]'") from None
    debugpy.configure(subProcess=True)
    try:
        host, bound = debugpy.listen(("127.0.0.1", port))
    except Exception as exc:  # noqa: BLE001 - a taken port or a failing adapter is one clear message
        raise click.ClickException(f"debugpy cannot listen on 127.0.0.1:{port}: {exc}") from None
    return f"{host}:{bound}"


def _startup_problems(project) -> list:
    """Errors, plus the warnings that explain an empty route table (no functions, empty folder)."""
    return [p for p in project.problems
            if p.severity == "error" or p.code in ("no-functions", "empty-project", "missing-project")]


def _start_timers(runtime):
    """`--timers`: a scheduler thread firing each enabled SCF timer trigger (studio.runtime.timers)."""
    from studio.runtime.timers import TimerScheduler

    scheduler = TimerScheduler(runtime)
    scheduler.start()
    for timer in scheduler.timers:
        when = timer.next_fire.strftime("%Y-%m-%d %H:%M:%S UTC") if timer.next_fire else "never"
        click.echo(f"timer {timer.function.id} {timer.trigger.name} [{timer.cron.expression}] next {when}")
    for problem in scheduler.problems:
        click.echo(f"  timer problem: {problem}", err=True)
    if not scheduler.timers and not scheduler.problems:
        click.echo("timers: no enabled SCF timer triggers", err=True)
    return scheduler

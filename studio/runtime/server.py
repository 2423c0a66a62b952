"""The runtime in one object: project + supervisor + gateway + reloader + event bus.

`serve`, `invoke`, the tests and the TUI all use it the same way:

    runtime = Runtime(root, settings, host="127.0.0.1", port=0)
    url = runtime.start()          # serving from a thread
    runtime.bus.subscribe(...)     # store recorder, printers, the TUI
    runtime.invoke_function("scf/hello", {"k": 1})
    runtime.stop()                 # every worker killed
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from pathlib import Path

from studio.project.model import Project
from studio.project.settings import Settings
from studio.runtime.events import EventBus, InvocationRecord, LogLine, ProjectChanged
from studio.runtime.gateway import Gateway, Lookup
from studio.runtime.http_protocol import HttpLimits
from studio.runtime.http_server import HttpServer, PortInUse
from studio.runtime.last_good import settle
from studio.runtime.supervisor import Supervisor, choose_interpreter, new_request_id

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005
GC_THRESHOLD = 10_000
"""Allocations between young-generation collections while a runtime serves (default 700)."""

__all__ = ["Runtime", "PortInUse", "UnknownFunction"]


class UnknownFunction(LookupError):
    pass


def load_project_and_settings(root: Path, settings: Settings | None) -> tuple[Project, Settings]:
    from studio.project.loader import load_project, load_project_with_settings

    if settings is None:
        return load_project_with_settings(root)
    return load_project(root), settings


class Runtime:
    def __init__(self, root: str | Path, settings: Settings | None = None, host: str | None = None,
                 port: int | None = None, *, reload: bool = True, lookup: Lookup | None = None,
                 project: Project | None = None, preload: list[str] | None = None) -> None:
        self.root = Path(root).resolve()
        if project is None:
            project, settings = load_project_and_settings(self.root, settings)
        elif settings is None:
            from studio.project.settings import load_settings

            settings, _ = load_settings(self.root)
        self.project: Project = project
        self.settings: Settings = settings
        self.host = host if host is not None else settings.host
        self.port = port if port is not None else settings.port
        self.bus = EventBus()
        # preload: modules the zygote imports before forking; None = the frameworks the project uses
        self.supervisor = Supervisor(project, settings, self.bus, preload=preload)
        self.debug = self.supervisor.debug
        """Breakpoints, pauses and debugger commands (runtime/debug.py)."""
        self.gateway = Gateway(self.supervisor, project, host=self.host, port=self.port, lookup=lookup)
        self.reload_enabled = reload
        self._reloader = None
        self._server: HttpServer | None = None
        self.http_limits = HttpLimits()
        """Framing limits of the listening server (body size, stall timeout); read at start()."""
        self._reload_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> str:
        """Bind, serve from a thread and start watching. Raises PortInUse. Returns the URL."""
        # A request thread waiting for the GIL while the store writer (or the studio) runs Python
        # would wait out the whole switch interval (5 ms by default); the request path is short and
        # I/O-bound, so hand the GIL over sooner (benchmarks/invoke_overhead.py: recording's cost
        # fell from ~45 % to ~25 % of a warm request on 2 cores).
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        # A request allocates a few hundred objects, nearly all freed by reference counting; the
        # cyclic collector's default (every 700 allocations) cost ~10 us per request, this ~5.
        if gc.get_threshold()[0] < GC_THRESHOLD:
            gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
        server = HttpServer(self.gateway, self.host, self.port, self.http_limits)
        server.start()
        self._server = server
        self.port = server.port
        self.gateway.port = self.port
        threading.Thread(target=self.supervisor.warm, name="funcstudio-zygote-warm", daemon=True).start()
        if self.reload_enabled:
            from studio.runtime.reloader import Reloader

            self._reloader = Reloader(self.root, self.reload)
            self._reloader.start()
        return self.url

    def stop(self) -> None:
        if self._reloader is not None:
            self._reloader.stop()
            self._reloader = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.supervisor.shutdown()
        self.gateway.close()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- reload --------------------------------------------------------------------------

    def reload(self, changed: list[str]) -> ProjectChanged | None:
        """Re-discover, swap the routing state whole, retire affected instances, publish."""
        with self._reload_lock:
            t0 = time.perf_counter()
            self.gateway.reloading = True
            try:
                from studio.project.loader import load_project_with_settings

                old = self.project
                try:
                    new_project, new_settings, kept = settle(
                        old, lambda: load_project_with_settings(self.root), changed)
                except Exception:  # noqa: BLE001 - keep serving the old table
                    log.exception("re-discovering %s failed; keeping the previous routes", self.root)
                    return None
                self.supervisor.entry_sources.reloaded(
                    changed, keep=[self.root / fn.entry for fn in old.functions if fn.id in kept])
                affected = self.supervisor.affected_by(changed) - set(kept)
                for fn in old.functions:
                    if new_project.function(fn.id) != fn:
                        affected.add(fn.id)  # removed, or its definition changed
                if any(Path(p).name in ("funcstudio.toml", "pyproject.toml", ".env") for p in changed):
                    affected.update(fn.id for fn in old.functions)
                # Stale first, then the new table: no request can reach old code through the new
                # table; the (slower) kills come after the swap.
                retired, victims = self.supervisor.mark_stale(affected)
                self.project = new_project
                if new_settings != self.settings:
                    self.settings = new_settings
                    self.supervisor.settings = new_settings
                    self.supervisor.python = choose_interpreter(self.root, new_settings)
                self.supervisor.set_project(new_project)
                self.supervisor.last_good = frozenset(kept)
                self.gateway.set_project(new_project)
            finally:
                self.gateway.reloading = False
            # the replacements start now, in the background: the next request finds one warm
            self.supervisor.prewarm_soon(fid for fid in retired if new_project.function(fid) is not None)
            self.supervisor.kill_retired(victims, "stale")
            event = ProjectChanged(
                changed=tuple(self._rel(p) for p in changed), time=time.time(),
                function_count=len(new_project.functions), retired=retired,
                reload_ms=(time.perf_counter() - t0) * 1000,
            )
            self.bus.publish(event)
            return event

    def _rel(self, path: str) -> str:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError):
            return path

    # -- direct invocation ---------------------------------------------------------------

    def invoke_function(self, ident: str, event: object = None, async_: bool = False,
                        trigger: str | None = None, *, debug: bool = True, profile: bool = False,
                        request_id: str | None = None) -> tuple[InvocationRecord, list[LogLine]] | str:
        """Run a function by id or alias with an event. Async returns the request id at once.
        `debug`: the session breakpoints apply (runtime.debug); `profile`: run under cProfile."""
        function = self.project.function(ident)
        if function is None:
            raise UnknownFunction(ident)
        event = {} if event is None else event
        trig = trigger or ("async" if async_ else "invoke")
        options = {"debug": debug, "profile": profile}
        if async_:
            request_id = request_id or new_request_id()
            threading.Thread(target=self.gateway.invoke_direct, args=(function, event, trig, request_id),
                             kwargs=options, name=f"funcstudio-async-{request_id[:8]}", daemon=True).start()
            return request_id
        return self.gateway.invoke_direct(function, event, trig, request_id, **options)

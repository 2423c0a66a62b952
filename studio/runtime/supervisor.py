"""Warm pools of worker instances, one invocation at a time per instance.

The supervisor owns every instance: it spawns them (through the zygote-backed
`InstanceFactory`), hands one to each invocation, keeps up to `max_instances` warm per
function, evicts idle ones and the least recently used beyond a global cap, retires stale
ones after a reload. A request that finds every instance of its function busy waits in a bounded
FIFO queue (`QUEUE_LIMIT` per function) until one frees up or its deadline passes. `run` serves an
invocation on the calling thread; `run_on_loop` serves it on the event loop when a warm instance is
free or frees up while it waits, and leaves starting one to `run`. What an instance
reports becomes an `InvocationRecord` in records.py; the code version of an instance is computed
when it starts (and again only if it imports more project files), never per request.

It publishes `InvocationStarted`/`LogLine`/`InstanceStarted`/`InstanceExited`; the caller (the
gateway's teardown, or `Runtime.invoke_function`) publishes `InvocationFinished`, so exactly
one place ends every invocation, also after an exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studio.project.model import Function, Project
from studio.project.settings import Settings
from studio.runtime.debug import DebugHub
from studio.runtime.events import (
    ErrorInfo,
    EventBus,
    InstanceExited,
    InstanceStarted,
    InvocationRecord,
    InvocationStarted,
    LogLine,
    ParityWarning,
)
from studio.runtime.faults import FaultContext, describe
from studio.runtime.last_good import EntrySources
from studio.runtime.platforms import fault_log_lines, function_extra
from studio.runtime.records import InstanceHandle, InstanceReport, fault_record, finished_record
from studio.runtime.undeclared import UndeclaredDeps
from studio.runtime.worker_env import worker_extra

log = logging.getLogger(__name__)

# framework name (Function.framework) -> modules worth importing in the zygote
FRAMEWORK_MODULES: dict[str, tuple[str, ...]] = {
    "flask": ("flask",),
    "django": ("django", "django.core.handlers.wsgi"),
    "fastapi": ("fastapi", "starlette.applications"),
    "starlette": ("starlette.applications",),
    "sanic": ("sanic",),
    "quart": ("quart",),
    "bottle": ("bottle",),
    # imported through the compatibility shim; CP-SHIM goes only to functions that use cocopot
    "cocopot": ("cocopot",),
}

EXTERNAL_DEBUGGER_DEADLINE_S = 24 * 3600.0
"""The deadline while a DAP client may hold instances at its breakpoints (`serve --debugpy`)."""
QUEUE_LIMIT = 1024
"""Requests that may wait for one function's busy instances; one more is answered 503 at once."""


def choose_interpreter(root: Path, settings: Settings) -> str:
    """`python` from settings, else the project's `.venv`, else funcstudio's own (DESIGN.md §3)."""
    if settings.python:
        candidate = Path(settings.python).expanduser()
        if not candidate.is_absolute():
            candidate = root / candidate
        return str(candidate)
    for rel in (".venv/bin/python", ".venv/Scripts/python.exe"):
        venv_python = root / rel
        if venv_python.exists():
            return str(venv_python)
    return sys.executable


def preload_modules(project: Project) -> list[str]:
    """What the zygote imports before forking: the frameworks this project uses."""
    wanted: list[str] = []
    for fn in project.functions:
        for module in FRAMEWORK_MODULES.get(fn.framework or "", ()):
            if module not in wanted:
                wanted.append(module)
    return wanted


def platform_extra(settings: Settings) -> dict:
    """Platform settings for the adapters, flattened: {"edgeone.headers": "production", "scf.region": ...}."""
    extra = {}
    for section in ("edgeone", "scf", "cocobase"):
        for key, value in dataclasses.asdict(getattr(settings, section)).items():
            extra[f"{section}.{key}"] = value
    return extra


_random_ids = threading.local()
"""Per thread: 4 KiB of os.urandom, 16 bytes per request id (one getrandom call per 256 ids)."""
if hasattr(os, "register_at_fork"):  # a forked child must not hand out its parent's next ids
    os.register_at_fork(after_in_child=lambda: setattr(_random_ids, "pool", b""))


def new_request_id() -> str:
    """A random (version 4) UUID as text, like `str(uuid.uuid4())` without a syscall and a UUID
    object per request."""
    pool = getattr(_random_ids, "pool", b"")
    if not pool:
        pool = os.urandom(4096)
    raw, _random_ids.pool = pool[:16], pool[16:]
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[raw[8] >> 6]}{h[17:20]}-{h[20:]}"


class CodeVersions:
    """Hash of an entry file plus the project modules it imported, cached by (mtime, size)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def file_digest(self, path: str) -> str:
        try:
            st = os.stat(path)
        except OSError:
            return "missing"
        with self._lock:
            hit = self._cache.get(path)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
        try:
            with open(path, "rb") as fh:
                digest = hashlib.sha1(fh.read()).hexdigest()
        except OSError:
            digest = "unreadable"
        with self._lock:
            self._cache[path] = (st.st_mtime_ns, st.st_size, digest)
        return digest

    def version(self, paths: Iterable[str], known: dict[str, str] | None = None) -> str:
        """`known`: digests of sources that are not (or no longer) what the file holds."""
        h = hashlib.sha1()
        for path in sorted(set(paths)):
            h.update(path.encode("utf-8", "surrogateescape"))
            digest = known.get(path) if known else None
            h.update((digest or self.file_digest(path)).encode())
        return h.hexdigest()[:12]


def project_modules(root: Path, modules: Iterable[str]) -> list[str]:
    """Keep the module files that belong to the project (not its .venv or site-packages)."""
    root_s = str(root.resolve())
    kept = []
    for mod in modules:
        if not mod:
            continue
        path = os.path.abspath(mod)
        if not path.startswith(root_s + os.sep):
            continue
        rel = path[len(root_s) + 1 :]
        top = rel.split(os.sep, 1)[0]
        if top in (".venv", "venv", ".funcstudio", ".git") or "site-packages" in rel:
            continue
        kept.append(path)
    return kept


@dataclass
class Invocation:
    """What `Supervisor.run` hands back: the record (not yet published) and its log lines."""

    record: InvocationRecord
    logs: list[LogLine] = field(default_factory=list)


@dataclass(eq=False)
class _Slot:
    """One pooled instance with the supervisor's bookkeeping around it."""

    instance: InstanceHandle | None
    function_id: str
    busy: bool = False
    stale: bool = False
    last_used: float = field(default_factory=time.monotonic)
    code_version: str | None = None
    project_files: list[str] = field(default_factory=list)
    modules_seen: object = None
    """The instance's `modules` set `code_version` was computed from (it is replaced on change)."""
    warming: bool = False
    """Started by `prewarm_soon` for no request in particular: requests wait for it to be ready."""
    wait_ms: float = 0.0
    """How long the request now holding this slot queued for it (its record's `wait_ms`)."""


BUSY = _Slot(instance=None, function_id="")
"""What waiting in line returns when the request's deadline passed first."""


@dataclass(eq=False)
class _Waiter:
    """A request queued for a busy function: handed a slot, or told to look again. A thread waits
    on `event`; a request on the event loop awaits `future` (resolved from any thread)."""

    event: threading.Event = field(default_factory=threading.Event)
    slot: _Slot | None = None
    future: asyncio.Future | None = None

    def notify(self) -> None:
        future = self.future
        if future is None:
            self.event.set()
            return
        try:
            future.get_loop().call_soon_threadsafe(_resolve, future)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Supervisor:
    def __init__(self, project: Project, settings: Settings, bus: EventBus, factory=None,
                 preload: list[str] | None = None) -> None:
        self.project = project
        self.settings = settings
        self.bus = bus
        self.python = choose_interpreter(project.root, settings)
        self._factory = factory
        self.preload = preload_modules(project) if preload is None else list(preload)
        self._slots: dict[str, list[_Slot]] = {}
        self._waiters: dict[str, deque[_Waiter]] = {}
        self.last_good: frozenset[str] = frozenset()
        """Functions serving their last good version (their entry does not parse): no new instances."""
        self._cond = threading.Condition()
        self._closed = False
        self.versions = CodeVersions()
        self.entry_sources = EntrySources()
        """What new instances compile for their entry (see last_good.py)."""
        self._inner_routes: dict[str, list[dict]] = {}
        self._dead: list[_Slot] = []
        self.undeclared = UndeclaredDeps()
        self.debug = DebugHub(bus)
        self._reaper = threading.Thread(target=self._reap_idle, name="funcstudio-idle-reaper", daemon=True)
        self._reaper.start()

    # -- instances ---------------------------------------------------------------------------

    @property
    def factory(self):
        if self._factory is None:
            from studio.runtime.instance import InstanceFactory

            self._factory = InstanceFactory(self.preload)
        return self._factory

    def warm(self) -> None:
        """Start the zygote now (it pre-imports the frameworks), so the first request only forks."""
        warm = getattr(self.factory, "warm", None)
        if warm is not None:
            try:
                warm(self.python)
            except Exception:  # noqa: BLE001 - the first spawn will try again and report
                log.exception("starting the zygote for %s failed", self.python)

    def instance_config(self, function: Function):
        """What a worker needs to load this function (see instance.InstanceConfig)."""
        from studio.runtime.instance import InstanceConfig

        root = self.project.root.resolve()
        env = {**self.settings.env, **dict(function.env)}
        fn_settings = self.settings.functions.get(function.id)
        if fn_settings is not None:
            env.update(fn_settings.env)
        entry_path = str(root / function.entry)
        return InstanceConfig(
            function_id=function.id,
            platform=function.platform,
            kind=function.kind,
            entry_path=entry_path,
            code_root=str(root / function.code_root),
            project_root=str(root),
            handler=function.handler,
            env={str(k): str(v) for k, v in env.items()},
            quirks=self.settings.quirks,
            memory_mb=function.limits.memory_mb,
            output_cap_bytes=self.settings.runtime.output_cap_bytes,
            python=self.python,
            extra={**platform_extra(self.settings), **function_extra(function), **worker_extra(env)},
            entry_source=self.entry_sources.for_instance(entry_path),
        )

    def _spawn(self, function: Function) -> InstanceHandle:
        instance = self.factory.spawn(self.instance_config(function))
        if instance.load_error is None:
            self.bus.publish(InstanceStarted(
                instance_id=str(instance.id), function_id=function.id, pid=int(instance.pid or 0),
                init_ms=float(instance.init_ms or 0.0),
            ))
            if instance.inner_routes is not None:
                self._inner_routes[function.id] = list(instance.inner_routes)
        return instance

    def _kill(self, slot_or_instance, function_id: str, reason: str, exit_code: int | None = None) -> None:
        from studio.runtime.instance import leftover_line

        instance = slot_or_instance.instance if isinstance(slot_or_instance, _Slot) else slot_or_instance
        try:
            instance.kill(reason)
        except Exception:  # noqa: BLE001 - a dying instance must not fail the caller
            log.exception("killing instance %s failed", instance.id)
        self.bus.publish(InstanceExited(
            instance_id=str(instance.id), function_id=function_id, pid=int(instance.pid or 0),
            reason=reason, exit_code=exit_code if exit_code is not None else instance.exit_code,
            leftovers=tuple(leftover_line(pid, command) for pid, command in instance.leftovers),
        ))

    def _acquire(self, function: Function) -> tuple[_Slot | None, bool]:
        """A slot marked busy (and whether it is new), or (None, False) when all stay busy."""
        try:
            return self._acquire_slot(function)
        finally:
            if self._dead:
                self._bury_dead()

    def _acquire_slot(self, function: Function) -> tuple[_Slot | None, bool]:
        limit = max(1, self.settings.runtime.max_instances)
        wait_until = time.monotonic() + max(1.0, float(function.limits.timeout_s or 0))
        waiter: _Waiter | None = None
        entered = time.perf_counter()

        def waited(slot: _Slot) -> _Slot:
            # only a request that queued waited; the holder of a busy slot is the only one writing this
            slot.wait_ms = (time.perf_counter() - entered) * 1000.0 if waiter is not None else 0.0
            return slot

        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the runtime is shutting down")
                slots = self._slots.setdefault(function.id, [])
                queue = self._waiters.setdefault(function.id, deque())
                if waiter is not None and waiter.slot is not None:
                    return waited(waiter.slot), False  # handed over by `_release`, already busy
                if waiter is None and queue:
                    pass  # others wait already: first come, first served
                else:
                    for slot in list(slots):
                        if slot.busy or slot.stale:
                            continue
                        if slot.instance.exited():
                            slots.remove(slot)  # died while idle (OOM killer, kill -9): never hand it out
                            self._dead.append(slot)
                            continue
                        slot.busy = True
                        return waited(slot), False
                    if len(slots) < limit and not self._keep_to_warm(function, slots):
                        slot = waited(_Slot(instance=None, function_id=function.id, busy=True))
                        slots.append(slot)  # reserve the place while spawning outside the lock
                        break
                if waiter is None:
                    if len(queue) >= QUEUE_LIMIT:
                        return None, False
                    waiter = _Waiter()
                    queue.append(waiter)
                else:
                    queue.appendleft(waiter)  # woken to look again: keep its place at the head
                remaining = wait_until - time.monotonic()
                if remaining <= 0:
                    queue.remove(waiter)
                    return None, False
                waiter.event.clear()
                self._cond.release()
                try:
                    waiter.event.wait(remaining)
                finally:
                    self._cond.acquire()
                if waiter.slot is None and waiter in queue:
                    queue.remove(waiter)  # its deadline passed while every instance stayed busy
                    return None, False
                # handed a slot (returned at the top), or woken to look again: a place freed up
        try:
            slot.instance = self._spawn(function)
        except BaseException:
            self._drop(slot)
            raise
        self._set_code_version(slot, function)
        self._enforce_global_cap()
        return slot, True

    def _keep_to_warm(self, function: Function, slots: list[_Slot]) -> bool:
        """Under the lock: whether a request should wait for this function's warm instance rather
        than start another, because its entry does not parse right now (an unfinished in-place save,
        or the last good version serving): a new instance would only answer a load error."""
        if any(s.warming for s in slots):
            return True  # a replacement is being started already: the first request takes it
        if not any(s.instance is not None and not s.stale for s in slots):
            return False  # nothing warm to wait for: start one (and report its load error if any)
        if function.id in self.last_good:
            return True
        return not self.entry_sources.parses(os.path.abspath(self.project.root / function.entry))

    def _has_warm(self, function_id: str) -> bool:
        """A loaded, current instance of this function exists (busy or idle)."""
        with self._cond:
            return any(s.instance is not None and not s.stale and s.instance.load_error is None
                       for s in self._slots.get(function_id, ()))

    def _wake_next(self, function_id: str, slot: _Slot | None) -> None:
        """Under the lock: hand `slot` (busy) to the first waiter, or wake it to look again (a place
        freed up). Returns nothing; a slot nobody waits for stays idle."""
        queue = self._waiters.get(function_id)
        if not queue:
            if slot is not None:
                slot.busy = False
            return
        waiter = queue.popleft()
        if slot is not None:
            waiter.slot = slot  # stays busy: no other request can take it in between
        waiter.notify()

    def waiting(self) -> int:
        """Requests queued for a busy function right now (for /health)."""
        with self._cond:
            return sum(len(queue) for queue in self._waiters.values())

    def _bury_dead(self) -> None:
        with self._cond:
            dead, self._dead = self._dead, []
        for slot in dead:
            self._kill(slot, slot.function_id, "crash")

    def _drop(self, slot: _Slot) -> None:
        with self._cond:
            slots = self._slots.get(slot.function_id, [])
            if slot in slots:
                slots.remove(slot)
            self._wake_next(slot.function_id, None)  # its place is free: the next waiter may spawn

    def _release(self, slot: _Slot, keep: bool) -> None:
        with self._cond:
            slot.last_used = time.monotonic()
            retire = not keep or slot.stale or self._closed
            if retire:
                slot.busy = False
                slots = self._slots.get(slot.function_id, [])
                if slot in slots:
                    slots.remove(slot)
                self._wake_next(slot.function_id, None)
            else:
                self._wake_next(slot.function_id, slot)
        if retire and keep is True:
            # a graceful stop can take a moment (ASGI lifespan shutdown): not on the request's time
            reason = "shutdown" if self._closed else "stale"
            threading.Thread(target=self._kill, args=(slot, slot.function_id, reason),
                             name="funcstudio-retire", daemon=True).start()

    def _idle_slots(self) -> list[_Slot]:
        return [s for slots in self._slots.values() for s in slots if not s.busy and s.instance is not None]

    def _enforce_global_cap(self) -> None:
        cap = self.settings.runtime.max_total_instances
        victims = []
        with self._cond:
            total = sum(len(s) for s in self._slots.values())
            if total <= cap:
                return
            for slot in sorted(self._idle_slots(), key=lambda s: s.last_used)[: total - cap]:
                self._slots[slot.function_id].remove(slot)
                victims.append(slot)
        for slot in victims:
            self._kill(slot, slot.function_id, "idle")

    def _reap_idle(self) -> None:
        while not self._closed:
            timeout = self.settings.runtime.idle_timeout_s
            time.sleep(min(5.0, max(0.5, timeout / 4)))
            now = time.monotonic()
            victims = []
            with self._cond:
                for slot in self._idle_slots():
                    dead = slot.instance.exited()
                    if dead or now - slot.last_used > timeout:
                        self._slots[slot.function_id].remove(slot)
                        victims.append((slot, "crash" if dead else "idle"))
            for slot, reason in victims:
                self._kill(slot, slot.function_id, reason)

    def retire(self, function_ids: Iterable[str], reason: str = "stale") -> tuple[str, ...]:
        """Idle instances of these functions die now; busy ones die when their invocation ends."""
        retired, victims = self.mark_stale(function_ids)
        self.kill_retired(victims, reason)
        return retired

    def mark_stale(self, function_ids: Iterable[str]) -> tuple[tuple[str, ...], list[_Slot]]:
        """The fast half of `retire`: no instance of these functions serves again. Returns the ids
        that had instances and the idle slots to kill (with `kill_retired`, off the hot path)."""
        wanted = set(function_ids)
        victims, retired = [], set()
        with self._cond:
            for fid in wanted:
                for slot in list(self._slots.get(fid, ())):
                    retired.add(fid)
                    slot.stale = True
                    if not slot.busy:
                        self._slots[fid].remove(slot)
                        victims.append(slot)
            self._cond.notify_all()
        for fid in wanted:
            self._inner_routes.pop(fid, None)
        return tuple(sorted(retired)), victims

    def prewarm_soon(self, function_ids: Iterable[str]) -> None:
        """Start an instance of each function on a background thread (after a reload retired its
        instances), unless one is already warm or its pool is full."""
        ids = list(function_ids)
        if ids:
            threading.Thread(target=self._prewarm, args=(ids,), name="funcstudio-prewarm", daemon=True).start()

    def _prewarm(self, function_ids: list[str]) -> None:
        limit = max(1, self.settings.runtime.max_instances)
        for fid in function_ids:
            function = self.project.function(fid)
            if function is None:
                continue
            with self._cond:
                if self._closed:
                    return
                slots = self._slots.setdefault(fid, [])
                if len(slots) >= limit or any(not s.stale for s in slots):
                    continue  # a request already started one (or holds a fresh one)
                slot = _Slot(instance=None, function_id=fid, busy=True, warming=True)
                slots.append(slot)
            try:
                slot.instance = self._spawn(function)
            except Exception:  # noqa: BLE001 - the next request tries again and reports
                log.debug("prewarming %s failed", fid, exc_info=True)
                self._drop(slot)
                continue
            if slot.instance.load_error is not None:
                self._drop(slot)  # the request will start its own and report the load error
                self._kill(slot.instance, fid, "load-error")
                continue
            self._set_code_version(slot, function)
            slot.warming = False
            self._release(slot, keep=True)  # straight to the first request waiting for it, if any

    def kill_retired(self, victims: list[_Slot], reason: str = "stale") -> None:
        for slot in victims:
            if slot.instance is not None:
                self._kill(slot, slot.function_id, reason)

    def affected_by(self, changed: Iterable[str]) -> set[str]:
        """Ids of functions whose running instances loaded one of these absolute paths."""
        changed_set = {os.path.abspath(p) for p in changed}
        root = self.project.root
        hit = set()
        with self._cond:
            items = [(fid, list(slots)) for fid, slots in self._slots.items()]
        for fid, slots in items:
            fn = self.project.function(fid)
            if fn is not None and os.path.abspath(root / fn.entry) in changed_set:
                if not self._same_code(fn, slots):
                    hit.add(fid)
                continue
            for slot in slots:
                mods = slot.instance.modules if slot.instance is not None else ()
                if changed_set.intersection(os.path.abspath(m) for m in mods):
                    if not self._same_code(fn, slots):
                        hit.add(fid)
                    break
        return hit

    def _same_code(self, function: Function | None, slots: list[_Slot]) -> bool:
        """Every instance runs exactly what is on disk now (a save that changed nothing, or the second
        event of one save): keep them, rather than retire good instances for the same code."""
        if function is None or not slots:
            return False
        entry = os.path.abspath(self.project.root / function.entry)
        for slot in slots:
            if slot.instance is None or slot.code_version is None:
                return False
            if self.versions.version([entry, *slot.project_files]) != slot.code_version:
                return False
        return True

    def set_project(self, project: Project) -> None:
        self.project = project

    def instances(self) -> list[dict]:
        with self._cond:
            return [
                {"function_id": s.function_id, "id": s.instance.id, "pid": s.instance.pid, "busy": s.busy,
                 "stale": s.stale}
                for slots in self._slots.values() for s in slots if s.instance is not None
            ]

    def inner_routes(self, function_id: str) -> list[dict] | None:
        return self._inner_routes.get(function_id)

    def probe(self, function: Function) -> tuple[list[dict] | None, ErrorInfo | None]:
        """Load the function in an instance (warm or new) and return the framework's own routes
        (None when it is no framework app), or the load error."""
        slot, _fresh = self._acquire(function)
        if slot is None:
            return self._inner_routes.get(function.id), None
        instance = slot.instance
        if instance.load_error is not None:
            self._drop(slot)
            self._kill(instance, function.id, "load-error")
            return None, instance.load_error
        self._release(slot, keep=True)
        routes = instance.inner_routes
        return (list(routes) if routes is not None else None), None

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            slots = [s for ss in self._slots.values() for s in ss if s.instance is not None]
            self._slots.clear()
            for queue in self._waiters.values():
                while queue:
                    queue.popleft().notify()  # they see `_closed` and give up
            self._cond.notify_all()
        for slot in slots:
            self._kill(slot, slot.function_id, "shutdown")
        factory = self._factory
        close = getattr(factory, "close", None) or getattr(factory, "shutdown", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001
                log.exception("closing the instance factory failed")

    # -- invocations -------------------------------------------------------------------------

    def started(self, request_id: str, function_id: str | None, trigger: str, method: str, path: str) -> float:
        started_at = time.time()
        self.bus.publish(InvocationStarted(request_id=request_id, function_id=function_id, trigger=trigger,
                                           method=method, path=path, started_at=started_at))
        return started_at

    def run(
        self,
        function: Function,
        request: dict,
        body: bytes,
        *,
        request_id: str,
        base: InvocationRecord,
        warnings: tuple[ParityWarning, ...] = (),
    ) -> Invocation:
        """Run one invocation on a warm or new instance and build its record (not published).
        `warnings` are the gateway's own (routing) parity warnings, added after the worker's."""
        logs, on_log = self._log_sink(request_id, function.id)
        error_status = self.settings.cocobase.error_status
        t0 = time.perf_counter()
        for attempt in (0, 1):
            try:
                slot, fresh = self._acquire(function)
            except Exception as exc:  # noqa: BLE001 - e.g. a `python` setting that is no interpreter
                message = f"Could not start a worker for {function.id} with {self.python}: {exc}"
                log.debug("starting an instance of %s failed", function.id, exc_info=True)
                error = ErrorInfo(type=type(exc).__name__, message=message, traceback="")
                return Invocation(fault_record(base, function, "internal", t0, error=error, message=message,
                                               logs=logs, error_status=error_status), logs)
            if slot is None:
                return Invocation(fault_record(base, function, "busy", t0, logs=logs, error_status=error_status),
                                  logs)
            instance = slot.instance
            init_ms = float(instance.init_ms or 0.0) if fresh else None
            if instance.load_error is None:
                break
            self._drop(slot)
            if attempt == 0 and self._has_warm(function.id):
                # It read its entry mid-save (a new instance started while the file was rewritten in
                # place): a warm instance of the last good version serves this request instead.
                self._kill(instance, function.id, "load-error")
                continue
            for line in instance.load_logs:
                on_log(*line)  # what the module printed before it failed
            self._kill(instance, function.id, "load-error")
            error = instance.load_error
            self._report_failure(function, request_id, "load-error", error, None, logs, on_log)
            record = fault_record(
                base, function, "load-error", t0, error=error, logs=logs, error_status=error_status,
                init_ms=init_ms, instance_id=str(instance.id), code_version=slot.code_version,
                warnings=(*self._dep_warnings(function, error, instance.load_warnings), *warnings))
            return Invocation(record, logs)

        session = self.debug.attach(request_id, function.id, instance) if request.get("debug") else None
        try:
            if session is None:
                result: InstanceReport = instance.invoke(request, body, self._deadline_s(function), on_log)
            else:
                result = instance.invoke(request, body, self._deadline_s(function), on_log,
                                         on_debug=lambda message: self.debug.on_frame(session, message))
        except BaseException:
            self._drop(slot)
            self._kill(instance, function.id, "crash")
            raise
        finally:
            if session is not None:
                self.debug.detach(request_id)
        return self._conclude(function, slot, result, request_id, base, logs, on_log, t0, init_ms, warnings)

    async def run_on_loop(
        self,
        function: Function,
        request: dict,
        body: bytes,
        *,
        request_id: str,
        base: InvocationRecord,
        warnings: tuple[ParityWarning, ...] = (),
        alone: bool = False,
        on_sent: Callable[[], None] | None = None,
    ) -> Invocation | None:
        """`run` on the event loop's own thread, when a warm instance of the function is free and the
        request needs no debugger: no thread hand-off on the way to the worker and back. Returns None
        (nothing done) otherwise; the caller then runs `run` on a thread, which may wait in line, start
        an instance or report a load error. `alone`: no other request is in flight on the loop (the
        instance's answer may be polled for; see `Instance.invoke_on_loop`). `on_sent` is called once the
        request is on its way to the instance (work that may overlap with the function running)."""
        if request.get("debug"):
            return None
        t0 = time.perf_counter()
        slot = self._take_idle(function)
        if slot is None:
            slot = await self._wait_in_line(function)
            if slot is None:
                return None
            if slot is BUSY:
                logs, _ = self._log_sink(request_id, function.id)
                return Invocation(fault_record(base, function, "busy", t0, logs=logs,
                                               error_status=self.settings.cocobase.error_status), logs)
        loop = asyncio.get_running_loop()
        instance = slot.instance
        logs, on_log = self._log_sink(request_id, function.id)
        try:
            result: InstanceReport = await instance.invoke_on_loop(request, body, self._deadline_s(function),
                                                                   on_log, spin=alone, on_sent=on_sent)
        except BaseException:
            self._drop(slot)
            loop.run_in_executor(None, self._kill, instance, function.id, "crash")
            raise
        if result.fault is not None or not instance.alive:  # killing waits for the process: on a thread
            return await loop.run_in_executor(None, self._conclude, function, slot, result, request_id, base,
                                              logs, on_log, t0, None, warnings)
        return self._conclude(function, slot, result, request_id, base, logs, on_log, t0, None, warnings)

    async def _wait_in_line(self, function: Function) -> _Slot | None:
        """On the event loop: queue (FIFO, with the threads' requests) for a busy function whose pool
        is full, and get the instance a finishing request hands over. Returns None when the pool may
        grow (starting an instance is the thread path's job) and `BUSY` when the request's deadline
        passed in line."""
        waiter = _Waiter(future=asyncio.get_running_loop().create_future())
        with self._cond:
            slots = self._slots.get(function.id, [])
            queue = self._waiters.setdefault(function.id, deque())
            full = len(slots) >= max(1, self.settings.runtime.max_instances)
            if self._closed or not (full or queue) or any(s.warming for s in slots) or len(queue) >= QUEUE_LIMIT:
                return None
            queue.append(waiter)
        entered = time.perf_counter()
        cancelled = False
        try:
            await asyncio.wait_for(waiter.future, max(1.0, float(function.limits.timeout_s or 0)))
        except asyncio.TimeoutError:
            pass
        except BaseException:  # cancelled (the server is stopping): give back what it was handed
            cancelled = True
            raise
        finally:
            with self._cond:
                slot = waiter.slot
                gave_up = slot is None and waiter in self._waiters.get(function.id, ())
                if gave_up:
                    self._waiters[function.id].remove(waiter)
            if cancelled and slot is not None:
                self._release(slot, keep=True)
        if slot is not None:
            slot.wait_ms = (time.perf_counter() - entered) * 1000.0
            return slot
        return BUSY if gave_up else None  # woken to look again (a place freed up): the thread path

    def _take_idle(self, function: Function) -> _Slot | None:
        """A warm, idle, current instance of `function` marked busy, without waiting; None when there
        is none or others already wait in line for one (first come, first served)."""
        found = None
        with self._cond:
            if self._closed or self._waiters.get(function.id):
                return None
            slots = self._slots.get(function.id)
            for slot in list(slots or ()):
                if slot.busy or slot.stale or slot.instance is None:
                    continue
                if slot.instance.exited():
                    slots.remove(slot)  # died while idle: never hand it out
                    self._dead.append(slot)
                    continue
                slot.busy = True
                slot.wait_ms = 0.0
                found = slot
                break
            dead = bool(self._dead)
        if dead:
            threading.Thread(target=self._bury_dead, name="funcstudio-bury", daemon=True).start()
        return found

    def _deadline_s(self, function: Function) -> float:
        return EXTERNAL_DEBUGGER_DEADLINE_S if self.debug.external_debugger else function.limits.timeout_s

    def _log_sink(self, request_id: str, function_id: str) -> tuple[list[LogLine], Callable]:
        """The invocation's log lines and the `on_log` that numbers, keeps and publishes each."""
        logs: list[LogLine] = []
        publish = self.bus.publish

        def on_log(stream: str, level: str | None, at: float, text: str) -> None:
            # called by the one thread serving this invocation: list.append keeps the order
            line = LogLine(request_id, function_id, len(logs), at, stream, level, text)
            logs.append(line)
            publish(line)

        return logs, on_log

    def _conclude(self, function: Function, slot: _Slot, result: InstanceReport, request_id: str,
                  base: InvocationRecord, logs: list[LogLine], on_log, t0: float, init_ms: float | None,
                  warnings: tuple[ParityWarning, ...]) -> Invocation:
        """After the instance answered: back to the pool (or killed, after a fault), the failure's
        log lines, and the record."""
        instance = slot.instance
        fault = result.fault
        if fault is not None or not instance.alive:
            self._drop(slot)
            self._kill(instance, function.id, fault or "crash", result.exit_code)
        else:
            if instance.modules is not slot.modules_seen:
                self._set_code_version(slot, function)  # it imported more project files
            self._release(slot, keep=True)
        self._report_failure(function, request_id, fault, result.error, result.exit_code, logs, on_log)
        if fault is not None:
            self._close_killed(function, request_id, result, logs, on_log)
        record = finished_record(
            base, function, result, logs, t0=t0, init_ms=init_ms, code_version=slot.code_version,
            instance_id=str(instance.id), error_status=self.settings.cocobase.error_status,
            wait_ms=slot.wait_ms,
            warnings=(*self._dep_warnings(function, result.error, result.warnings), *warnings),
        )
        return Invocation(record, logs)

    def _dep_warnings(self, function: Function, error: ErrorInfo | None,
                      warnings: tuple[ParityWarning, ...]) -> tuple[ParityWarning, ...]:
        """EO-UNDECLARED-DEP when the error is a ModuleNotFoundError production would share."""
        if error is None or not error.type.endswith("ModuleNotFoundError"):
            return warnings
        try:
            found = self.undeclared.warning(self.project, function, error)
        except Exception:  # noqa: BLE001 - a hint must never fail the invocation
            log.debug("checking %s against the computed requirements failed", function.id, exc_info=True)
            return warnings
        if found is None or any(w.id == found.id for w in warnings):
            return warnings
        return (*warnings, found)

    @staticmethod
    def _report_failure(function: Function, request_id: str, fault: str | None, error: ErrorInfo | None,
                        exit_code: int | None, logs: list[LogLine], on_log) -> None:
        """Every failed invocation gets an ERROR line tied to it, so an errors-only view shows it: an
        uncaught exception, a timeout, a crash, a memory kill. Skipped when the function or the
        platform already logged one (a framework logs its exceptions, an adapter its traceback)."""
        if fault is None and error is None:
            return
        if any(line.level in ("ERROR", "CRITICAL") for line in logs):
            return
        if fault is not None:
            text = describe(FaultContext(function=function, fault=fault, request_id=request_id, error=error,
                                         exit_code=exit_code, timeout_s=function.limits.timeout_s,
                                         memory_mb=function.limits.memory_mb))
        else:
            text = f"Uncaught {error.type}: {error.message}"
        if error is not None and error.traceback:
            text += "\n" + error.traceback.rstrip("\n")
        on_log("platform", "ERROR", time.time(), text)

    @staticmethod
    def _close_killed(function: Function, request_id: str, result: InstanceReport, logs: list[LogLine],
                      on_log) -> None:
        """The platform's closing lines (SCF END/Report) that a killed instance could not print,
        after every line it streamed; skipped when the worker printed them before dying."""
        end = f"END RequestId: {request_id}"
        if any(line.stream == "platform" and line.text == end for line in logs):
            return
        lines = fault_log_lines(function, request_id, float(result.duration_ms or 0.0), result.peak_memory_mb)
        for text in lines:
            on_log("platform", None, time.time(), text)

    def _set_code_version(self, slot: _Slot, function: Function) -> None:
        """Hash of the entry source and the project files this instance imported: computed when the
        instance starts, and again only when it reports a new module set."""
        instance = slot.instance
        modules = instance.modules
        slot.modules_seen = modules
        slot.project_files = project_modules(self.project.root, modules or ())
        entry = os.path.abspath(self.project.root / function.entry)
        digest = instance.entry_digest
        handed = {entry: digest, os.path.realpath(entry): digest} if digest else None  # it imported that too
        slot.code_version = self.versions.version([entry, *slot.project_files], handed)


Publisher = Callable[[InvocationRecord], None]

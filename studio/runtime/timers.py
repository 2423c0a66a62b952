"""SCF timer triggers on their cron schedule (`funcstudio serve --timers`).

A scheduler thread computes each enabled timer trigger's next fire time (cron.py, UTC) and, when
it is due, invokes the function through the runtime's ordinary invoke path with the Timer event
and trigger "timer" (so the worker sets TRIGGER_SRC=timer and the store records it like any other
invocation). The clock is injectable: tests drive `tick(now)` directly.

A missed schedule (the machine slept, an invocation ran long) fires once, not once per miss.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from studio.project.model import Function, Project, Trigger
from studio.runtime.cron import Cron, CronError, parse
from studio.runtime.templates import timer_event

log = logging.getLogger(__name__)

MAX_SLEEP_S = 1.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class ScheduledTimer:
    function: Function
    trigger: Trigger
    cron: Cron
    next_fire: datetime | None


@dataclass(frozen=True)
class Firing:
    function_id: str
    trigger_name: str
    fire_time: datetime
    request_id: str | None


def timer_triggers(project: Project) -> list[tuple[Function, Trigger]]:
    return [(fn, t) for fn in project.functions if fn.platform == "scf"
            for t in fn.triggers if t.type == "timer" and t.enabled]


class TimerScheduler:
    """Fires timers through `fire(function_id, event) -> request id`, by default the runtime's async invoke."""

    def __init__(self, runtime=None, *, project: Project | None = None, clock: Callable[[], datetime] = utc_now,
                 fire: Callable[[str, dict], str | None] | None = None,
                 on_fire: Callable[[Firing], None] | None = None) -> None:
        if runtime is None and (project is None or fire is None):
            raise ValueError("TimerScheduler needs a runtime, or both a project and a fire callable")
        self.runtime = runtime
        self._project = project
        self.clock = clock
        self._fire = fire or self._fire_through_runtime
        self.on_fire = on_fire
        self.problems: list[str] = []
        self.timers: list[ScheduledTimer] = []
        self._built_for: Project | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def project(self) -> Project:
        return self.runtime.project if self.runtime is not None else self._project

    def _fire_through_runtime(self, function_id: str, event: dict) -> str | None:
        return self.runtime.invoke_function(function_id, event, async_=True, trigger="timer")

    def rebuild(self, now: datetime) -> None:
        """(Re)compute the schedule from the project's timer triggers; a bad cron is a problem, not a crash."""
        project = self.project
        timers, problems = [], []
        for fn, trigger in timer_triggers(project):
            if not trigger.cron:
                problems.append(f"{fn.id}: timer {trigger.name!r} has no cron expression")
                continue
            try:
                cron = parse(trigger.cron)
            except CronError as exc:
                problems.append(f"{fn.id}: timer {trigger.name!r}: {exc}")
                continue
            timers.append(ScheduledTimer(fn, trigger, cron, cron.next_after(now)))
        self.timers, self.problems, self._built_for = timers, problems, project

    def tick(self, now: datetime | None = None) -> list[Firing]:
        """Fire every timer due at `now` (default: the clock); returns what fired."""
        now = now or self.clock()
        fired: list[Firing] = []
        with self._lock:
            if self._built_for is not self.project:
                self.rebuild(now)
            for timer in self.timers:
                if timer.next_fire is None or timer.next_fire > now:
                    continue
                fire_time = timer.next_fire
                event = timer_event(timer.trigger.name, fire_time, timer.trigger.message or "")
                try:
                    request_id = self._fire(timer.function.id, event)
                except Exception:  # noqa: BLE001 - one failing timer must not stop the others
                    log.exception("firing timer %s of %s failed", timer.trigger.name, timer.function.id)
                    request_id = None
                firing = Firing(timer.function.id, timer.trigger.name, fire_time, request_id)
                fired.append(firing)
                timer.next_fire = timer.cron.next_after(max(now, fire_time))
                if self.on_fire is not None:
                    self.on_fire(firing)
        return fired

    def seconds_until_next(self, now: datetime) -> float:
        upcoming = [t.next_fire for t in self.timers if t.next_fire is not None]
        if not upcoming:
            return MAX_SLEEP_S
        return max(0.0, min(MAX_SLEEP_S, (min(upcoming) - now).total_seconds()))

    # -- the thread -------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self.rebuild(self.clock())
        self._thread = threading.Thread(target=self._run, name="funcstudio-timers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.seconds_until_next(self.clock()) or 0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

"""Timers: the scheduler with an injectable clock, firing through the real runtime as timer invocations."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from studio.project.model import Function, Limits, Project, Trigger
from studio.runtime.events import InvocationFinished
from studio.runtime.timers import TimerScheduler

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def scf_function(fid: str, *triggers: Trigger) -> Function:
    return Function(id=fid, platform="scf", kind="scf-event", entry=f"{fid}.py", code_root="",
                    limits=Limits(3, 128), triggers=triggers)


def test_schedule_fires_on_cron_with_a_fake_clock():
    project = Project(root=Path("."), name="p", functions=(
        scf_function("a", Trigger(type="timer", name="every5", cron="*/5 * * * * * *", message="m")),
        scf_function("b", Trigger(type="timer", name="off", cron="* * * * * * *", enabled=False),
                     Trigger(type="timer", name="legacy", cron="*/2 * * * *")),
        scf_function("c", Trigger(type="timer", name="bad", cron="99 * * * * * *")),
    ))
    fired = []
    scheduler = TimerScheduler(project=project, clock=lambda: T0, fire=lambda fid, ev: fired.append((fid, ev)) or "rid")
    scheduler.rebuild(T0)
    assert [t.trigger.name for t in scheduler.timers] == ["every5", "legacy"]
    assert len(scheduler.problems) == 1 and "second field: 99" in scheduler.problems[0]
    assert scheduler.tick(T0) == []
    firings = scheduler.tick(T0 + timedelta(seconds=5))
    assert [(f.function_id, f.trigger_name) for f in firings] == [("a", "every5")]
    assert fired[0] == ("a", {"Type": "Timer", "TriggerName": "every5", "Time": "2024-03-01T12:00:05Z", "Message": "m"})
    # a long gap fires once, then resumes on schedule
    firings = scheduler.tick(T0 + timedelta(minutes=3))
    assert sorted(f.trigger_name for f in firings) == ["every5", "legacy"]
    assert scheduler.tick(T0 + timedelta(minutes=3)) == []
    assert [f.trigger_name for f in scheduler.tick(T0 + timedelta(minutes=3, seconds=5))] == ["every5"]


def test_timer_firing_is_a_recorded_timer_invocation(scf_runtime):
    done = []
    cond = threading.Condition()

    def collect(event):
        if isinstance(event, InvocationFinished) and event.record.trigger == "timer":
            with cond:
                done.append(event.record)
                cond.notify_all()

    unsubscribe = scf_runtime.bus.subscribe(collect)
    now = [datetime(2024, 1, 1, 0, 0, 1, tzinfo=timezone.utc)]
    scheduler = TimerScheduler(scf_runtime, clock=lambda: now[0])
    try:
        scheduler.rebuild(now[0])
        assert [t.trigger.name for t in scheduler.timers] == ["every2s"]
        now[0] += timedelta(seconds=1)
        firings = scheduler.tick()
        assert len(firings) == 1 and firings[0].request_id
        with cond:
            cond.wait_for(lambda: done, timeout=30)
    finally:
        unsubscribe()
    record = done[0]
    assert record.request_id == firings[0].request_id and record.function_id == "fn/index" and record.status == 200
    body = json.loads(record.response_body)
    assert body["env"]["TRIGGER_SRC"] == "timer"
    assert body["event"] == {"Type": "Timer", "TriggerName": "every2s", "Time": "2024-01-01T00:00:02Z", "Message": "tick"}


def test_serve_timers_flag_prints_the_schedule(tmp_path):
    from scf_helpers import write_project

    root = write_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(root), "--port", "0", "--no-reload",
                             "--timers"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "timer fn/index every2s" in line:
                break
        fired_deadline = time.monotonic() + 30
        while time.monotonic() < fired_deadline:  # the timer fires within ~2 s and is printed as an invocation
            line = proc.stdout.readline()
            lines.append(line)
            if "fn/index" in line and "timer" not in line.split("fn/index")[0]:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = "".join(lines)
    assert "timer fn/index every2s [*/2 * * * * * *] next" in text, text

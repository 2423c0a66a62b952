"""`Instance.invoke_on_loop`: the gateway's event-loop path to a real worker instance answers exactly
as the threaded `invoke` does, and its endings that have to wait (a timeout, a memory kill, a death)
still end the invocation without blocking the loop for other requests."""

from __future__ import annotations

import asyncio
import time

import pytest
from worker_helpers import Logs, http, invoke, spawn

from studio.runtime.http_server import new_loop
from studio.runtime.instance import InstanceFactory

SLOW_AND_CHATTY = """
import os, time

def handler(event, context):
    query = event.get("queryStringParameters") or {}
    mode = query.get("mode")
    if mode == "sleep":
        began = time.time()
        time.sleep(float(query["s"]))
        return {"statusCode": 200, "body": f"{began} {time.time()}"}
    elif mode == "exit":
        os._exit(3)
    elif mode == "flood-fd":
        line = b"x" * 99 + b"\\n"
        for _ in range(3000):  # 300 kB to fd 1: far more than a pipe holds, so it must be read meanwhile
            os.write(1, line)
    elif mode == "garble":  # scribble over every socket it holds: its channel to funcstudio among them
        for name in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                    os.write(int(name), bytes([0, 0, 0, 5, 0, 0, 0, 0]) + b"nope!")
            except OSError:
                pass
        time.sleep(5)
    elif mode == "spike":  # 150 MB for a moment, given back before it answers
        block = bytearray(150 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        del block
    elif mode == "hog":
        global keep
        keep = bytearray(200 * 1024 * 1024)
        for i in range(0, len(keep), 4096):
            keep[i] = 1
        time.sleep(5)
    return {"statusCode": 200, "body": mode or "plain"}
"""


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory()
    yield factory
    factory.close()


def on_loop(coroutine_factory):
    """Run coroutines on a fresh uvloop (what the gateway runs) and return their results."""
    loop = new_loop()
    try:
        return loop.run_until_complete(coroutine_factory())
    finally:
        loop.close()


def loop_invoke(instance, request: dict, deadline_s: float = 10.0):
    logs = Logs()

    async def run():
        return await instance.invoke_on_loop(request, b"", deadline_s, logs)

    return on_loop(run), logs


def test_the_loop_and_a_thread_get_the_same_answer(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        threaded, thread_logs = invoke(instance, http("/fn"))
        looped, loop_logs = loop_invoke(instance, http("/fn"))
        assert (looped.status, looped.body, looped.fault) == (threaded.status, threaded.body, None) == (
            200, b"plain", None)
        drop = {"functions-request-id", "date"}
        assert [h for h in looped.headers if h[0].lower() not in drop] == \
            [h for h in threaded.headers if h[0].lower() not in drop]
        assert loop_logs.texts("platform") == thread_logs.texts("platform")
        assert instance.alive and not instance.busy
    finally:
        instance.kill("shutdown")


def test_a_timeout_on_the_loop_kills_and_reports_while_other_work_goes_on(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    ticks = []

    async def run():
        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        task = asyncio.get_running_loop().create_task(ticker())
        try:
            return await instance.invoke_on_loop(http("/fn", query="mode=sleep&s=30"), b"", 0.5, Logs())
        finally:
            task.cancel()

    result = on_loop(run)
    assert result.fault == "timeout" and result.error.type == "TimeoutError"
    assert not instance.alive
    assert len(ticks) >= 3, "the loop was blocked while the invocation ran"


def test_an_instance_that_exits_mid_invocation_is_reported(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    result, _logs = loop_invoke(instance, http("/fn", query="mode=exit"))
    assert result.fault == "exit" and result.exit_code == 3
    assert not instance.alive and not instance.busy


@pytest.mark.parametrize("how", ["loop", "loop-polling", "thread"])
def test_garbage_on_the_channel_kills_the_instance_not_the_gateway(factory, tmp_path, how):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")

    async def run():
        return await instance.invoke_on_loop(http("/fn", query="mode=garble"), b"", 20, Logs(),
                                             spin=how == "loop-polling")

    result = on_loop(run) if how != "thread" else invoke(instance, http("/fn", query="mode=garble"), b"", 20)[0]
    assert result.fault == "crash" and result.error.type == "WorkerCrash"
    assert "not a funcstudio frame" in result.error.message
    assert not instance.alive


def test_output_to_fd_1_is_read_while_the_function_runs(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        result, logs = loop_invoke(instance, http("/fn", query="mode=flood-fd"), deadline_s=20)
        assert (result.status, result.body, result.fault) == (200, b"flood-fd", None)
        lines = logs.texts("stdout")
        assert lines and all(line == "x" * 99 for line in lines if not line.startswith("[funcstudio]"))
        assert len(lines) == 3000 or result.output_truncated
    finally:
        instance.kill("shutdown")


def test_the_memory_limit_holds_on_the_loop(factory, tmp_path):
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py", memory_mb=100)
    result, _logs = loop_invoke(instance, http("/fn", query="mode=hog"), deadline_s=30)
    assert result.fault == "memory" and result.error.type == "MemoryError"
    assert result.peak_memory_mb is not None and result.peak_memory_mb > 100
    assert not instance.alive


def test_each_invocation_reports_its_own_peak_memory(factory, tmp_path):
    """The peak-RSS window starts over after an invocation that raised it (and only then): a light
    invocation after a heavy one reports its own peak, not the heavy one's."""
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        light, _ = invoke(instance, http("/fn"))
        heavy, _ = invoke(instance, http("/fn", query="mode=spike"))
        after, _ = invoke(instance, http("/fn"))
        again, _ = invoke(instance, http("/fn"))
        assert heavy.peak_memory_mb > light.peak_memory_mb + 100
        assert after.peak_memory_mb < light.peak_memory_mb + 50
        assert again.peak_memory_mb < light.peak_memory_mb + 50
    finally:
        instance.kill("shutdown")


def test_two_instances_answer_at_once_on_one_loop(factory, tmp_path):
    first = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    second = factory.spawn(first.config)
    try:
        async def run():
            return await asyncio.gather(
                first.invoke_on_loop(http("/fn", query="mode=sleep&s=0.5"), b"", 10, Logs()),
                second.invoke_on_loop(http("/fn", query="mode=sleep&s=0.5"), b"", 10, Logs()))

        one, two = on_loop(run)
        assert (one.status, two.status) == (200, 200)
        (start_1, end_1), (start_2, end_2) = (map(float, r.body.split()) for r in (one, two))
        assert start_1 < end_2 and start_2 < end_1, "the two invocations ran one after the other"
    finally:
        first.kill("shutdown")
        second.kill("shutdown")


def test_platform_lines_of_a_long_invocation_stream_before_its_result(factory, tmp_path):
    """The worker holds platform lines for the result frame, but one that runs on streams them after
    `HOLD_S`: also after quick invocations left the holdover ticker parked."""
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        for _ in range(3):
            invoke(instance, http("/fn"))
        time.sleep(1.3)  # past PARK_AFTER_S: the ticker sleeps until a line is held again
        arrived: list[float] = []
        logs = Logs()

        def on_log(stream, level, when, text):
            arrived.append(time.monotonic())
            logs(stream, level, when, text)

        instance.invoke(http("/fn", query="mode=sleep&s=1"), b"", 10, on_log)
        ended = time.monotonic()
        assert logs.texts("platform")[0].startswith("Pages request path")
        assert ended - arrived[0] > 0.5, "the first platform line waited for the result"
    finally:
        instance.kill("shutdown")


def test_a_lone_request_polls_only_for_quick_instances(factory, tmp_path):
    """`spin=True` (nothing else waits for the loop) polls for the answer of an instance that answered
    quickly last time, and falls back to waiting on the loop when the answer takes longer; an
    instance that answered slowly is not polled for. Every way gives the same answer."""
    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        async def run(query: str):
            return await instance.invoke_on_loop(http("/fn", query=query), b"", 10, Logs(), spin=True)

        instance.answers_quickly = True  # polls, gives up after SPIN_S, then waits on the loop
        slow = on_loop(lambda: run("mode=sleep&s=0.2"))
        assert slow.status == 200 and slow.fault is None
        assert not instance.answers_quickly  # 200 ms is past SPIN_S: the next one is not polled for
        plain = on_loop(lambda: run(""))
        assert (plain.status, plain.body, plain.fault) == (200, b"plain", None)
        instance.answers_quickly = True
        polled = on_loop(lambda: run(""))
        assert (polled.status, polled.body, polled.fault) == (200, b"plain", None)
    finally:
        instance.kill("shutdown")


PRINTS_WHEN_IDLE = """
import threading, time

def chatter():
    time.sleep(0.2)  # after the first invocation answered: the instance is idle
    print("between invocations", flush=True)

def handler(event, context):
    if (event.get("queryStringParameters") or {}).get("start"):
        threading.Thread(target=chatter, daemon=True).start()
    return {"statusCode": 200, "body": "ok"}
"""


def test_the_loop_keeps_watching_a_channel_only_while_it_is_quiet(factory, tmp_path, monkeypatch):
    """The channel's reader stays on the loop between invocations; an instance that writes while
    idle, and one killed and replaced (whose channel may get the old fd number), do not
    stall or spin the loop: every invocation is answered, woken by its channel alone (the pipes'
    periodic check, which would also find the answer, is pushed out of reach)."""
    from studio.runtime import instance as instance_module

    monkeypatch.setattr(instance_module, "PIPE_TICK_S", 60.0)
    files = {"cloud-functions/fn.py": PRINTS_WHEN_IDLE}
    first = spawn(factory, tmp_path, files, "fn.py")
    loop = new_loop()
    try:
        async def answer(instance, query=""):
            return await asyncio.wait_for(instance.invoke_on_loop(http("/fn", query=query), b"", 10, Logs()), 10)

        assert loop.run_until_complete(answer(first, "start=1")).status == 200
        loop.run_until_complete(asyncio.sleep(0.5))  # the idle line comes, no invocation waits for it
        assert loop.run_until_complete(answer(first)).status == 200
        # killed from another thread while the loop is not running: its reader is still on the loop
        first.kill("shutdown")
        second = factory.spawn(first.config)  # its channel may get the old channel's fd number
        try:
            for _ in range(3):
                assert loop.run_until_complete(answer(second)).status == 200
        finally:
            second.kill("shutdown")
    finally:
        first.kill("shutdown")
        loop.close()


def test_an_instance_polls_for_the_next_request_only_while_they_come_back_to_back(factory, tmp_path):
    """After answering requests that came back to back, an instance polls a moment for the next one
    (it saves its CPU's wake-up); once they stop coming it sleeps: idle, it uses no CPU."""
    import os

    instance = spawn(factory, tmp_path, {"cloud-functions/fn.py": SLOW_AND_CHATTY}, "fn.py")
    try:
        for _ in range(50):
            assert invoke(instance, http("/fn"))[0].status == 200

        def cpu_s() -> float:
            with open(f"/proc/{instance.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu_s()
        time.sleep(1.0)
        assert cpu_s() - before < 0.1, "an idle instance kept the CPU busy"
        assert invoke(instance, http("/fn"))[0].status == 200
    finally:
        instance.kill("shutdown")
    assert instance.exit_code is not None or not instance.alive

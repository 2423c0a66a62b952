"""A function that hangs, raises, exits, segfaults, eats memory or floods output costs only its instance."""

from __future__ import annotations

import os
import time

import pytest
from worker_helpers import http, invoke, spawn, write_project

from studio.runtime.instance import InstanceFactory

FAULTY = """
import ctypes, os, sys, time
print("loaded")

def handler(event):
    what = (event["queryStringParameters"] or {}).get("do")
    print("about to", what)
    if what == "hang":
        time.sleep(60)
    if what == "raise":
        raise RuntimeError("raised on purpose")
    if what == "exit":
        sys.exit(3)
    if what == "_exit":
        os.write(1, b"last words\\n")
        os._exit(7)
    if what == "segfault":
        ctypes.string_at(0)
    if what == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))
            for i in range(0, len(hoard[-1]), 4096):
                hoard[-1][i] = 1
    if what == "flood":
        while True:
            os.write(1, b"f" * 65536)
    return "healthy"
"""


@pytest.fixture(scope="module")
def factory():
    factory = InstanceFactory()
    yield factory
    factory.close()


@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, {"cloud-functions/faulty.py": FAULTY})
    return tmp_path


def start(factory, project, **overrides):
    instance = spawn(factory, project, {}, "faulty.py", **overrides)
    assert instance.load_error is None
    return instance


def healthy_elsewhere(factory, project):
    other = start(factory, project)
    result, _ = invoke(other, http("/faulty"))
    assert (result.status, result.body, result.fault) == (200, b"healthy", None)
    other.kill("shutdown")


def test_hang_times_out_and_keeps_what_was_printed(factory, project):
    instance = start(factory, project)
    result, logs = invoke(instance, http("/faulty", query="do=hang"), deadline_s=0.5)
    assert result.fault == "timeout" and result.status is None
    assert "timed out after 0.5 s" in result.error.message
    assert "about to hang" in logs.texts("stdout")
    assert not instance.alive
    healthy_elsewhere(factory, project)


def test_raise_is_an_answered_500_and_the_instance_lives(factory, project):
    instance = start(factory, project)
    result, _ = invoke(instance, http("/faulty", query="do=raise"))
    assert result.fault is None and result.status == 500 and result.error.type == "RuntimeError"
    again, _ = invoke(instance, http("/faulty"))
    assert again.body == b"healthy"
    instance.kill("shutdown")


def test_sys_exit_ends_the_instance_with_its_code(factory, project):
    instance = start(factory, project)
    result, logs = invoke(instance, http("/faulty", query="do=exit"))
    assert result.fault == "exit" and result.exit_code == 3
    assert result.error.type == "SystemExit"
    assert any(f.function == "handler" and f.is_user for f in result.error.frames)
    assert "about to exit" in logs.texts("stdout")
    assert not instance.alive
    dead, _ = invoke(instance, http("/faulty"))
    assert dead.fault == "exit"
    healthy_elsewhere(factory, project)


def test_os_exit_is_an_exit_fault_and_keeps_fd_output(factory, project):
    instance = start(factory, project)
    result, logs = invoke(instance, http("/faulty", query="do=_exit"))
    assert (result.fault, result.exit_code) == ("exit", 7)
    assert "last words" in logs.texts("stdout")
    healthy_elsewhere(factory, project)


def test_segfault_is_a_crash_with_the_signal(factory, project):
    instance = start(factory, project)
    result, _ = invoke(instance, http("/faulty", query="do=segfault"))
    assert result.fault == "crash" and result.exit_code == -11
    assert "SIGSEGV" in result.error.message
    healthy_elsewhere(factory, project)


def test_memory_eater_is_killed_at_the_limit(factory, project):
    instance = start(factory, project, memory_mb=128)
    result, _ = invoke(instance, http("/faulty", query="do=memory"), deadline_s=20)
    assert result.fault == "memory"
    assert result.peak_memory_mb is not None and result.peak_memory_mb > 128
    assert not instance.alive
    healthy_elsewhere(factory, project)


def test_output_flood_is_capped_and_bounded_by_the_deadline(factory, project):
    instance = start(factory, project, output_cap_bytes=64 * 1024)
    result, logs = invoke(instance, http("/faulty", query="do=flood"), deadline_s=1.0)
    assert result.fault == "timeout" and result.output_truncated
    assert sum(len(t) for t in logs.texts("stdout")) <= 64 * 1024
    assert [t for t in logs.texts("platform") if "output truncated" in t]
    healthy_elsewhere(factory, project)


def test_kill_from_outside_is_immediate_and_idempotent(factory, project):
    instance = start(factory, project)
    pid = instance.pid
    instance.kill("stale")
    instance.kill("stale")
    assert not instance.alive and instance.exit_code == 0  # graceful: it served its shutdown frame
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_spawn_mode_without_a_zygote(project):
    factory = InstanceFactory(use_zygote=False)
    try:
        instance = start(factory, project)
        result, logs = invoke(instance, http("/faulty"))
        assert result.body == b"healthy" and "loaded" in logs.texts("stdout")
        crashed, _ = invoke(instance, http("/faulty", query="do=segfault"))
        assert crashed.fault == "crash" and crashed.exit_code == -11
    finally:
        factory.close()


def test_closing_the_factory_leaves_no_orphans(project):
    factory = InstanceFactory()
    instance = start(factory, project)
    factory.close()  # the zygote goes; its instances die with it
    for _ in range(100):
        try:
            os.kill(instance.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the instance outlived its zygote")

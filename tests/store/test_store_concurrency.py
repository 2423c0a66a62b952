"""Many invocations from many threads at once: every line lands, in order, with its own invocation."""

from __future__ import annotations

import random
import sqlite3
import threading

from store_builders import record

from studio.runtime.events import EventBus, InvocationFinished, InvocationStarted, LogLine
from studio.store.queries import Filter, Reader

THREADS = 8
PER_THREAD = 40
LINES = 6


def test_parallel_invocations_keep_their_lines_in_order_without_cross_talk(make_recorder, store_path):
    bus = EventBus()
    recorder = make_recorder().attach(bus)  # as `serve` wires it
    start = threading.Barrier(THREADS)
    acked: list[str] = []
    lock = threading.Lock()

    def client(thread_index: int) -> None:
        rng = random.Random(thread_index)
        function_id = f"fn/{thread_index}"
        start.wait()
        for n in range(PER_THREAD):
            request_id = f"t{thread_index}-n{n}"
            bus.publish(InvocationStarted(request_id, function_id, "http", "POST", f"/{function_id}", 1.0))
            for seq in range(LINES):
                if rng.random() < 0.2:
                    threading.Event().wait(0.0005)  # let other threads interleave
                bus.publish(
                    LogLine(request_id, function_id, seq, 1.0 + seq, "stdout", None, f"{request_id}|{seq}")
                )
            bus.publish(
                InvocationFinished(
                    record(request_id, function_id=function_id, log_count=LINES, status=200 + n % 3)
                )
            )
            with lock:
                acked.append(request_id)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(acked) == THREADS * PER_THREAD
    assert recorder.flush()

    conn = sqlite3.connect(store_path)
    rows = conn.execute(
        "SELECT i.request_id, i.function_id, i.state, l.function_id, l.seq, l.text FROM logs l "
        "JOIN invocations i ON i.id = l.invocation_id ORDER BY l.id"
    ).fetchall()
    conn.close()
    assert len(rows) == THREADS * PER_THREAD * LINES
    seen: dict[str, list[int]] = {}
    for request_id, function_id, state, line_function, seq, text in rows:
        assert state == "finished"
        assert text == f"{request_id}|{seq}"  # the line sits under the invocation that printed it
        assert function_id == line_function == f"fn/{request_id[1 : request_id.index('-')]}"
        seen.setdefault(request_id, []).append(seq)
    assert set(seen) == set(acked)
    assert all(seqs == list(range(LINES)) for seqs in seen.values())  # in order, nothing missing

    with Reader(store_path) as reader:
        assert reader.totals() == {"invocations": THREADS * PER_THREAD, "logs": THREADS * PER_THREAD * LINES}
        detail = reader.invocation("t3-n17")
        assert [line.text for line in detail.logs] == [f"t3-n17|{seq}" for seq in range(LINES)]
        assert reader.count_logs(Filter(function_id="fn/5")) == PER_THREAD * LINES

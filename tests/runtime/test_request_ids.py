"""Request ids: random version-4 UUIDs as text, drawn from a per-thread pool of urandom bytes, never
repeated by a forked child."""

from __future__ import annotations

import os
import uuid

from studio.runtime.supervisor import new_request_id


def test_request_ids_are_distinct_version_4_uuids():
    ids = [new_request_id() for _ in range(3000)]  # several pools' worth
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_its_parents_next_ids():
    new_request_id()  # the pool holds unused bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert uuid.UUID(child_id).version == 4
    assert child_id != new_request_id()

"""The framing between the serving process and its store writer process (ingest.py, ingester.py).

One byte stream (a Unix socketpair) each way, carrying frames: a 4-byte length, a 1-byte kind, the
payload. Parent -> child frames are runtime events (a started invocation and a log line pickled, a
finished record as its journal line, so the bytes already written for durability are the wire form),
drop counts and named operations; child -> parent frames are pickled messages (see ingest.py).
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">IB")

INIT = 0x49  # I: (db_path, settings, queue_limit, busy_timeout_ms), pickled
STARTED = 0x53  # S: an InvocationStarted, pickled
LOG = 0x4C  # L: a LogLine, pickled
FINISHED = 0x46  # F: a finished record's journal line (JSON)
FINISHED_WHOLE = 0x66  # f: the same, for an invocation none of whose events were sent: its start and log
# lines come from the record (the parent held them back: most invocations end within milliseconds)
DROPPED = 0x44  # D: (invocations, lines) the parent did not send, pickled
OPERATION = 0x4F  # O: (token, name, args), pickled
MESSAGE = 0x4D  # M: child -> parent, a pickled tuple whose first item names it

BUFFER_BYTES = 8 << 20
"""Socket buffers asked for each way (the kernel caps them): room for bursts without a full channel."""


def frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(len(payload), kind) + payload


class Frames:
    """Cuts a byte stream into (kind, payload) frames, keeping a partial frame for the next feed."""

    def __init__(self) -> None:
        self._pending = bytearray()
        """The start of a frame not yet complete (grows in place however many reads it takes)."""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        # Each payload is sliced once from the bytes read: copying every read into one bytearray and
        # every payload out of it twice cost ~2% of the writer process's CPU per EdgeOne invocation.
        pending = self._pending
        if pending:
            pending += data
            if len(pending) < HEADER.size or len(pending) < HEADER.size + HEADER.unpack_from(pending)[0]:
                return []  # its first frame is still incomplete
            data = bytes(pending)
            pending.clear()
        frames: list[tuple[int, bytes]] = []
        position, size_of_header, end_of_data = 0, HEADER.size, len(data)
        unpack_from = HEADER.unpack_from
        while end_of_data - position >= size_of_header:
            length, kind = unpack_from(data, position)
            end = position + size_of_header + length
            if end > end_of_data:
                break
            frames.append((kind, data[position + size_of_header:end]))
            position = end
        if position < end_of_data:
            pending += memoryview(data)[position:]
        return frames

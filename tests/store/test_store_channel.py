"""The framing between the serving process and its store writer process: whatever sizes the reads
come in, every frame comes out whole, once, in order, as bytes."""

from __future__ import annotations

import random

import pytest

from studio.store import channel

FRAMES = [(channel.FINISHED_WHOLE, b'{"request_id": "a"}'), (channel.MESSAGE, b""), (channel.LOG, bytes(range(256))),
          *[(channel.FINISHED, bytes([index % 256]) * index) for index in range(1, 400, 37)]]
STREAM = b"".join(channel.frame(kind, payload) for kind, payload in FRAMES)


def read_in(stream: bytes, sizes) -> list[tuple[int, bytes]]:
    frames, out, position = channel.Frames(), [], 0
    while position < len(stream):
        size = next(sizes)
        out += frames.feed(stream[position:position + size])
        position += size
    return out


@pytest.mark.parametrize("size", [1, 2, 4, 5, 6, 19, 64, 1000, len(STREAM)])
def test_frames_come_out_whole_whatever_the_read_sizes(size):
    out = read_in(STREAM, iter(lambda: size, None))
    assert out == FRAMES
    assert {type(payload) for _, payload in out} == {bytes}


def test_random_read_sizes_and_a_frame_larger_than_many_reads():
    rng = random.Random(7)
    stream = STREAM + channel.frame(channel.FINISHED, b"x" * (3 << 20)) + STREAM
    out = read_in(stream, iter(lambda: rng.choice([1, 3, 7, 500, 65536, 1 << 20]), None))
    assert out == [*FRAMES, (channel.FINISHED, b"x" * (3 << 20)), *FRAMES]

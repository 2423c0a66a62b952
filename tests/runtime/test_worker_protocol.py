"""The frame protocol's additions: incremental decoding and descriptors passed with a frame."""

from __future__ import annotations

import os
import socket

import pytest

from studio.runtime.worker import protocol


def test_decoder_takes_whole_frames_from_any_split():
    data = protocol.encode_frame({"type": "log", "text": "ü"}) + protocol.encode_frame({"type": "result"}, b"\x00" * 5)
    for split in range(1, len(data)):
        decoder = protocol.FrameDecoder()
        frames = decoder.feed(data[:split]) + decoder.feed(data[split:])
        assert frames == [({"type": "log", "text": "ü"}, b""), ({"type": "result"}, b"\x00" * 5)]
        assert decoder.pending == 0


def test_decoder_rejects_garbage():
    decoder = protocol.FrameDecoder()
    with pytest.raises(protocol.ProtocolError):
        decoder.feed(protocol.HEADER.pack(2, 0) + b"[]")
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameDecoder().feed(protocol.HEADER.pack(protocol.MAX_JSON + 1, 0))


def test_frames_carry_file_descriptors():
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        protocol.send_frame_with_fds(left, {"type": "fork", "token": 1}, [write_end], b"blob")
        message, blob, fds = protocol.recv_frame_with_fds(right)
        assert (message, blob, len(fds)) == ({"type": "fork", "token": 1}, b"blob", 1)
        os.write(fds[0], b"through the passed fd")
        os.close(fds[0])
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"through the passed fd"
        left.close()
        with pytest.raises(protocol.ConnectionClosed):
            protocol.recv_frame_with_fds(right)
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
        right.close()

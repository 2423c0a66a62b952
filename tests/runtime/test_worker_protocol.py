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


def test_marshalled_frames_read_as_their_json_would():
    message = {"type": "invoke", "request": {"headers": [["Host", "x"]], "n": 1.5, "none": None, "t": True}}
    data = protocol.encode_trusted_frame(message, b"body")
    assert protocol.HEADER.unpack_from(data)[0] & protocol.MARSHALLED
    left, right = socket.socketpair()
    with left, right:
        left.sendall(data + protocol.encode_trusted_frame({"type": "x", "odd": object()}))
        assert protocol.recv_frame(right) == (message, b"body")
        odd, _ = protocol.recv_frame(right)  # marshal cannot write it: JSON writes its repr
        assert odd["odd"].startswith("<object object")
    # workers must answer in JSON: a marshalled frame from one is refused as garbage
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameDecoder().feed(data)


def test_every_invoke_frame_the_gateway_sends_reads_the_same_as_json(tmp_path, monkeypatch):
    """The supervisor marshals its invoke frames: that is only right while every request it builds
    holds JSON types alone (a tuple would reach the worker as a tuple, not a list). Every kind of
    request of the sample projects (HTTP on each route, direct events, timers' events) is checked."""
    import json
    import marshal
    import shutil
    from pathlib import Path

    from gw_helpers import request, serving

    sent = []
    trusted = protocol.encode_trusted_frame
    monkeypatch.setattr(protocol, "encode_trusted_frame",
                        lambda message, blob=b"": sent.append(message) or trusted(message, blob))
    samples = Path(__file__).resolve().parents[2] / "sample_projects"
    for sample in sorted(samples.iterdir()):
        root = shutil.copytree(sample, tmp_path / sample.name, ignore=shutil.ignore_patterns(".funcstudio"))
        with serving(root) as runtime:
            project = runtime.gateway.state.project
            for route in project.routes:
                path = route.path.replace("[[", "[").replace("]]", "]")
                path = "/".join("x" if part.startswith("[") or part.startswith(":") else part
                                for part in path.split("/")) or "/"
                request(runtime.port, "POST", path + "?q=1", body=b'{"a": 1}',
                        headers={"Content-Type": "application/json", "X-Two": "a"})
            for function in project.functions:
                runtime.gateway.invoke_direct(function, {"a": [1, {"b": None}], "s": "ü"}, "invoke")
    assert len(sent) > 10
    for message in sent:
        assert marshal.loads(marshal.dumps(message)) == json.loads(json.dumps(message)), message


def test_recv_frame_keeps_what_came_beyond_its_frame():
    """`recv_frame` reads a frame in one recv when it can: two frames in one write, a frame split
    over two writes and a big blob all come out whole and in order."""
    import threading

    left, right = socket.socketpair()
    with left, right:
        first = protocol.encode_trusted_frame({"type": "invoke", "n": 1}, b"a")
        second = protocol.encode_frame({"type": "debug", "n": 2})
        left.sendall(first + second)
        assert protocol.recv_frame(right) == ({"type": "invoke", "n": 1}, b"a")
        assert protocol.recv_frame(right) == ({"type": "debug", "n": 2}, b"")
        third = protocol.encode_frame({"type": "x"}, b"z" * 300_000)
        writer = threading.Thread(target=lambda: (left.sendall(third[:5]), left.sendall(third[5:])))
        writer.start()
        assert protocol.recv_frame(right) == ({"type": "x"}, b"z" * 300_000)
        writer.join()
        left.close()
        with pytest.raises(protocol.ConnectionClosed):
            protocol.recv_frame(right)

"""The framed protocol between the supervisor and a worker instance.

Standard library only: this module is imported inside worker processes, which may run under
the project's own interpreter.

A frame is an 8-byte header (two big-endian uint32: the JSON length and the blob length),
then the JSON object (UTF-8), then the blob (raw bytes: request or response bodies, never
base64). Frames travel on a dedicated socket/pipe, never on the worker's stdout.

Messages (the "type" key):

supervisor -> worker
  invoke    {request_id, deadline_s, request}         blob: request body
  shutdown  {}

worker -> supervisor
  ready       {init_ms, kind, framework, inner_routes: [{methods, path, name}], modules: [abs paths]}
  load_error  {error: {type, message, traceback, frames}, modules}
  log         {request_id, stream, level, time, text}
  result      {request_id, status, headers: [[k, v]], return_value, error, warnings: [{id, message, fix}],
               duration_ms, peak_memory_kb, modules, outbox}    blob: response body
"""

from __future__ import annotations

import json
import os
import socket
import struct

HEADER = struct.Struct(">II")
MAX_JSON = 64 * 1024 * 1024
MAX_BLOB = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not a frame (or went away mid-frame)."""


class ConnectionClosed(ProtocolError):
    """The peer closed the channel cleanly between frames."""


def encode_frame(message: dict, blob: bytes = b"") -> bytes:
    data = json.dumps(message, ensure_ascii=False, default=repr).encode("utf-8")
    return HEADER.pack(len(data), len(blob)) + data + blob


def send_frame(sock: socket.socket, message: dict, blob: bytes = b"") -> None:
    sock.sendall(encode_frame(message, blob))


def write_frame(fd: int, message: dict, blob: bytes = b"") -> None:
    view = memoryview(encode_frame(message, blob))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(read, n: int, at_boundary: bool) -> bytes:
    chunks = []
    remaining = n
    while remaining:
        chunk = read(min(remaining, 1 << 20))
        if not chunk:
            if at_boundary and remaining == n:
                raise ConnectionClosed("channel closed")
            raise ProtocolError(f"channel closed mid-frame ({n - remaining}/{n} bytes)")
        chunks.append(chunk)
        remaining -= len(chunk)
        at_boundary = False
    return b"".join(chunks)


def read_frame_with(read) -> tuple[dict, bytes]:
    """Read one frame using `read(n) -> bytes` (a socket's recv or os.read on a fd)."""
    json_len, blob_len = HEADER.unpack(_read_exact(read, HEADER.size, True))
    if json_len > MAX_JSON or blob_len > MAX_BLOB:
        raise ProtocolError(f"frame too large ({json_len} + {blob_len} bytes)")
    message = json.loads(_read_exact(read, json_len, False)) if json_len else {}
    blob = _read_exact(read, blob_len, False) if blob_len else b""
    if not isinstance(message, dict) or "type" not in message:
        raise ProtocolError("frame without a type")
    return message, blob


def recv_frame(sock: socket.socket) -> tuple[dict, bytes]:
    return read_frame_with(sock.recv)


def read_frame(fd: int) -> tuple[dict, bytes]:
    return read_frame_with(lambda n: os.read(fd, n))

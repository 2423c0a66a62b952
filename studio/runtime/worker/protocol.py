"""The framed protocol between the supervisor and a worker instance.

Standard library only: this module is imported inside worker processes, which may run under
the project's own interpreter.

A frame is an 8-byte header (two big-endian uint32: the JSON length and the blob length),
then the JSON object (UTF-8), then the blob (raw bytes: request or response bodies, never
base64). Frames travel on a dedicated socket/pipe, never on the worker's stdout.

Frames the supervisor sends may carry the object as `marshal` data instead of JSON (the top bit
of the first length says so): the same JSON-typed object, encoded and decoded several times faster
on every request. Only the trusted direction does this: frames a worker sends must be JSON
(`FrameDecoder` refuses anything else), since `marshal` is not safe against crafted input.

Messages (the "type" key):

supervisor -> worker
  invoke    {request_id, deadline_s, request}         blob: request body
  shutdown  {}
  load      {config}        spawn mode only: the first frame, the same config a fork gets

worker -> supervisor
  ready       {init_ms, kind, framework, inner_routes: [{methods, path, name}], modules: [abs paths],
               warnings: [{id, message, fix}]}
  load_error  {error: {type, message, traceback, frames}, modules, warnings}
  log         {request_id, stream, level, time, text, truncated?}
              stream: stdout | stderr | logging | platform; level only for logging records.
              request_id is null for lines written while loading or between invocations.
              `truncated: true` says the worker hit the output cap and drops what follows.
  result      {request_id, status, headers: [[k, v]], return_value, error, warnings: [{id, message, fix}],
               duration_ms, peak_memory_kb, modules, outbox, logs}    blob: response body
              `modules` is present only when the set of imported project files changed.
              `logs` ([[stream, level, time, text]]) are the platform lines not streamed as `log`
              frames: they are held for the result unless the invocation prints or runs long.
  Unknown frame types and keys are ignored by both sides, so the protocol can grow (debugger frames).
  exiting     {request_id, code, error}   the user code called sys.exit(); the process exits next

error = {type, message, traceback, frames: [{file, line, function, source, locals: {name: repr},
         is_user}]}, runtime frames removed.

fork server (supervisor <-> zygote, its own control socket)
  -> config   {preload: [module names]}   first frame; import failures are ignored (listed in hello)
  -> fork     {token, config}   ancillary fds: [channel socket, stdout pipe write end, stderr pipe
                                write end]; the child dup2s the pipes onto fds 1 and 2
  <- hello    {pid, python, version, preloaded: [...], failed: [...]}
  <- forked   {token, pid}  or  {token, error}
  <- exited   {pid, returncode}   (negative: killed by that signal)

config (InstanceConfig as JSON): {function_id, platform, kind, entry_path, code_root, project_root,
  handler, env, quirks, memory_mb, output_cap_bytes, extra, load_timeout_s, entry_source}
  entry_source (base64 or null) is the entry file as the supervisor read it: the instance compiles it
  instead of the file, which an in-place save may have truncated since (worker/pinned_source.py).
  output_cap_bytes bounds what one invocation may print (frames and fd output together); past it
  the supervisor emits one `platform` marker line and drops the rest.

request (the `request` of an invoke frame)

  HTTP (EdgeOne, CocoBase, SCF API Gateway via the gateway):
    {method, path, query_string, headers: [[k, v]], remote_addr, scheme, host, server_port,
     dispatcher, route, request_id, raw_path?, asgi_single?}
    path          the percent-DECODED path without the query (as werkzeug's request.path)
    raw_path      optional: the path as it was on the request line (percent-encoded); default
                  is `path` re-quoted
    query_string  the raw query text without `?`
    headers       as the client sent them (case kept, repeats kept, in order)
    host          the Host header value (name[:port]); server_port is an int
    dispatcher    "flask" | "asgi": the EdgeOne dispatcher for the whole project (RUNTIME_SPEC 2.5);
                  it decides header case, handler(request)'s type and error prefixes
    asgi_single   optional bool: the project's only route is this ASGI entry (uvicorn serves it
                  directly: 404 GET/HEAD/OPTIONS retried once with `/` appended)
    route         {path, params: {name: value}, strip_prefix: str | null, catch_all, is_framework,
                   excluded_dir?}   strip_prefix as project.model.Route.strip_prefix

  event (SCF direct invoke, timers, CocoBase without HTTP):
    {type: "event", event, context, request_id}

Everything else in `extra` of the config is platform settings, passed through to adapters
(`edgeone.headers`: "production" | "dev").
"""

from __future__ import annotations

import json
import marshal
import os
import socket
import struct

HEADER = struct.Struct(">II")
MARSHALLED = 1 << 31
"""Set in a frame's first length: its object is `marshal` data (version `MARSHAL_VERSION`)."""
MARSHAL_VERSION = 4  # readable by every Python 3 a project may run its instances on
MAX_JSON = 64 * 1024 * 1024
RECV_BYTES = 1 << 16
MAX_BLOB = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not a frame (or went away mid-frame)."""


class ConnectionClosed(ProtocolError):
    """The peer closed the channel cleanly between frames."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=repr)  # json.dumps would build one per call


def encode_frame(message: dict, blob: bytes = b"") -> bytes:
    data = _ENCODER.encode(message).encode("utf-8")
    return HEADER.pack(len(data), len(blob)) + data + blob


def encode_trusted_frame(message: dict, blob: bytes = b"") -> bytes:
    """`encode_frame` for the supervisor's frames to its own workers: `marshal` when the message is
    plain data, else JSON. Messages must hold JSON types only (lists, not tuples) to read the same."""
    try:
        data = marshal.dumps(message, MARSHAL_VERSION)
    except ValueError:  # an object marshal cannot write: JSON writes its repr
        return encode_frame(message, blob)
    return HEADER.pack(len(data) | MARSHALLED, len(blob)) + data + blob


def _decode_object(raw: bytes, marshalled: bool):
    return marshal.loads(raw) if marshalled else json.loads(raw)


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
    """Read one frame using `read(n) -> bytes` (a socket's recv or os.read on a fd); JSON or
    `marshal` (frames from the supervisor)."""
    json_len, blob_len = HEADER.unpack(_read_exact(read, HEADER.size, True))
    marshalled = bool(json_len & MARSHALLED)
    json_len &= ~MARSHALLED
    if json_len > MAX_JSON or blob_len > MAX_BLOB:
        raise ProtocolError(f"frame too large ({json_len} + {blob_len} bytes)")
    message = _decode_object(_read_exact(read, json_len, False), marshalled) if json_len else {}
    blob = _read_exact(read, blob_len, False) if blob_len else b""
    if not isinstance(message, dict) or "type" not in message:
        raise ProtocolError("frame without a type")
    return message, blob


_unread: dict[int, bytes] = {}
"""Per socket (fd): bytes `recv_frame` received beyond the frame it returned."""


def recv_frame(sock: socket.socket) -> tuple[dict, bytes]:
    """One frame from a blocking socket: usually ONE recv for head and object together (a frame is
    sent in one write), what came beyond it kept for the next call on the same socket."""
    fd = sock.fileno()
    data = _unread.pop(fd, b"") or sock.recv(RECV_BYTES)
    if len(data) >= HEADER.size:
        json_len, blob_len = HEADER.unpack_from(data)
        end = HEADER.size + (json_len & ~MARSHALLED) + blob_len
        if len(data) > end and json_len & ~MARSHALLED <= MAX_JSON and blob_len <= MAX_BLOB:
            _unread[fd] = data[end:]
            data = data[:end]
    return read_frame_with(_reading_first(data, sock))


def _reading_first(data: bytes, sock: socket.socket):
    """A `read(n)` for `read_frame_with` that hands out `data` (bytes already received) before
    receiving more from `sock`."""
    pending = [data] if data else []

    def read(n: int) -> bytes:
        if pending:
            chunk = pending.pop()
            if len(chunk) > n:
                pending.append(chunk[n:])
                chunk = chunk[:n]
            return chunk
        return sock.recv(n)

    return read


def read_frame(fd: int) -> tuple[dict, bytes]:
    return read_frame_with(lambda n: os.read(fd, n))


def send_frame_with_fds(sock: socket.socket, message: dict, fds: list[int], blob: bytes = b"") -> None:
    """Send one frame with file descriptors attached to its first byte (Unix sockets only)."""
    data = encode_frame(message, blob)
    sent = socket.send_fds(sock, [data], fds)
    if sent < len(data):
        sock.sendall(data[sent:])


def recv_frame_with_fds(sock: socket.socket, max_fds: int = 8) -> tuple[dict, bytes, list[int]]:
    """Receive one frame and the descriptors that came with it (see `send_frame_with_fds`)."""
    head, fds, _flags, _addr = socket.recv_fds(sock, HEADER.size, max_fds)
    if not head:
        raise ConnectionClosed("channel closed")
    message, blob = read_frame_with(_reading_first(head, sock))
    return message, blob, list(fds)


class FrameDecoder:
    """Incremental decoding for non-blocking readers: feed bytes, take whole frames. JSON frames only:
    this reads what workers send, and a `marshal` frame from one is garbage (see the module doc)."""

    def __init__(self, loads=json.loads) -> None:
        self._buffer = bytearray()
        self._loads = loads
        """Parses a frame's JSON (the supervisor passes a faster, equivalent one)."""

    def feed(self, data: bytes) -> list[tuple[dict, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            json_len, blob_len = HEADER.unpack_from(self._buffer)
            if json_len > MAX_JSON or blob_len > MAX_BLOB:
                raise ProtocolError(f"frame too large ({json_len} + {blob_len} bytes)")
            end = HEADER.size + json_len + blob_len
            if len(self._buffer) < end:
                break
            raw = bytes(self._buffer[HEADER.size:HEADER.size + json_len])
            blob = bytes(self._buffer[HEADER.size + json_len:end])
            del self._buffer[:end]
            try:
                message = self._loads(raw) if raw else {}
            except ValueError as exc:  # not JSON, or not UTF-8: the peer wrote garbage on the channel
                raise ProtocolError(f"a frame that is not JSON: {exc}") from None
            if not isinstance(message, dict) or "type" not in message:
                raise ProtocolError("frame without a type")
            frames.append((message, blob))
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)

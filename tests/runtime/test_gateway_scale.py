"""256 clients at once against one function with two instances (issue 11, item 4): every one gets its
answer. Requests that find both instances busy wait their turn; none fails because the server is
merely busy. How fast that goes is measured by benchmarks/scale.py, not here."""

from __future__ import annotations

import asyncio

import pytest
from gw_helpers import serving, write_files

pytestmark = pytest.mark.slow

CLIENTS = 256
FILES = {
    "cloud-functions/fn.py": """
        def handler(event, context):
            return {"statusCode": 200, "body": "hello " + (event.get("queryStringParameters") or {}).get("n", "")}
    """,
    "funcstudio.toml": """
        [runtime]
        max_instances = 2
    """,
}


async def one(port: int, n: int) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /fn?n={n} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = await reader.read()  # until the server closes after its answer
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def all_at_once(port: int) -> list[tuple[int, bytes]]:
    return await asyncio.wait_for(asyncio.gather(*(one(port, n) for n in range(CLIENTS))), 240)


def test_256_concurrent_clients_all_get_answers(tmp_path):
    from studio.runtime.events import InvocationFinished

    root = write_files(tmp_path / "scale", FILES)
    with serving(root) as runtime:
        answers = asyncio.run(all_at_once(runtime.port))
        assert [status for status, _ in answers] == [200] * CLIENTS
        assert [body for _, body in answers] == [b"hello %d" % n for n in range(CLIENTS)]
        records = runtime.events.of(InvocationFinished)
        assert len(records) == CLIENTS and {r.record.status for r in records} == {200}
        assert len({r.record.instance_id for r in records}) <= 2  # the instance limit held


def test_idle_connections_cost_no_thread(tmp_path):
    """200 open keep-alive connections with nothing in flight: the server holds them on its event
    loop, not on a thread each (werkzeug's dev server spent one per connection)."""
    import socket
    import threading

    from gw_helpers import request

    root = write_files(tmp_path / "idle", FILES)
    with serving(root) as runtime:
        assert request(runtime.port, "GET", "/fn?n=0").status == 200
        before = threading.active_count()
        idle = [socket.create_connection(("127.0.0.1", runtime.port), timeout=30) for _ in range(200)]
        try:
            for sock in idle[:100]:  # half of them finish a request, one after another, and stay open
                sock.sendall(b"GET /fn?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            assert threading.active_count() - before < 20
            assert request(runtime.port, "GET", "/fn?n=2").body == b"hello 2"
        finally:
            for sock in idle:
                sock.close()

"""The listening server: uvicorn (httptools parser, uvloop where available) on its own loop thread.

It takes any ASGI application and knows nothing about functions:

    server = HttpServer(app, "127.0.0.1", 0)
    server.start()          # bound and serving; raises PortInUse
    server.port             # the port it got
    server.stop()

Connections are served by an event loop, so an idle keep-alive connection costs no thread. The
framing rules (what is refused before the application sees it) live in `http_protocol`.

Why uvicorn and not granian: granian's bare ASGI throughput is as high or higher
(benchmarks/scale.py), but its parser (hyper 1.x, granian 2.8) hands the application a request with
both Transfer-Encoding and Content-Length, and one with a duplicated Content-Length, and answers a
chunk that overruns its size with 500; none of that can be refused before the function runs.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading

from studio.runtime.http_protocol import HttpLimits, protocol_for

log = logging.getLogger(__name__)

STOP_GRACE_S = 2.0
"""On stop, requests in flight get this long to finish before their connections are closed."""


class PortInUse(OSError):
    pass


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows, PyPy: asyncio's own loop
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port). Raises PortInUse, or OSError naming the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(exc.errno, f"port {port} on {host} is already in use; "
                                       f"pick another with --port, or --port 0 for any free one") from exc
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


class HttpServer:
    def __init__(self, app, host: str, port: int, limits: HttpLimits | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.limits = limits or HttpLimits()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._uvicorn = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        """Bind and serve from a daemon thread; returns once the server accepts connections."""
        import uvicorn

        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, http=protocol_for(self.limits), interface="asgi3", lifespan="off",
            log_config=None, access_log=False, proxy_headers=False, server_header=False, date_header=False,
            timeout_keep_alive=int(self.limits.keep_alive_s), ws="none",
        )
        self._uvicorn = uvicorn.Server(config)
        self.loop = new_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._serve(sock, ready))
            except BaseException as exc:  # noqa: BLE001 - reported to start() or logged
                failure.append(exc)
                log.exception("the HTTP server stopped on an error")
            finally:
                ready.set()
                sock.close()
                self.loop.close()

        self._thread = threading.Thread(target=run, name="funcstudio-http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise OSError(f"cannot serve on {self.host}:{self.port}: {failure[0]}")

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        server = self._uvicorn
        self._stopped = asyncio.Event()
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)  # "off": a no-op
        await server.startup(sockets=[sock])
        ready.set()
        await self._stopped.wait()
        server.should_exit = True
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()  # idle ones close now, busy ones after their response
        deadline = self.loop.time() + STOP_GRACE_S
        while server.server_state.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(server.server_state.connections):
            connection.transport.close()
        await asyncio.sleep(0)  # connection_lost runs: the requests still in flight see a disconnect
        for task in list(server.server_state.tasks):
            task.cancel()
        await asyncio.sleep(0)

    def stop(self) -> None:
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:
                pass  # the loop already finished
        thread.join(timeout=STOP_GRACE_S + 3)
        self._thread = None

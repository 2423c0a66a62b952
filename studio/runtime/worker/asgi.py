"""Running an ASGI application in the instance: lifespan at load and exit, one request at a time.

The instance owns one event loop. Lifespan startup runs when the entry loads and its task stays
parked in the loop (it resumes whenever the loop runs); shutdown runs when the instance exits.
"""

from __future__ import annotations

import asyncio

LIFESPAN_TIMEOUT_S = 30.0


class LifespanFailed(RuntimeError):
    pass


class AsgiRunner:
    def __init__(self, app) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.state: dict = {}
        self._lifespan_task = None
        self._lifespan_in: asyncio.Queue | None = None
        self._lifespan_supported = False

    # -- lifespan --------------------------------------------------------------------------------

    def startup(self) -> None:
        self.loop.run_until_complete(self._startup())

    async def _startup(self) -> None:
        self._lifespan_in = asyncio.Queue()
        outcome: asyncio.Future = self.loop.create_future()

        async def receive():
            return await self._lifespan_in.get()

        async def send(message):
            kind = message.get("type")
            if kind in ("lifespan.startup.complete", "lifespan.startup.failed") and not outcome.done():
                outcome.set_result(message)
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed") and self._shutdown_done:
                if not self._shutdown_done.done():
                    self._shutdown_done.set_result(message)

        self._shutdown_done = None
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def run():
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:  # noqa: BLE001 - an app without lifespan raises here
                if not outcome.done():
                    outcome.set_exception(exc)

        await self._lifespan_in.put({"type": "lifespan.startup"})
        self._lifespan_task = self.loop.create_task(run())
        done, _ = await asyncio.wait({outcome, self._lifespan_task}, timeout=LIFESPAN_TIMEOUT_S,
                                     return_when=asyncio.FIRST_COMPLETED)
        if outcome not in done:
            return  # lifespan ended without answering: unsupported, like uvicorn's "auto"
        if outcome.exception() is not None:
            return  # the app does not speak lifespan (uvicorn logs and carries on)
        message = outcome.result()
        if message["type"] == "lifespan.startup.failed":
            raise LifespanFailed(message.get("message") or "lifespan startup failed")
        self._lifespan_supported = True

    def shutdown(self) -> None:
        if not self._lifespan_supported or self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(asyncio.wait_for(self._shutdown(), LIFESPAN_TIMEOUT_S))
        except BaseException:  # noqa: BLE001 - shutdown must not block the exit
            pass

    async def _shutdown(self) -> None:
        self._shutdown_done = self.loop.create_future()
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await asyncio.wait({self._shutdown_done, self._lifespan_task}, return_when=asyncio.FIRST_COMPLETED)

    # -- requests --------------------------------------------------------------------------------

    def request(self, scope: dict, body: bytes) -> tuple[dict, BaseException | None]:
        """Run one HTTP request; returns ({status, headers, body, started}, exception or None)."""
        return self.loop.run_until_complete(self._request(scope, body))

    async def _request(self, scope: dict, body: bytes):
        scope = dict(scope, state=dict(self.state))
        response = {"status": None, "headers": [], "body": bytearray(), "started": False}
        sent_request = False
        finished = asyncio.Event()

        async def receive():
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            kind = message.get("type")
            if kind == "http.response.start":
                if response["started"]:
                    raise RuntimeError("Expected ASGI message 'http.response.body', but got "
                                       "'http.response.start'.")
                response["started"] = True
                response["status"] = int(message["status"])
                response["headers"] = [
                    (_text(k), _text(v)) for k, v in message.get("headers") or []
                ]
            elif kind == "http.response.body":
                response["body"] += message.get("body") or b""
                if not message.get("more_body", False):
                    finished.set()

        error = None
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - reported by the caller with the platform's prefix
            error = exc
        finished.set()
        response["body"] = bytes(response["body"])
        return response, error

    def close(self) -> None:
        self.shutdown()
        try:
            self.loop.close()
        except Exception:  # noqa: BLE001
            pass


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def http_scope(req, path: str, root_path: str) -> dict:
    name, port = req.server_name_port()
    raw_path = req.raw_path
    if root_path and raw_path.startswith(root_path):
        raw_path = raw_path[len(root_path):] or "/"
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": req.scheme,
        "path": path,
        "raw_path": raw_path.encode("latin-1", "replace"),
        "root_path": root_path,
        "query_string": req.query_string.encode("latin-1", "replace"),
        "headers": [(k.lower().encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                    for k, v in req.headers],
        "client": (req.remote_addr, 0),
        "server": (name, port),
        "extensions": {},
    }

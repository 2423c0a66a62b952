"""Plain HTTP to the studio's own gateway (loopback), used from thread workers only."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

REQUEST_ID_HEADER = "X-Funcstudio-Request-Id"


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    duration_ms: float

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


class GatewayClient:
    """One call per connection: the gateway is local, and a fresh socket keeps threads apart."""

    def __init__(self, base_url: str, timeout: float | None = 120.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout

    def request(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
                body: bytes = b"") -> GatewayResponse:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            connection.putrequest(method, path or "/", skip_accept_encoding=True)
            for name, value in headers or []:
                connection.putheader(name, value)
            if body or method.upper() in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
            return GatewayResponse(
                status=response.status,
                headers=list(response.getheaders()),
                body=data,
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        finally:
            connection.close()

    def invoke_function(self, function_id: str, event: bytes, invocation_type: str = "RequestResponse",
                        extra_headers: list[tuple[str, str]] | None = None) -> GatewayResponse:
        return self.request(
            "POST",
            f"/__funcstudio/functions/{function_id}/invoke",
            [("Content-Type", "application/json"), ("X-Funcstudio-Invocation-Type", invocation_type),
             *(extra_headers or [])],
            event,
        )

    def invocation(self, request_id: str) -> dict | None:
        """The runtime's full record of one invocation (return value, warnings, trace), or None."""
        response = self.request("GET", f"/__funcstudio/invocations/{request_id}")
        if response.status != 200:
            return None
        try:
            return json.loads(response.body)
        except ValueError:
            return None

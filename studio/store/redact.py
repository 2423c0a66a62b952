"""What the store keeps of a request or response: headers with secrets redacted, bodies capped.

Redaction happens before anything touches the disk, so a token pasted into a test request never
lands in `studio.db`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_NAME = re.compile(r"token|secret|passw|key|credential", re.IGNORECASE)
LINE_CAP_CHARS = 64 * 1024
"""One log line longer than this is cut (the runtime already caps a whole invocation's output)."""


def is_secret_header(name: str) -> bool:
    return name.lower() in SECRET_HEADERS or SECRET_NAME.search(name) is not None


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Headers as JSON-ready pairs, in their order, with the value of every secret one replaced."""
    return [[name, REDACTED if is_secret_header(name) else value] for name, value in headers]


def cap_body(body: bytes | str | None, cap: int) -> tuple[bytes, int, bool]:
    """(stored bytes, original size, truncated?). Binary stays bytes; text is stored as UTF-8."""
    if body is None:
        return b"", 0, False
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    size = len(body)
    if size > cap:
        return bytes(body[:cap]), size, True
    return bytes(body), size, False


def cap_line(text: str) -> str:
    if len(text) <= LINE_CAP_CHARS:
        return text
    return f"{text[:LINE_CAP_CHARS]} …[line cut at {LINE_CAP_CHARS} characters of {len(text)}]"

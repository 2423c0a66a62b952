"""What the store keeps of a request or response: headers with secrets redacted, bodies capped.

Redaction happens before anything touches the disk, so a token sent in a header (or a query
parameter with a secret-looking name) never lands in `studio.db`. What a function prints is kept
as printed: the store cannot know which of its own output is secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from studio.runtime.invocation import InvocationRecord

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


def redact_query(query_string: str) -> str:
    """`token=abc&page=2` -> `token=%5Bredacted%5D&page=2`; untouched when nothing is secret."""
    if not query_string or SECRET_NAME.search(query_string) is None:
        return query_string
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not any(SECRET_NAME.search(name) for name, _ in pairs):
        return query_string
    return urlencode([(name, REDACTED if SECRET_NAME.search(name) else value) for name, value in pairs])


def redact_record(record: InvocationRecord) -> InvocationRecord:
    """The record as the store keeps it: one pass over everything that can carry a secret."""
    return replace(
        record,
        query_string=redact_query(record.query_string),
        request_headers=tuple((name, value) for name, value in redact_headers(record.request_headers)),
        response_headers=tuple((name, value) for name, value in redact_headers(record.response_headers)),
    )


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
    text = valid_text(text)
    if len(text) <= LINE_CAP_CHARS:
        return text
    return f"{text[:LINE_CAP_CHARS]} …[line cut at {LINE_CAP_CHARS} characters of {len(text)}]"


def valid_text(text: str) -> str:
    """`text` as valid UTF-8: lone surrogates (undecodable bytes a process printed) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # back to the bytes that were printed
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    return text

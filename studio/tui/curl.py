"""Copy a request as a curl command and read one back (round-trips through `parse_curl`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field


@dataclass
class CurlRequest:
    method: str = "GET"
    url: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""


class CurlError(ValueError):
    """The text is not a curl command we can read; the message says which part."""


def to_curl(request: CurlRequest) -> str:
    parts = ["curl"]
    if request.method.upper() != "GET" or request.body:
        parts += ["-X", request.method.upper()]
    parts.append(shlex.quote(request.url))
    for name, value in request.headers:
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body:
        parts += ["--data-raw", shlex.quote(request.body)]
    return " ".join(parts)


_DATA_FLAGS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"}
_IGNORED_WITH_VALUE = {"-u", "--user", "-o", "--output", "-A", "--user-agent", "-e", "--referer",
                       "--connect-timeout", "-m", "--max-time", "-b", "--cookie"}


def parse_curl(text: str) -> CurlRequest:
    text = text.replace("\\\n", " ").strip()
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CurlError(f"cannot split the command: {exc}") from None
    if not words or words[0] != "curl":
        raise CurlError("a curl command starts with `curl`")
    request = CurlRequest(method="")
    bodies: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else None
        if word in ("-X", "--request"):
            if value is None:
                raise CurlError(f"{word} needs a method")
            request.method = value.upper()
            i += 2
        elif word in ("-H", "--header"):
            if value is None or ":" not in value:
                raise CurlError(f"{word} needs `Name: value`, got {value!r}")
            name, _, val = value.partition(":")
            request.headers.append((name.strip(), val.strip()))
            i += 2
        elif word in _DATA_FLAGS:
            if value is None:
                raise CurlError(f"{word} needs a body")
            bodies.append(value)
            if word == "--json":
                request.headers.append(("Content-Type", "application/json"))
            i += 2
        elif word in _IGNORED_WITH_VALUE:
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            request.url = word
            i += 1
    if not request.url:
        raise CurlError("no URL in the command")
    request.body = "&".join(bodies)
    if not request.method:
        request.method = "POST" if request.body else "GET"
    return request

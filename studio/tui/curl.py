"""Copy a request as a curl command and read one back (round-trips through `parse_curl`)."""

from __future__ import annotations

import base64
import re
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


_DATA_FLAGS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode", "--json"}
# Flags whose value becomes a header, as curl itself sends it.
_HEADER_FLAGS = {"-A": "User-Agent", "--user-agent": "User-Agent", "-e": "Referer", "--referer": "Referer",
                 "-b": "Cookie", "--cookie": "Cookie"}
_IGNORED_WITH_VALUE = {"-o", "--output", "--connect-timeout", "-m", "--max-time", "-x", "--proxy", "--retry",
                       "-w", "--write-out", "--cacert", "--cert", "--key", "-K", "--config", "-F", "--form",
                       "--resolve", "--max-redirs", "--limit-rate"}
# A line continued the way shells write it: bash/zsh `\`, cmd.exe `^`, PowerShell backtick.
_CONTINUATION = re.compile(r"[ \t]*(?:\\|\^|`)[ \t]*\r?\n[ \t]*")
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")


def join_lines(text: str) -> str:
    """One line from the multi-line form browsers and docs copy (`\\` at each line end)."""
    return " ".join(_CONTINUATION.sub(" ", text).split("\n")).strip()


def _ansi_c(match: re.Match) -> str:
    """`$'...'` (Chrome's quoting when a value holds a quote) as plain shell quoting."""
    raw = match.group(1)
    value = re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt'\"\\])", lambda m: {
        "n": "\n", "r": "\r", "t": "\t", "'": "'", '"': '"', "\\": "\\"}.get(m.group(1))
        or chr(int(m.group(1)[1:], 16)), raw)
    return shlex.quote(value)


def parse_curl(text: str) -> CurlRequest:
    text = _ANSI_C.sub(_ansi_c, join_lines(text))
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CurlError(f"cannot split the command: {exc}") from None
    if not words or words[0] != "curl":
        raise CurlError("a curl command starts with `curl`")
    request = CurlRequest(method="")
    bodies: list[str] = []
    as_query = False
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
        elif word in _HEADER_FLAGS:
            if value is None:
                raise CurlError(f"{word} needs a value")
            request.headers.append((_HEADER_FLAGS[word], value))
            i += 2
        elif word in ("-u", "--user"):
            if value is None:
                raise CurlError(f"{word} needs user:password")
            token = base64.b64encode(value.encode("utf-8")).decode("ascii")
            request.headers.append(("Authorization", f"Basic {token}"))
            i += 2
        elif word == "--url":
            if value is None:
                raise CurlError("--url needs a URL")
            request.url = value
            i += 2
        elif word in ("-G", "--get"):
            as_query = True
            i += 1
        elif word in ("-I", "--head"):
            request.method = request.method or "HEAD"
            i += 1
        elif word in _IGNORED_WITH_VALUE:
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            request.url = word
            i += 1
    if not request.url:
        raise CurlError("no URL in the command")
    if as_query and bodies:
        request.url += ("&" if "?" in request.url else "?") + "&".join(bodies)
        bodies = []
    request.body = "&".join(bodies)
    if not request.method:
        request.method = "POST" if request.body else "GET"
    return request

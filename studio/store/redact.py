"""What the store keeps of an invocation: secrets redacted in one pass, bodies capped.

Redaction happens before anything touches the disk, in ONE pass over the whole record
(`Redactor.record`), so a secret never lands in `studio.db` through a side door:

- request and response headers whose name is secret (`Authorization`, `Cookie`, `Set-Cookie`, any
  name with `cookie`, `token`, `secret`, `passw`, `key`, `credential`, `session`, `signature`,
  `auth`..., plus the names in `[store] redact`);
- query parameters with such names;
- the return value: an envelope dict such as `{"headers": {"Set-Cookie": ...}}` or SCF's
  `multiValueHeaders`/`cookies`, walked as JSON: inside `headers`/`multiValueHeaders` every secret
  name, elsewhere the secret header names themselves and `[store] redact`'s (a returned
  `{"keys": [...]}` is data, not a secret); a repr by its quoted `'name': 'value'` pairs;
- the locals of the error's frames (a variable named `token`, or a repr of an event that holds an
  `Authorization` header);
- the request body only for the JSON (or form) fields named in `[store] redact_body_fields`: a body
  is otherwise stored as sent, since replaying it needs it.

What a function prints is kept as printed: the store cannot know which of its own output is secret.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode

from studio.runtime.invocation import ErrorInfo, InvocationRecord

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_NAME = re.compile(r"token|secret|passw|key|credential|session|cookie|signature|auth(?!or)", re.IGNORECASE)
LINE_CAP_CHARS = 64 * 1024
"""One log line longer than this is cut (the runtime already caps a whole invocation's output)."""
NAMES_KNOWN = 4096
"""Header names whose answer `Redactor.headers` remembers (it starts over past this many)."""
HEADER_CONTAINERS = frozenset({"headers", "multivalueheaders"})
SECRET_WORDS = ("token", "secret", "passw", "key", "credential", "session", "cookie", "signature", "auth")
"""Every name `Redactor.secret` (or a returned value's check) calls secret holds one of these, lowercased,
or is a `[store] redact` name: an ASCII text holding none of them has nothing to redact (`_names_nothing`)."""
_JSON_ESCAPED = re.compile(r'["\\/\x00-\x1f]')
"""Characters a JSON text may write as an escape (`\\/`), so a name holding one can hide from a search."""
_QUOTED_PAIR = re.compile(r"""(?P<q>['"])(?P<name>[^'"\\]{1,200})(?P=q)(?P<sep>\s*:\s*)(?P<vq>['"])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)""")


@dataclass(frozen=True)
class Redactor:
    """Which names are secret: the built-in ones plus `extra` (exact, any case); which JSON or form
    fields of a request body are (`body_fields`, exact, any case)."""

    extra: frozenset[str] = frozenset()
    body_fields: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, redact: Iterable[str] = (), body_fields: Iterable[str] = ()) -> Redactor:
        return cls(frozenset(n.lower() for n in redact), frozenset(n.lower() for n in body_fields))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - frozen, long-lived: a few redactors per process
    def secret(self, name: str) -> bool:
        """Called for every header and query name of every stored invocation: remembered per name."""
        low = name.lower()
        return low in SECRET_HEADERS or low in self.extra or SECRET_NAME.search(name) is not None

    @functools.cached_property
    def _named(self) -> re.Pattern:
        """Finds, in a lowercased text, each word a secret name holds and each `extra` name."""
        return re.compile("|".join(re.escape(word) for word in sorted({*SECRET_WORDS, *self.extra}, key=len)))

    @functools.cached_property
    def _json_searchable(self) -> bool:
        """Whether every `extra` name reads the same in any JSON text (no character JSON may escape)."""
        return not any(_JSON_ESCAPED.search(name) for name in self.extra)

    def _names_nothing(self, text: str) -> bool:
        """Whether `text` (ASCII, so lowercasing is exact and no other letter folds to an ASCII one)
        holds no secret word and no `extra` name: then no name in it is secret, and parsing it to
        look (a query's parse_qsl, a return value's json.loads and walk: ~4 of a record's ~7 us of
        redaction) finds nothing. A `\\u` escape could spell a word, so it takes the full pass."""
        return text.isascii() and "\\u" not in text and self._named.search(text.lower()) is None

    def record(self, record: InvocationRecord) -> InvocationRecord:
        """The record as the store keeps it (the record itself when it holds nothing secret: no copy)."""
        query_string = self.query(record.query_string)
        request_headers = self.headers(record.request_headers)
        response_headers = self.headers(record.response_headers)
        return_value = self.text(record.return_value) if record.return_value else record.return_value
        error = self.error(record.error) if record.error is not None else None
        request_body = self.body(record.request_body, record.request_headers)
        if (query_string is record.query_string and request_headers is record.request_headers
                and response_headers is record.response_headers and return_value is record.return_value
                and error is None and request_body is record.request_body):
            return record
        return replace(record, query_string=query_string, request_headers=request_headers,
                       response_headers=response_headers, return_value=return_value, error=error,
                       request_body=request_body)

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """The headers with every secret value replaced; `headers` itself when it is a tuple with
        nothing secret in it."""
        if isinstance(headers, tuple) and not self._names_secret(headers):
            return headers
        return tuple((name, REDACTED if self.secret(name) else value) for name, value in headers)

    @functools.cached_property
    def _known(self) -> dict[str, bool]:
        """`secret`'s answers by name in a plain dict: looked up for every header of every record,
        where the lru_cache's key hashes this frozen dataclass in Python first (~2x the time)."""
        return {}

    def _names_secret(self, headers: tuple[tuple[str, str], ...]) -> bool:
        known = self._known
        for name, _ in headers:
            secret = known.get(name)
            if secret is None:
                if len(known) >= NAMES_KNOWN:
                    known.clear()
                secret = known[name] = self.secret(name)
            if secret:
                return True
        return False

    def query(self, query_string: str) -> str:
        """`token=abc&page=2` -> `token=%5Bredacted%5D&page=2`; untouched when nothing is secret."""
        if not query_string:
            return query_string
        # parse_qsl's names are the text's own but for `%XX` (could spell anything) and `+` (a space)
        if "%" not in query_string and self._names_nothing(query_string.replace("+", " ")):
            return query_string
        pairs = parse_qsl(query_string, keep_blank_values=True)
        if not any(self.secret(name) for name, _ in pairs):
            return query_string
        return urlencode([(name, REDACTED if self.secret(name) else value) for name, value in pairs])

    def text(self, text: str) -> str:
        """A return value or a repr: JSON walked; anything else by its quoted `'name': 'value'` pairs."""
        # JSON escapes other than \\u never make a letter, so a JSON name's words are the text's too
        if isinstance(text, str) and self._json_searchable and self._names_nothing(text):
            return text
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            return self._pairs(text)
        cleaned = self._walk(data, self._returned_secret)
        return text if cleaned == data else json.dumps(cleaned, ensure_ascii=False)

    def _returned_secret(self, key: str) -> bool:
        low = key.lower()
        return low in SECRET_HEADERS or low in self.extra or low == "cookies"

    def error(self, error: ErrorInfo) -> ErrorInfo:
        frames = tuple(
            replace(frame, locals={name: REDACTED if self.secret(name) else self._pairs(value)
                                   for name, value in frame.locals.items()})
            for frame in error.frames
        )
        return replace(error, frames=frames)

    def body(self, body: bytes, headers: Iterable[tuple[str, str]]) -> bytes:
        if not self.body_fields or not body:
            return body
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "").lower()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(text, keep_blank_values=True)
            if any(name.lower() in self.body_fields for name, _ in pairs):
                return urlencode([(n, REDACTED if n.lower() in self.body_fields else v) for n, v in pairs]).encode()
            return body
        try:
            data = json.loads(text)
        except ValueError:
            return body
        cleaned = self._walk(data, lambda key: key.lower() in self.body_fields, containers=False)
        return body if cleaned == data else json.dumps(cleaned, ensure_ascii=False).encode("utf-8")

    def _walk(self, value, is_secret, containers: bool = True):
        """JSON `value` with the value of every member `is_secret(name)` redacted; inside a
        `headers` or `multiValueHeaders` object every secret header name counts."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if is_secret(str(key)):
                    out[key] = _redacted(item)
                elif containers and str(key).lower() in HEADER_CONTAINERS and isinstance(item, dict):
                    out[key] = {name: _redacted(v) if self.secret(str(name)) else v for name, v in item.items()}
                else:
                    out[key] = self._walk(item, is_secret, containers)
            return out
        if isinstance(value, list):
            return [self._walk(item, is_secret, containers) for item in value]
        return value

    def _pairs(self, text: str) -> str:
        if not isinstance(text, str) or ":" not in text:
            return text

        def swap(match: re.Match) -> str:
            if not self.secret(match.group("name")):
                return match.group(0)
            quote, value_quote = match.group("q"), match.group("vq")
            return f"{quote}{match.group('name')}{quote}{match.group('sep')}{value_quote}{REDACTED}{value_quote}"

        return _QUOTED_PAIR.sub(swap, text)


def _redacted(value):
    """A secret member's value: strings (and lists of them, as in multiValueHeaders) redacted."""
    if isinstance(value, list):
        return [REDACTED for _ in value]
    if isinstance(value, dict):
        return {key: REDACTED for key in value}
    return REDACTED if value is not None else None


DEFAULT = Redactor()


def is_secret_header(name: str) -> bool:
    return DEFAULT.secret(name)


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Headers as JSON-ready pairs, in their order, with the value of every secret one replaced."""
    return [list(pair) for pair in DEFAULT.headers(headers)]


def redact_query(query_string: str) -> str:
    return DEFAULT.query(query_string)


def redact_record(record: InvocationRecord) -> InvocationRecord:
    return DEFAULT.record(record)


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
    if text.isascii():  # nearly always, and a flag lookup rather than an encode (~20 strings a record)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # back to the bytes that were printed
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    return text

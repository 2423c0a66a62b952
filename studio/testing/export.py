"""`funcstudio export REQUEST_ID --pytest`: a recorded invocation as a readable pytest test.

The test replays the recorded request through the `funcstudio` fixture and asserts the status,
the content type and the body: JSON structurally, with the values that change from run to run
(dates, generated ids, times, request ids) left out and listed in a comment; text with such values
masked; anything else by its SHA-256. Secret headers the store redacted are not replayed, and the
comment says so.
"""

from __future__ import annotations

import hashlib
import json
import pprint
import re
import textwrap
import time
from collections.abc import Sequence

from studio.runtime.invocation import InvocationRecord
from studio.testing.compare import masked, volatile_paths

REDACTED = "[redacted]"
NOT_REPLAYED = frozenset({"host", "content-length", "connection", "transfer-encoding"})
HEADER = """\
# Invocations recorded by funcstudio, replayed as tests. Written by
#
#     {command}
#
# Each test sends the recorded request through the `funcstudio` fixture (funcstudio's pytest
# plugin: the project's runtime, started once per session) and checks the status, the content
# type and the body. Edit them freely; run them with `python -m pytest`.
"""


class ExportError(ValueError):
    """The invocation cannot be replayed as recorded; the message says why."""


def pytest_module(records: Sequence[InvocationRecord], command: str) -> str:
    """The text of a test module with one test per record."""
    names: set[str] = set()
    tests = []
    imports: set[str] = set()
    for record in records:
        source, used = pytest_function(record, names)
        tests.append(source)
        imports |= used
    head = HEADER.format(command=command)
    lines = [head, "from __future__ import annotations", ""]
    if "hashlib" in imports:
        lines.insert(2, "import hashlib\n")
    helpers = sorted(imports - {"hashlib"})
    if helpers:
        lines.append(f"from studio.testing import {', '.join(helpers)}")
        lines.append("")
    return "\n".join(lines) + "\n\n" + "\n\n".join(tests)


def test_name(record: InvocationRecord, taken: set[str]) -> str:
    if record.trigger == "http" or not record.function_id:
        words = f"{record.method} {record.path}"
    else:
        words = f"{record.function_id} {record.trigger}"
    base = "test_" + (re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_") or "request")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _literal(value: object, indent: int) -> str:
    """`value` as Python source, continuation lines aligned under its first character."""
    text = pprint.pformat(value, width=max(40, 104 - indent), sort_dicts=False)
    return textwrap.indent(text, " " * indent)[indent:]


def _call(record: InvocationRecord) -> tuple[str, list[str]]:
    """The `funcstudio.invoke(...)` call and the comment lines about what it leaves out."""
    notes: list[str] = []
    args: list[str] = []
    body = record.request_body
    if record.trigger != "http" and record.kind == "scf-event" and record.function_id:
        args.append(repr(record.function_id))
        try:
            event = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise ExportError(f"the recorded event of {record.request_id} is not JSON") from None
        args.append(f"event={_literal(event, 8)}")
        return ", ".join(args), notes
    target = record.path + (f"?{record.query_string}" if record.query_string else "")
    if "%5Bredacted%5D" in record.query_string:
        notes += _comment("The store redacted secret query values: put the real ones in the target.")
    args.append(repr(target))
    args.append(f"method={record.method!r}")
    headers = []
    for name, value in record.request_headers:
        if name.lower() in NOT_REPLAYED:
            continue
        if value == REDACTED:
            notes += _comment(f"Not replayed: the {name} header (the store keeps secrets redacted); add it "
                              "if the function needs it.")
            continue
        headers.append((name, value))
    if headers:
        duplicate = len({n.lower() for n, _ in headers}) != len(headers)
        args.append(f"headers={_literal(headers if duplicate else dict(headers), 8)}")
    if record.request_body_size is not None:
        raise ExportError(f"the store kept only part of the request body of {record.request_id} "
                          f"({record.request_body_size} bytes): it cannot be replayed as sent")
    if body:
        try:
            args.append(f"body={body.decode('utf-8')!r}")
        except UnicodeDecodeError:
            raise ExportError(f"the request body of {record.request_id} is binary: export a text request, "
                              "or write the test by hand with body=b'...'") from None
    return ", ".join(args), notes


def pytest_function(record: InvocationRecord, taken: set[str] | None = None) -> tuple[str, set[str]]:
    """One test function's text, and the `studio.testing` helpers (or `hashlib`) it uses."""
    if record.status is None:
        raise ExportError(f"invocation {record.request_id} has no answer to compare with ({record.fault or 'none'})")
    name = test_name(record, taken if taken is not None else set())
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(record.started_at)) if record.started_at else "?"
    what = (f"{record.method} {record.path}" if record.trigger == "http" or record.kind != "scf-event"
            else f"{record.function_id} ({record.trigger})")
    call, notes = _call(record)
    used: set[str] = set()
    out = [f"def {name}(funcstudio):",
           f'    """{what} answered {record.status}, recorded {when} (request {record.request_id[:8]})."""']
    out += notes
    out.append(f"    response = funcstudio.invoke({call})")
    out.append(f"    assert response.status == {record.status}")
    content_type = next((v for k, v in record.response_headers if k.lower() == "content-type"), None)
    out.append(f"    assert response.content_type == {content_type!r}")
    if record.response_body_size is not None:
        raise ExportError(f"the store kept only part of the response body of {record.request_id} "
                          f"({record.response_body_size} bytes): there is nothing whole to compare with")
    body = record.response_body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    data: object = None
    is_json = False
    if text is not None and text.strip():
        try:
            data = json.loads(text)
            is_json = True
        except ValueError:
            pass
    if is_json:
        volatile = volatile_paths(data)
        if volatile:
            used.add("without")
            listed = ", ".join(f"{_path_text(path)} ({why})" for path, why in volatile)
            out += _comment(f"Left out (they change from run to run): {listed}.")
            paths = [path for path, _ in volatile]
            from studio.testing.compare import without

            expected = without(data, paths)
            out.append(f"    volatile = {_literal(paths, 15)}")
            out.append(f"    expected = {_literal(expected, 15)}")
            out.append("    assert without(response.json(), volatile) == expected")
        else:
            out.append(f"    expected = {_literal(data, 15)}")
            out.append("    assert response.json() == expected")
    elif text is not None:
        shown = masked(text)
        if shown != text:
            used.add("masked")
            out += _comment("Dates and generated ids in the text are masked (<uuid>, <date>, <datetime>).")
            out.append(f"    expected = {_literal(shown, 15)}")
            out.append("    assert masked(response.text) == expected")
        else:
            out.append(f"    expected = {_literal(text, 15)}")
            out.append("    assert response.text == expected")
    else:
        used.add("hashlib")
        out.append(f"    assert hashlib.sha256(response.content).hexdigest() == {hashlib.sha256(body).hexdigest()!r}")
    return "\n".join(out) + "\n", used


def _path_text(path: tuple) -> str:
    return "".join(f"[{step!r}]" for step in path)


def _comment(text: str) -> list[str]:
    return ["    # " + line for line in textwrap.wrap(text, 96)]

"""The CocoBase adapter: run a function file as the platform does (RUNTIME_SPEC.md §4).

Each invocation executes the file as a script with the injected globals (`json`, `datetime` = the
datetime CLASS, `timedelta`, `time`, `math`, `re`, `secrets`, `uuid`, `hashlib`, `base64`,
`string`, `collections`, `request`/`req`, `db`, `render`, `env`, `email`), then calls `main()`
(awaiting an `async def main`) or reads a module-level `result`, and answers with the envelope
`{success, result, output, error, execution_time}`.

Sandbox parity: imports outside the approved set, the blocked builtins and socket/file I/O are
allowed with a parity warning (CB-IMPORT, CB-BUILTIN, CB-SANDBOX-IO); `cocobase.strict` blocks
them as production would. Mail is never sent: it goes to the invocation's outbox.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import collections
import datetime as _datetime_module
import hashlib
import inspect
import io
import json
import math
import os
import re
import secrets
import string
import sys
import threading
import time
import types
import uuid
from urllib.parse import parse_qsl

from .cocobase_db import Database
from .cocobase_render import HTMLResponse, Renderer

APPROVED = frozenset({"json", "datetime", "time", "math", "re", "secrets", "uuid", "hashlib", "base64",
                      "string", "collections"})
BLOCKED_BUILTINS = ("open", "exec", "eval", "compile", "__import__", "globals", "vars", "input", "breakpoint")
OUTPUT_CAP_CHARS = 1 << 20
"""The envelope's `output` keeps the first MiB of printed text; the log stream has its own cap."""
_MODULE_FILE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pth", ".zip", ".egg")


def create(runtime):
    return CocoBaseAdapter(runtime)


def now_iso() -> str:
    return _datetime_module.datetime.now(_datetime_module.timezone.utc).isoformat().replace("+00:00", "Z")


class AwaitableDict(dict):
    """A plain dict result that may also be awaited (the docs `await email.send_email(...)`)."""

    def __await__(self):
        if False:  # pragma: no cover - makes this a generator
            yield
        return self


class AppUser:
    """`request.user`: attribute access plus `user["email"]`, no password."""

    def __init__(self, record: dict) -> None:
        self.id = record["id"]
        self.email = record.get("email")
        self.data = record.get("data") or {}
        self.roles = list(record.get("roles") or [])
        self.created_at = record.get("created_at")
        self.is_admin = "admin" in self.roles

    def __getitem__(self, key):
        return getattr(self, key)

    def get(self, key, default=None):
        return getattr(self, key, default)

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "data": self.data, "roles": self.roles,
                "created_at": self.created_at}

    def __repr__(self) -> str:
        return f"AppUser(id={self.id!r}, email={self.email!r})"


class Outbox:
    """Mail the function asked to send; recorded on the invocation, never sent."""

    def __init__(self) -> None:
        self.invocation = None

    def record(self, kind: str, to, subject, body=None, template_id=None, context=None, **extra) -> AwaitableDict:
        recipients = [to] if isinstance(to, str) else list(to or [])
        if not recipients or not all(isinstance(r, str) and r for r in recipients):
            raise ValueError("send_mail: `to` must be an email address or a list of them")
        if not subject:
            raise ValueError("send_mail: `subject` is required")
        message_id = str(uuid.uuid4())
        message = {"id": message_id, "kind": kind, "to": recipients, "subject": str(subject),
                   "body": body, "template_id": template_id, "context": context, "at": now_iso(),
                   "provider": "funcstudio-outbox", **extra}
        if self.invocation is not None:
            self.invocation.outbox.append(message)
        return AwaitableDict(success=True, message="Email recorded in the local outbox (funcstudio never sends mail)",
                             message_id=message_id)


class EmailService:
    """The newer `email` global; every method records to the outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def send_email(self, recipients, subject, body=None, **extra):
        return self._outbox.record("send_email", recipients, subject, body, **extra)

    def send_welcome_email(self, to_email, user_name=None, app_name=None, login_url=None, **extra):
        return self._outbox.record("welcome", to_email, f"Welcome to {app_name or 'the app'}",
                                   context={"user_name": user_name, "app_name": app_name, "login_url": login_url,
                                            **extra})

    def send_password_reset_email(self, to_email, token=None, reset_url_base=None, **extra):
        return self._outbox.record("password_reset", to_email, "Reset your password",
                                   context={"token": token, "reset_url_base": reset_url_base, **extra})


class Request:
    """`request` / `req` (RUNTIME_SPEC.md §4.3)."""

    def __init__(self, method: str, payload: dict, query: dict, headers: dict, user, project_id: str,
                 outbox: Outbox) -> None:
        self.method = method
        self._payload = payload
        self.query_params = query
        self.headers = headers
        self.user = user
        self.proj = project_id
        self.project_id = project_id
        self.timestamp = now_iso()
        self._outbox = outbox

    @property
    def payload(self) -> dict:
        return self._payload

    def get(self, key, default=None):
        """From the POST payload, else the query parameters (a GET's payload is its query)."""
        if isinstance(self._payload, dict) and key in self._payload:
            return self._payload[key]
        return self.query_params.get(key, default)

    def json(self):
        """The whole payload as sent (the docs: "entire payload as dictionary"). A JSON array stays an
        array; on GET, where the docs are silent, it is the query parameters (docs/platforms.md)."""
        return self._payload

    def send_mail(self, to, subject, body=None, template_id=None, context=None):
        return self._outbox.record("send_mail", to, subject, body, template_id, context)


class Tee(io.TextIOBase):
    """stdout during a function run: the envelope's `output` and the live log stream at once."""

    def __init__(self, buffer: io.StringIO, target) -> None:
        super().__init__()
        self._buffer = buffer
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        if self._buffer.tell() < OUTPUT_CAP_CHARS:
            self._buffer.write(text[: OUTPUT_CAP_CHARS - self._buffer.tell()])
            if self._buffer.tell() >= OUTPUT_CAP_CHARS:
                self._buffer.write("\n[funcstudio] output truncated\n")
        return self._target.write(text)

    def flush(self) -> None:
        self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()


class CocoBaseAdapter:
    kind = "cocobase"
    framework = None

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        extra = runtime.extra
        self.inner_routes: list[dict] = []
        self.strict = bool(extra.get("cocobase.strict", False))
        self.tuple_mode = str(extra.get("cocobase.tuple_mode") or "envelope")
        self.error_status = int(extra.get("cocobase.error_status") or 500)
        self.project_id = str(extra.get("cocobase.project_id") or "local-project")
        self.static_base_url = f"https://storage/projects/{self.project_id}/static"
        data_dir = os.path.join(runtime.project_root, ".funcstudio")
        os.makedirs(data_dir, exist_ok=True)
        self.db = Database(os.path.join(data_dir, "cocobase.db"), self.project_id)
        self.renderer = Renderer(self.project_id, self.static_base_url,
                                 [os.path.join(runtime.code_root, "__templates__"),
                                  os.path.join(runtime.project_root, "__templates__")])
        self.outbox = Outbox()
        self.email = EmailService(self.outbox)
        self.env = types.SimpleNamespace(project_id=self.project_id, runtime="python3.10",
                                         static_base_url=self.static_base_url)
        self.invocation = None
        self._user_code = threading.local()
        sys.addaudithook(self._audit)

    # -- sandbox parity ---------------------------------------------------------------------

    def _in_user_code(self) -> bool:
        return getattr(self._user_code, "active", False) and self.invocation is not None

    def _audit(self, event: str, args) -> None:
        if event not in ("open", "socket.connect") or not self._in_user_code():
            return
        if event == "open":
            path = args[0] if args else None
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if not isinstance(path, str) or path.endswith(_MODULE_FILE_SUFFIXES) or "/__pycache__/" in path \
                    or "/__templates__/" in path:
                return  # imports and render_template read files on the function's behalf
            what = f"open({path!r})"
        else:
            what = f"a socket connection to {args[1]!r}" if len(args) > 1 else "a socket connection"
        self.invocation.warn("CB-SANDBOX-IO", f"The function made {what}; the CocoBase sandbox has no network "
                             "or file-system access.", "Use db for storage; the platform offers no outbound I/O.")
        if self.strict:
            raise PermissionError(f"{what} is not allowed in the CocoBase sandbox (cocobase.strict)")

    def _builtins(self) -> dict:
        namespace = dict(vars(builtins))
        real_import = builtins.__import__

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            top = name.split(".")[0]
            if level == 0 and top not in APPROVED:
                self.invocation.warn("CB-IMPORT", f"`import {top}` is outside CocoBase's approved imports; "
                                     "production raises ImportError.",
                                     "Use only " + ", ".join(sorted(APPROVED)) + " (they are pre-injected).")
                if self.strict:
                    raise ImportError(f"Import of '{top}' is not allowed")
            return real_import(name, globals, locals, fromlist, level)

        def flagged(name, target):
            def call(*args, **kwargs):
                self.invocation.warn("CB-BUILTIN", f"`{name}()` is not among the CocoBase sandbox's builtins.",
                                     f"Avoid {name}(); production lacks it.")
                return target(*args, **kwargs)

            call.__name__ = name
            return call

        for name in BLOCKED_BUILTINS:
            if name == "__import__":
                continue
            if self.strict:
                namespace.pop(name, None)
            elif name in namespace:
                namespace[name] = flagged(name, namespace[name])
        namespace["__import__"] = guarded_import
        return namespace

    # -- request ----------------------------------------------------------------------------

    def _request(self, request: dict, body: bytes) -> Request:
        method = str(request.get("method") or "GET").upper()
        headers = {}
        for name, value in request.get("headers") or ():
            headers[str(name).lower()] = str(value)
        query = dict(parse_qsl(request.get("query_string") or "", keep_blank_values=True))
        payload: object = {}
        if body:
            try:
                payload = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                payload = {}
        route_path = (request.get("route") or {}).get("path") or ""
        if "/func/" in route_path and isinstance(payload, dict) and isinstance(payload.get("payload"), dict):
            payload = payload["payload"]  # the SDK posts {"payload": {...}}
        user = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip():
            record = self.db.user_by_token(auth[7:].strip())
            user = AppUser(record) if record else None
        return Request(method, payload if method == "POST" else dict(query), query, headers, user,
                       self.project_id, self.outbox)

    def _globals(self, req: Request) -> dict:
        return {
            "__name__": "cloud_function",  # not "__main__": a guarded main() call must not run twice
            "__file__": self.runtime.entry_path,
            "__builtins__": self._builtins(),
            "json": json, "datetime": _datetime_module.datetime, "timedelta": _datetime_module.timedelta,
            "time": time, "math": math, "re": re, "secrets": secrets, "uuid": uuid, "hashlib": hashlib,
            "base64": base64, "string": string, "collections": collections,
            "request": req, "req": req, "db": self.db, "render": self.renderer, "env": self.env,
            "email": self.email,
        }

    # -- one invocation ---------------------------------------------------------------------

    def invoke(self, invocation, request: dict, body: bytes):
        self.invocation = invocation
        self.outbox.invocation = invocation
        started = time.perf_counter()
        output = io.StringIO()
        original = sys.stdout
        sys.stdout = Tee(output, original)
        self._user_code.active = True
        try:
            value, error = self._run(invocation, request, body)
        finally:
            self._user_code.active = False
            sys.stdout = original
            self.invocation = None
            self.outbox.invocation = None
        elapsed = round(time.perf_counter() - started, 4)
        return self._respond(invocation, value, error, output.getvalue(), elapsed)

    def _source(self) -> str:
        """The file's text: the bytes the supervisor read (worker/pinned_source.py), else the disk's."""
        if self.runtime.entry_source is not None:
            return io.TextIOWrapper(io.BytesIO(self.runtime.entry_source), encoding="utf-8").read()
        with open(self.runtime.entry_path, encoding="utf-8") as handle:
            return handle.read()

    def _run(self, invocation, request: dict, body: bytes):
        try:
            source = self._source()
        except OSError as exc:
            invocation.set_error(exc)
            return None, exc
        try:
            req = self._request(request, body)
            code = compile(source, self.runtime.entry_path, "exec", dont_inherit=True)
            namespace = self._globals(req)
            exec(code, namespace)  # noqa: S102 - running the user's function file is the point
            main = namespace.get("main")
            if callable(main):
                value = main()
                if inspect.isawaitable(value):
                    value = asyncio.run(_await(value))
            elif "result" in namespace:
                value = namespace["result"]
            else:
                raise NameError("the function defines neither main() nor a module-level `result`")
            return value, None
        except Exception as exc:  # noqa: BLE001 - the platform answers every error with its envelope
            invocation.set_error(exc)
            self._explain(invocation, exc, source)
            return None, exc

    def _explain(self, invocation, exc: BaseException, source: str) -> None:
        if isinstance(exc, AttributeError) and re.search(r"\bdatetime\.(datetime|date)\b", source):
            invocation.warn("CB-DATETIME-CLASS", "`datetime` is the datetime CLASS in CocoBase, so "
                            "`datetime.datetime` / `datetime.date.today()` fail as they do in production.",
                            "Write datetime.now(), datetime.utcnow() or datetime.now().date().")
        if isinstance(exc, SyntaxError) and "'await' outside" in str(exc):
            invocation.warn("CB-AWAIT", "`await` inside a plain `def main()` is a SyntaxError.",
                            "Write `async def main():`.")

    def _respond(self, invocation, value, error, output: str, elapsed: float):
        if error is not None:
            invocation.warn("CB-ERROR-STATUS", f"Uncaught error answered with HTTP {self.error_status}; the "
                            "platform's status for this case is unconfirmed.",
                            "Catch errors and return (body, status) to choose the status yourself.")
            message = str(error) or type(error).__name__
            return self._envelope(False, None, output, message, elapsed, self.error_status)
        status = 200
        if isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[1], int):
            invocation.warn("CB-TUPLE", f"Tuple return sent with status {value[1]} "
                            f"({'inside the envelope' if self.tuple_mode == 'envelope' else 'as a raw body'}); "
                            "the platform's exact body here is unconfirmed.",
                            "Set cocobase.tuple_mode to match what production sends.")
            extra_headers = _header_pairs(value[2]) if len(value) == 3 else []
            value, status = value[0], value[1]
            if self.tuple_mode == "raw" and not isinstance(value, HTMLResponse):
                invocation.set_return(_jsonable(value))
                return status, [("Content-Type", "application/json"), *extra_headers], _dumps(value)
            if not isinstance(value, HTMLResponse):
                invocation.set_return(_jsonable(value))
                code, headers, body = self._envelope(True, value, output, None, elapsed, status)
                return code, [*headers, *extra_headers], body
        if isinstance(value, HTMLResponse):
            invocation.set_return({"html": value.body[:2000], "status_code": value.status_code})
            code = value.status_code if status == 200 else status
            return code, [("Content-Type", "text/html; charset=utf-8")], value.body.encode("utf-8")
        invocation.set_return(_jsonable(value))
        return self._envelope(True, value, output, None, elapsed, status)

    def _envelope(self, success: bool, result, output: str, error, elapsed: float, status: int):
        payload = {"success": success, "result": result, "output": output, "error": error,
                   "execution_time": elapsed}
        return status, [("Content-Type", "application/json")], _dumps(payload)

    def close(self) -> None:
        self.db.close()


async def _await(value):
    return await value


def _default(value):
    if isinstance(value, (_datetime_module.datetime, _datetime_module.date, _datetime_module.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, AppUser):
        return value.to_dict()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _header_pairs(headers) -> list[tuple[str, str]]:
    """The third item of `return body, status, headers` (a dict or pairs); bad shapes are ignored."""
    items = headers.items() if isinstance(headers, dict) else headers if isinstance(headers, (list, tuple)) else ()
    pairs = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
    return pairs


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_default).encode("utf-8")


def _jsonable(value):
    return json.loads(_dumps(value))

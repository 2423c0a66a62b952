"""The Tencent SCF adapter: `main_handler(event, context)` as the Python runtime calls it.

RUNTIME_SPEC.md §3: the handler string `<file>.<function>` relative to the code root (which is
`sys.path[0]` and the cwd, as `/var/user` is), `event`/`context` dicts, the built-in environment
variables, JSON-encoded returns, the 430/437/406/407 bodies, the API Gateway event and its
integration-response rules, and the START/END/Report platform log lines.

The handler module is imported inside the first invocation (after its START line), so cold-start
output falls inside the first invocation's block as the console shows it. Standard library only.
"""

from __future__ import annotations

import base64
import decimal
import errno
import json
import math
import os
import sys
import sysconfig
import tempfile
import time
import traceback
import uuid
from urllib.parse import parse_qsl

from . import capture, pinned_source
from .httpreq import TrackedHeaders

SYNC_EVENT_LIMIT = 6 * 1024 * 1024
ASYNC_EVENT_LIMIT = 128 * 1024
RESPONSE_LIMIT = 6 * 1024 * 1024
ASYNC_TRIGGERS = ("async", "timer", "cos", "cmq")
USER_ROOT = "/var/user"
PLATFORM_STDLIB = "/var/lang/python3/lib/python3.10"
WRITABLE_PREFIXES = ("/tmp/", "/dev/", "/proc/self/")
BAD_INTEGRATION = {"errno": 403, "error": "Invalid scf response format. please check your scf response format."}

BUILTIN_ENV = {
    "TENCENTCLOUD_TZ": "UTC",
    "TENCENTCLOUD_RUNENV": "SCF",
    "USER_CODE_ROOT": "/var/user/",
    "PWD": "/var/user",
    "HOME": "/home/qcloud",
    "_SCF_SERVER_PORT": "28902",
    "PYTHONDONTWRITEBYTECODE": "x",
    "PYTHONPATH": "/var/user:/opt",
    "LD_LIBRARY_PATH": "/var/runtime/java8:/var/user:/opt",
    "USER": "qcloud",
    "LOGNAME": "qcloud",
    "LANG": "en_US.UTF8",
    "LC_ALL": "en_US.UTF8",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "_": "/var/lang/python3/bin/python3",
}


class ScfHeaders(TrackedHeaders):
    warning_id = "SCF-HEADER-CASE"


class HandlerNotFound(Exception):
    """The entry file or the function named by the handler string does not exist (437)."""


def create(runtime):
    return ScfAdapter(runtime)


def error_body(status: int, message: str, request_id: str, **extra) -> dict:
    body = {"errorCode": -1, "errorMessage": message, "requestId": request_id}
    body.update(extra)
    body["statusCode"] = status
    return body


class ScfAdapter:
    kind = "scf-event"
    framework = None

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.config = runtime.config
        extra = runtime.extra
        self.inner_routes: list[dict] = []
        self.handler = str(self.config.get("handler") or extra.get("scf.handler") or "index.main_handler")
        self.name = str(extra.get("scf.name") or self.config.get("function_id") or "function")
        self.namespace = str(extra.get("scf.namespace") or "default")
        self.runtime_name = str(extra.get("scf.runtime") or "Python3.10")
        self.region = str(extra.get("scf.region") or "ap-guangzhou")
        self.appid = str(extra.get("scf.appid") or "1250000000")
        self.uin = str(extra.get("scf.uin") or "100000000001")
        self.header_case = str(extra.get("scf.header_case") or "lower")
        self.timeout_s = float(extra.get("scf.timeout_s") or self.config.get("timeout_s") or 3)
        self.memory_mb = int(self.config.get("memory_mb") or extra.get("scf.memory_mb") or 128)
        self.apigw = [t for t in (extra.get("scf.apigw") or ()) if isinstance(t, dict)]
        self.user_env = {str(k): str(v) for k, v in (self.config.get("env") or {}).items()}
        self.function = None
        self.active = False
        sys.dont_write_bytecode = True  # PYTHONDONTWRITEBYTECODE=x in production
        # resolved now: gettempdir() probes by writing files, which must not happen inside the hook
        self.temp_dir = tempfile.gettempdir().rstrip("/") + "/"
        self._set_environment()
        sys.addaudithook(self._readonly_fs)

    def _readonly_fs(self, event: str, args) -> None:
        """Only /tmp is writable in production (SCF-READONLY-FS): other writes fail with EROFS."""
        if event != "open" or not self.active:
            return
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if not writing or not isinstance(path, (str, bytes)):
            return
        full = os.path.abspath(os.fsdecode(path))
        in_code = full.startswith(self.runtime.project_root.rstrip("/") + "/")  # /var/user is read-only
        if not in_code and (full.startswith(WRITABLE_PREFIXES) or full.startswith(self.temp_dir)):
            return
        self.active = False  # the warning itself must not re-enter this hook
        try:
            from . import serve

            invocation = serve.current()
            if invocation is not None:
                invocation.warn("SCF-READONLY-FS", f"Writing {full} failed: only /tmp is writable in SCF.",
                                "Write scratch files under /tmp (tempfile.gettempdir()).")
        finally:
            self.active = True
        raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))

    # -- process set-up ---------------------------------------------------------------------

    def _set_environment(self) -> None:
        env = dict(BUILTIN_ENV)
        env.update({
            "SCF_RUNTIME": self.runtime_name,
            "SCF_FUNCTIONNAME": self.name,
            "SCF_FUNCTIONVERSION": "$LATEST",
            "SCF_NAMESPACE": self.namespace,
            "TENCENTCLOUD_REGION": self.region,
            "TENCENTCLOUD_APPID": self.appid,
            "TENCENTCLOUD_UIN": self.uin,
        })
        for key in ("secret_id", "secret_key", "session_token"):
            value = self.runtime.extra.get(f"scf.{key}")
            if value:
                env["TENCENTCLOUD_" + key.replace("_", "").upper()] = str(value)
        os.environ.update(env)
        os.environ.update(self.user_env)  # the function's own variables win over nothing built in
        if "TZ" not in self.user_env:
            os.environ["TZ"] = "UTC"
        if hasattr(time, "tzset"):
            time.tzset()

    def _load(self) -> None:
        """Import `<file>.<function>`; HandlerNotFound when either part is missing."""
        module_name, _, func_name = self.handler.rpartition(".")
        if not module_name or not func_name:
            raise HandlerNotFound(f"handler {self.handler!r} is not of the form file.function")
        path = os.path.join(self.runtime.code_root, *module_name.split(".")) + ".py"
        if not os.path.isfile(path):
            raise HandlerNotFound(f"entry file {module_name.replace('.', '/')}.py not found in the code root")
        if self.runtime.entry_source is not None:
            pinned_source.install_finder(module_name, self.runtime.entry_path, self.runtime.entry_source)
        __import__(module_name)  # the builtin: no importlib frames in the user's stack trace
        module = sys.modules[module_name]
        function = getattr(module, func_name, None)
        if not callable(function):
            raise HandlerNotFound(f"function {func_name!r} not found in {module_name.replace('.', '/')}.py")
        self.function = function

    # -- one invocation ---------------------------------------------------------------------

    def invoke(self, invocation, request: dict, body: bytes):
        request_id = invocation.request_id or str(uuid.uuid4())
        started = time.perf_counter()
        invocation.platform_log(f"START RequestId: {request_id}")
        invocation.platform_log(f"Event RequestId: {request_id}")
        self.active = True
        try:
            return self._invoke(invocation, request, body, request_id)
        except SystemExit as exc:
            # The failure goes into the function's log before END, where the platform prints it.
            invocation.platform_log(f"User process exit when running (SystemExit: {exc.code})", "ERROR")
            raise
        finally:  # also on SystemExit: END and Report are printed whatever happened (§7 #9)
            self.active = False
            self._end(invocation, request_id, started)

    def _end(self, invocation, request_id: str, started: float) -> None:
        capture.flush_streams()
        duration = (time.perf_counter() - started) * 1000.0
        peak_kb = capture.peak_rss_kb() or 0
        invocation.platform_log(f"END RequestId: {request_id}")
        invocation.platform_log(
            f"Report RequestId: {request_id} Duration:{int(math.ceil(duration))}ms "
            f"Memory:{self.memory_mb}MB "
            f"MaxMemoryUsed:{peak_kb / 1024.0:.4f}MB"
        )

    def _invoke(self, invocation, request: dict, body: bytes, request_id: str):
        http = request.get("type") != "event"
        trigger = str(request.get("trigger") or ("apigw" if http else "invoke"))
        apigw = None
        if http:
            apigw = self._apigw_trigger(request)
            event = self.apigw_event(invocation, request, body, request_id, apigw)
        else:
            event = request.get("event")
            limit = ASYNC_EVENT_LIMIT if trigger in ASYNC_TRIGGERS else SYNC_EVENT_LIMIT
            size = len(json.dumps(event, ensure_ascii=False).encode("utf-8"))
            if size > limit:
                invocation.warn("SCF-EVENT-SIZE", f"The event is {size} bytes; the platform accepts at most {limit} "
                                "bytes for this invocation type and answers 406.",
                                "Pass large payloads through COS and send only a reference.")
                return self._error(invocation, 406, "RequestTooLarge", request_id, None)
        if trigger == "timer":
            os.environ["TRIGGER_SRC"] = "timer"
        else:
            os.environ.pop("TRIGGER_SRC", None)

        if self.function is None:
            try:
                self._load()
            except HandlerNotFound as exc:
                invocation.set_error(exc)
                return self._error(invocation, 437, f"HandlerNotFound: {exc}", request_id, apigw)
            except Exception as exc:  # noqa: BLE001 - an import failure is the user's 430
                invocation.set_error(exc)
                return self._error(invocation, 430, "user code exception caught", request_id, apigw,
                                   stackTrace=self.stack_trace(exc))
        context = self.context(request_id)
        try:
            value = self.function(event, context)
        except Exception as exc:  # noqa: BLE001 - the platform catches everything but exits
            invocation.set_error(exc)
            return self._error(invocation, 430, "user code exception caught", request_id, apigw,
                               stackTrace=self.stack_trace(exc))
        if isinstance(value, decimal.Decimal):
            value = str(value)
        invocation.set_return(value)
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            invocation.set_error(exc)
            invocation.warn("SCF-NOT-JSON", f"The return value ({type(value).__name__}) is not JSON-serialisable; "
                            "the platform reports a 430 TypeError.",
                            "Return dicts, lists, strings and numbers only (convert datetimes, sets, bytes).")
            return self._error(invocation, 430, "user code exception caught", request_id, apigw,
                               stackTrace="".join(traceback.format_exception_only(type(exc), exc)).rstrip())
        if len(text.encode("utf-8")) > RESPONSE_LIMIT:
            invocation.warn("SCF-RESPONSE-SIZE", "The return value exceeds 6 MB; the platform answers 407.",
                            "Return less data, or store it in COS and return a link.")
            return self._error(invocation, 407, "The size of response exceeds the upper limit (6MB)", request_id, apigw)
        if trigger in ASYNC_TRIGGERS:
            # An async caller never receives the value; the platform records it in the log (SCF-doc Python).
            invocation.platform_log(f"Return value RequestId: {request_id} {text}")
        if apigw is not None and apigw.get("integrated_response", True):
            return self.integration_response(invocation, value)
        return 200, [("Content-Type", "application/json")], text.encode("utf-8")

    def _error(self, invocation, status: int, message: str, request_id: str, apigw, **extra):
        # Production logs the failure with the invocation, before END (the console shows the stack).
        trace = extra.get("stackTrace")
        invocation.platform_log(f"{message}\n{trace}" if trace else message, "ERROR")
        payload = json.dumps(error_body(status, message, request_id, **extra), ensure_ascii=False).encode("utf-8")
        # Behind API Gateway the client gets HTTP 200 with the error object (RUNTIME_SPEC.md §7 #12).
        http_status = 200 if apigw is not None else status
        return http_status, [("Content-Type", "application/json")], payload

    def stack_trace(self, exc: BaseException) -> str:
        """The platform's trace: user frames only, code-root paths shown under /var/user."""
        text = capture.traceback_text(exc).rstrip("\n")
        root = self.runtime.code_root.rstrip("/")
        text = text.replace(root + "/", USER_ROOT + "/")
        stdlib = sysconfig.get_paths().get("stdlib", "").rstrip("/")
        return text.replace(stdlib + "/", PLATFORM_STDLIB + "/") if stdlib else text

    def context(self, request_id: str) -> dict:
        visible = {"SCF_NAMESPACE": self.namespace, **self.user_env}
        if "TZ" in os.environ and "TZ" in self.user_env:
            visible["TZ"] = os.environ["TZ"]
        return {
            "memory_limit_in_mb": self.memory_mb,
            "time_limit_in_ms": int(round(self.timeout_s * 1000)),
            "request_id": request_id,
            "environment": json.dumps(visible, ensure_ascii=False, separators=(",", ":")),
            "environ": ";".join(f"{k}={v}" for k, v in visible.items()),
            "function_version": "$LATEST",
            "function_name": self.name,
            "namespace": self.namespace,
            "tencentcloud_region": self.region,
            "tencentcloud_appid": self.appid,
            "tencentcloud_uin": self.uin,
        }

    # -- API Gateway ------------------------------------------------------------------------

    def _apigw_trigger(self, request: dict) -> dict:
        template = (request.get("route") or {}).get("path")
        for trigger in self.apigw:
            if trigger.get("path") == template:
                return trigger
        return {"path": template or request.get("path") or "/", "integrated_response": True, "stage": "release"}

    def apigw_event(self, invocation, request: dict, body: bytes, request_id: str, trigger: dict) -> dict:
        method = str(request.get("method") or "GET").upper()
        headers = ScfHeaders()
        for name, value in request.get("headers") or ():
            key = str(name).lower() if self.header_case == "lower" else str(name)
            headers[key] = f"{headers[key]},{value}" if dict.__contains__(headers, key) else str(value)
        headers["x-scf-request-id" if self.header_case == "lower" else "X-Scf-Request-Id"] = request_id
        query: dict[str, str] = {}
        repeated = []
        for key, value in parse_qsl(request.get("query_string") or "", keep_blank_values=True):
            if key in query and key not in repeated:
                repeated.append(key)
            query[key] = value
        if repeated:
            invocation.warn("SCF-QUERY-REPEAT", f"Query key(s) {', '.join(repeated)} repeated: the event's queryString "
                            "keeps only the last value.", "Send one value per key, or a comma-separated list.")
        try:
            text, is_b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode("ascii"), True
        stage = str(trigger.get("stage") or "release")
        params = {str(k): str(v) for k, v in ((request.get("route") or {}).get("params") or {}).items()
                  if v is not None}
        return {
            "requestContext": {
                "serviceId": "service-funcstudio",
                "path": trigger.get("path") or request.get("path") or "/",
                "httpMethod": method,
                "requestId": request_id,
                "identity": {},
                "sourceIp": str(request.get("remote_addr") or "127.0.0.1"),
                "stage": stage,
            },
            "headers": headers,
            "body": text,
            "pathParameters": params,
            "queryStringParameters": {},
            "headerParameters": {},
            "stageVariables": {"stage": stage},
            "path": request.get("path") or "/",
            "queryString": query,
            "httpMethod": method,
            "isBase64Encoded": is_b64,
        }

    def integration_response(self, invocation, value):
        problem = _integration_problem(value)
        if problem:
            invocation.warn("SCF-BAD-INTEGRATION", f"Integration response rejected: {problem}. API Gateway answers "
                            "403 with an errno body.",
                            'Return {"isBase64Encoded": false, "statusCode": 200, "headers": {...}, "body": "..."}, '
                            "or turn the trigger's integration response off.")
            return 403, [("Content-Type", "application/json")], json.dumps(BAD_INTEGRATION).encode("utf-8")
        out_headers: list[tuple[str, str]] = []
        for name, raw in value["headers"].items():
            if str(name).lower() == "location":
                invocation.warn("SCF-LOCATION-HEADER", "API Gateway integration responses do not support the "
                                "Location header; it was dropped.",
                                "Redirect with a page or script body, or use the API Gateway redirect feature.")
                continue
            for item in raw if isinstance(raw, list) else [raw]:
                out_headers.append((str(name), item if isinstance(item, str) else json.dumps(item)))
        body = value.get("body", "")
        if body is None:
            body = ""
        if not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False)
        if value.get("isBase64Encoded"):
            try:
                data = base64.b64decode(body, validate=True)
            except ValueError:
                invocation.warn("SCF-BAD-INTEGRATION", "isBase64Encoded is true but body is not valid base64.",
                                "Encode the body with base64.b64encode(...).decode().")
                return 403, [("Content-Type", "application/json")], json.dumps(BAD_INTEGRATION).encode("utf-8")
        else:
            data = body.encode("utf-8")
        if not any(k.lower() == "content-type" for k, _ in out_headers):
            out_headers.append(("Content-Type", "application/json"))
        return value["statusCode"], out_headers, data


def _integration_problem(value) -> str | None:
    if not isinstance(value, dict):
        return f"the function returned a {type(value).__name__}, not an object"
    status = value.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return f"statusCode must be an HTTP status integer, got {status!r}"
    if not isinstance(value.get("headers"), dict):
        return f"headers must be an object, got {type(value.get('headers')).__name__}"
    for name, raw in value["headers"].items():
        if isinstance(raw, list):
            if not all(isinstance(item, (str, int, float)) for item in raw):
                return f"header {name!r} has a non-string value in its list"
        elif not isinstance(raw, (str, int, float)):
            return f"header {name!r} must be a string or a list of strings"
    return None


"""Cocopot 0.2 under modern Python (RUNTIME_SPEC.md §5): the shim, and its five bugs.

The shim (ABC aliases in `collections`, `cgi` on 3.13+, a `json.loads` that accepts `encoding`)
is applied when `cocopot` is imported, in both quirk modes, and flagged CP-SHIM. The bugs are
reproduced with `quirks = "platform"` and patched with `"fixed"`; each is flagged when it shapes
a response. Patches live in this process only: site-packages are never edited.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib.abc
import json
import os
import sys
import types

SHIM_WARNING = (
    "CP-SHIM",
    "Cocopot 0.2 does not import on Python 3.10+ (collections.MutableMapping, json.loads(encoding=)); "
    "funcstudio loaded it through a compatibility shim. Production needs the same shim.",
    "Vendor the shim (alias the collections ABCs, patch cocopot.request's json) and import it before "
    "cocopot; list cocopot in requirements.txt.",
)
_ABC_NAMES = ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet",
              "Iterable", "Iterator", "Callable", "Hashable", "Sized", "Container", "Generator",
              "KeysView", "ItemsView", "ValuesView", "MappingView")

_runtime = None
_shimmed = False


def install(runtime=None) -> None:
    """Arm the import hook (or patch at once when cocopot is already imported, e.g. by the zygote)."""
    global _runtime
    if runtime is not None:
        _runtime = runtime
    if "cocopot" in sys.modules:
        _after_import()
        return
    if not any(isinstance(f, _CocopotFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _CocopotFinder())


def loaded() -> bool:
    return _shimmed and "cocopot" in sys.modules


def used_by(module_files) -> bool:
    """Whether one of these project files (abs paths) imported cocopot or something from it.

    The zygote may have imported cocopot for every instance; only functions that use it are flagged.
    """
    if not loaded():
        return False
    files = set(module_files)
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or os.path.realpath(path) not in files:
            continue
        for value in list(vars(module).values()):
            name = getattr(value, "__name__", "") if isinstance(value, types.ModuleType) else \
                getattr(value, "__module__", "") or getattr(type(value), "__module__", "")
            if isinstance(name, str) and (name == "cocopot" or name.startswith("cocopot.")):
                return True
    return False


class _CocopotFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "cocopot":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        _before_import()
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            _after_import()

        loader.exec_module = exec_module
        return spec


def _before_import() -> None:
    for name in _ABC_NAMES:
        if not hasattr(collections, name) and hasattr(collections.abc, name):
            setattr(collections, name, getattr(collections.abc, name))
    if sys.version_info >= (3, 13) and "cgi" not in sys.modules:
        try:
            import cgi  # noqa: F401 - legacy-cgi, when installed
        except ImportError:
            pass


def _after_import() -> None:
    global _shimmed
    if _shimmed:
        return
    request_module = sys.modules.get("cocopot.request")
    if request_module is None:
        return
    _shimmed = True
    compat_json = types.ModuleType("json")
    compat_json.__dict__.update(json.__dict__)
    compat_json.loads = lambda s, encoding=None, **kw: json.loads(s, **kw)
    request_module.json = compat_json
    _patch_bugs()


# -- the five bugs ------------------------------------------------------------------------------


def _invocation():
    return _runtime.current() if _runtime is not None else None


def _fixed() -> bool:
    return _runtime is not None and _runtime.fixed


def _warn(id: str, message: str, fix: str = "") -> None:
    invocation = _invocation()
    if invocation is not None:
        invocation.warn(id, message, fix)


def before_request(app, invocation, req) -> None:
    """Called by the WSGI adapter before a Cocopot app runs (bug 1 is visible from the request)."""
    if type(app).__name__ != "Cocopot" or req.method == "GET":
        return
    invocation.cocopot_handled = None
    invocation.warn(
        "CP-METHOD-IGNORED",
        f"Cocopot 0.2 never passes the method to its router: this {req.method} was matched as GET, so a "
        "GET route accepts it and a route without GET always answers 405.",
        "Check request.method inside the view, or patch Cocopot.full_dispatch_request.",
    )


def _patch_bugs() -> None:
    app_module = sys.modules["cocopot.app"]
    routing = sys.modules["cocopot.routing"]
    exceptions = sys.modules["cocopot.exceptions"]
    response_module = sys.modules["cocopot.response"]
    Cocopot = app_module.Cocopot
    MethodNotAllowed = exceptions.MethodNotAllowed
    HTTPException = exceptions.HTTPException
    original_make_response = app_module.make_response
    original_match = routing.Router.match

    def full_dispatch_request(self):
        if not _fixed():
            return original_full_dispatch(self)
        try:
            req = app_module._request_ctx_stack.top.request
            path = app_module.to_unicode(req.environ["PATH_INFO"])
            try:
                endpoint, view_args = self.router.match(path, req.method)
            except MethodNotAllowed:
                if req.method != "HEAD":
                    raise
                endpoint, view_args = self.router.match(path, "GET")
            req.endpoint, req.view_args = endpoint, view_args
            rv = self.preprocess_request()
            if rv is None:
                rv = self.view_functions[req.endpoint](**req.view_args)
        except Exception as e:
            self.logger.info(app_module.traceback.format_exc())
            rv = self.handle_user_exception(e)
        response = app_module.make_response(rv)
        return self.process_response(response)

    original_full_dispatch = Cocopot.full_dispatch_request
    Cocopot.full_dispatch_request = full_dispatch_request

    def match(self, path, method="GET"):
        try:
            return original_match(self, path, method)
        except MethodNotAllowed as exc:
            allowed = str(exc.valid_methods or "").rpartition(": ")[2]
            methods = [m for m in allowed.split(",") if m]
            _warn("CP-ALLOW-HEADER",
                  "Cocopot 0.2 builds the 405 Allow header from the characters of a message "
                  f"(`Allow: M, e, t, h, o, d, ...`); the route allows {', '.join(methods) or 'nothing'}.",
                  "Clients must not rely on Allow from a Cocopot app.")
            if _fixed():
                raise MethodNotAllowed(valid_methods=methods) from None
            raise

    routing.Router.match = match

    def make_response(*args):
        if len(args) == 1 and isinstance(args[0], (tuple, dict)):
            kind = "a tuple" if isinstance(args[0], tuple) else "a dict"
            _warn("CP-TUPLE-RETURN",
                  f"The view returned {kind}. Cocopot 0.2 accepts only text or a Response, and formatting "
                  "its own error message raises TypeError, so production answers 500.",
                  "Return make_response(body, status, headers) or jsonify(...).")
            if _fixed():
                value = args[0]
                if isinstance(value, dict):
                    return response_module.Response(json.dumps(value), content_type="application/json")
                return original_make_response(*value)
        return original_make_response(*args)

    app_module.make_response = make_response

    original_http_exception = Cocopot.handle_http_exception

    def handle_http_exception(self, e):
        rv = original_http_exception(self, e)
        if isinstance(rv, (str, bytes)) and getattr(e, "code", None):
            _warn("CP-ERRHANDLER-STATUS",
                  f"The error handler for {e.code} returned a bare string; Cocopot 0.2 then answers "
                  "HTTP 200, not the error's status.",
                  f"Return make_response(text, {e.code}).")
            if _fixed():
                return original_make_response(rv, e.code)
        return rv

    Cocopot.handle_http_exception = handle_http_exception

    original_user_exception = Cocopot.handle_user_exception

    def handle_user_exception(self, e):
        invocation = _invocation()
        if invocation is not None and not isinstance(e, HTTPException):
            invocation.cocopot_handled = e
        return original_user_exception(self, e)

    Cocopot.handle_user_exception = handle_user_exception

    original_exception = Cocopot.handle_exception

    def handle_exception(self, e):
        invocation = _invocation()
        if invocation is not None:
            invocation.set_error(e)
        return original_exception(self, e)

    Cocopot.handle_exception = handle_exception

    original_teardown = Cocopot.do_teardown_request

    def do_teardown_request(self, exc=None):
        invocation = _invocation()
        handled = getattr(invocation, "cocopot_handled", None)
        if exc is None and handled is not None and self.teardown_request_funcs.get(None):
            _warn("CP-TEARDOWN-NONE",
                  f"The view raised {type(handled).__name__}, which an error handler answered; Cocopot 0.2 "
                  "still passes None to teardown_request (the docs promise the exception).",
                  "Record the error in the error handler (e.g. on `g`) instead of relying on teardown.")
            if _fixed():
                exc = handled
        return original_teardown(self, exc)

    Cocopot.do_teardown_request = do_teardown_request

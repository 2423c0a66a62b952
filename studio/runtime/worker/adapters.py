"""Which module adapts which platform: one registry line per platform.

An adapter module defines `create(runtime) -> Adapter`, where the adapter has

    kind: str                    the detected kind (RUNTIME_SPEC.md §1)
    framework: str | None        flask | django | fastapi | starlette | sanic | quart | bottle | cocopot
    inner_routes: list[dict]     the framework's own routes: [{methods, path, name}]
    invoke(invocation, request, body) -> (status, [(name, value)], body bytes)
    close() -> None              on shutdown (ASGI lifespan shutdown, ...)

`create` loads the entry (raising on a load error, which becomes a `load_error` frame). `invoke`
answers everything the platform answers itself (its 404/405/500 bodies included); it records the
return value, error and parity warnings on the invocation (serve.Invocation).
"""

from __future__ import annotations

import importlib

ADAPTERS = {
    "edgeone": "edgeone",
    "scf": "scf",
    "cocobase": "cocobase",
}


def create(runtime):
    platform = runtime.config.get("platform") or "edgeone"
    name = ADAPTERS.get(platform)
    if name is None:
        raise LookupError(f"no worker adapter for platform {platform!r}")
    module = importlib.import_module(f"{__package__}.{name}")
    return module.create(runtime)

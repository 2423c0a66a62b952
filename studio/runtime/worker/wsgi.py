"""Calling a WSGI application once, buffering its response."""

from __future__ import annotations


def call(app, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    state: dict = {}
    chunks: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info and state.get("sent"):
            raise exc_info[1].with_traceback(exc_info[2])
        state["status"] = status
        state["headers"] = list(headers)
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                state["sent"] = True
                chunks.append(bytes(chunk))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if "status" not in state:
        raise RuntimeError("the WSGI application did not call start_response")
    status = int(str(state["status"]).split(" ", 1)[0])
    return status, [(str(k), str(v)) for k, v in state["headers"]], b"".join(chunks)

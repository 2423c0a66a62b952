"""The studio's shell on the real sample projects: first frame, header, route tree, filter, reload."""

from __future__ import annotations

import os

from studio_helpers import RUN, make_app, select_function, started, wait_until

from studio.tui.messages import ProjectLoaded, RuntimeReady, StoreReady
from studio.tui.widgets.editor import CodeEditor
from studio.tui.widgets.invoke_panel import InvokePanel
from studio.tui.widgets.response_view import ResponseView
from studio.tui.widgets.route_tree import RouteTree


def labels(app) -> list[str]:
    return [e.label for e in app.query_one(RouteTree).visible_entries()]


async def test_first_frame_then_services_fill_in(showcase):
    app = make_app(showcase)
    messages = []
    async with app.run_test(message_hook=messages.append, **RUN) as pilot:
        # the first frame is composed before discovery: the tree shows its placeholder
        assert app.project is None or isinstance(app.project, object)
        await started(pilot)
        kinds = [type(m) for m in messages if isinstance(m, (ProjectLoaded, RuntimeReady, StoreReady))]
        # the store is read from the first frame, in parallel with discovery and the runtime start
        assert kinds[0] is StoreReady and kinds.index(ProjectLoaded) < kinds.index(RuntimeReady)
        header = str(app.query_one("#header").render())
        assert "pages-showcase" in header
        assert f"{len(app.project.functions)} functions" in header
        assert app.url.startswith("http://127.0.0.1:")
        runtime = app.runtime
        await select_function(pilot, "cloud-functions/api/hello")
        await pilot.press("ctrl+j")
        await wait_until(pilot, lambda: app.query_one(ResponseView).response is not None, what="a response")
        pids = [i["pid"] for i in runtime.supervisor.instances()]
        assert pids and all(_alive(pid) for pid in pids)
    # leaving the app stops the gateway and kills every worker
    assert app.runtime is None and runtime._server is None
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_route_tree_groups_marks_and_filters(showcase):
    app = make_app(showcase, start_runtime=False)  # discovery alone: no runtime to start and stop
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        tree = app.query_one(RouteTree)
        entries = tree.visible_entries()
        by_path = {e.path: e for e in entries if e.kind == "route"}
        assert by_path["/api/users/:id"].dynamic
        assert by_path["/flask-api/:default*"].catch_all
        assert "GET,POST" in by_path["/api/hello"].label
        assert any(e.kind == "helper" and e.label.endswith("api/util.py") for e in entries)

        app.action_filter_routes()
        await pilot.press(*"users")
        await pilot.pause()
        filtered = {e.path for e in tree.visible_entries() if e.kind == "route"}
        assert filtered == {"/api/users/list", "/api/users/:id"}
        await pilot.press("enter")  # to the tree, on the first match
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(CodeEditor).file == "cloud-functions/api/users/list.py"
        panel = app.query_one(InvokePanel)
        assert panel.template == "/api/users/list"


async def test_route_params_become_fields(showcase):
    app = make_app(showcase, start_runtime=False)  # discovery alone: no runtime to start and stop
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        app.query_one(RouteTree).select_function("cloud-functions/api/shop/[category]/[item]")
        await pilot.pause()
        panel = app.query_one(InvokePanel)
        assert [i.name for i in panel.query("#params Input")] == ["category", "item"]
        spec, error = panel.build_spec()
        assert spec is None and "category" in error
        panel.param_input("category").value = "books"
        panel.param_input("item").value = "a b"
        spec, error = panel.build_spec()
        assert error is None and spec.path == "/api/shop/books/a%20b"


async def test_load_errors_and_scf_branch(scf_demo):
    (scf_demo / "hello" / "index.py").write_text("def main_handler(event, context):\n    return (\n")
    app = make_app(scf_demo)
    async with app.run_test(**RUN) as pilot:
        await wait_until(pilot, lambda: app.project is not None, what="discovery")
        await pilot.pause()
        entries = app.query_one(RouteTree).visible_entries()
        scf = [e for e in entries if e.platform == "scf"]
        assert scf, "SCF functions have their own branch"
        broken = [e for e in entries if e.error]
        assert broken and any("syntax" in (e.error or "").lower() for e in broken)


async def test_live_update_on_reload(showcase):
    app = make_app(showcase)
    async with app.run_test(**RUN) as pilot:
        await started(pilot)
        before = len(app.project.functions)
        (showcase / "cloud-functions" / "api" / "ping.py").write_text(
            "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n")
        await wait_until(pilot, lambda: len(app.project.functions) == before + 1, timeout=30, what="reload")
        await pilot.pause()
        assert any(e.path == "/api/ping" for e in app.query_one(RouteTree).visible_entries())
        assert "reloaded" in app.reload_info


async def test_a_taken_port_falls_back_to_a_free_one(showcase):
    import socket

    from studio.tui.app import StudioApp, StudioOptions

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = StudioApp(showcase, port=port, options=StudioOptions(fixed=True))
        async with app.run_test(**RUN) as pilot:
            await started(pilot)
            assert app.url.startswith("http://127.0.0.1:") and not app.url.endswith(f":{port}")

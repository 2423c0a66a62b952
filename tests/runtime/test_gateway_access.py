"""Control-API safety (issue 11, item 7), over real sockets: a browser page on another site cannot run
code through the control API, its Host allow-list holds under every --host, and curl, scripts and the
user's own routes are unaffected."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gw_helpers import request, serving, write_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "cloud-functions/ping.py": """
        def handler(request):
            return "pong"
    """,
}
INVOKE = "/__funcstudio/functions/cloud-functions/ping/invoke"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_files(tmp_path_factory.mktemp("access"), FILES)


@pytest.fixture(scope="module")
def runtime(project):
    with serving(project) as rt:
        yield rt


def started(runtime) -> int:
    from studio.runtime.events import InvocationStarted

    return len(runtime.events.of(InvocationStarted))


def simple_post(port: int, path: str, headers: dict, host: str = "127.0.0.1"):
    """What a page's fetch()/form sends without a preflight: POST with text/plain."""
    return request(port, "POST", path, body=b"{}", headers={"Content-Type": "text/plain", **headers}, host=host)


@pytest.mark.parametrize("headers, error, named", [
    ({"Origin": "http://evil.example"}, "foreign-origin", "http://evil.example"),
    ({"Origin": "null"}, "foreign-origin", "null"),
    ({"Origin": "http://127.0.0.1:1"}, "foreign-origin", "127.0.0.1:1"),  # our name, another port
    ({"Origin": "https://localhost:{port}"}, "foreign-origin", "https://"),  # another scheme
    ({"Sec-Fetch-Site": "cross-site"}, "cross-site-request", "cross-site"),
    ({"Sec-Fetch-Site": "same-site"}, "cross-site-request", "same-site"),  # another port on localhost
    ({"Origin": "http://localhost:{port}", "Sec-Fetch-Site": "cross-site"}, "cross-site-request", "cross-site"),
], ids=["evil", "null", "other-port", "https", "cross-site", "same-site", "own-origin-but-cross-site"])
def test_a_cross_site_browser_request_cannot_invoke(runtime, headers, error, named):
    headers = {k: v.format(port=runtime.port) for k, v in headers.items()}
    before = started(runtime)
    reply = simple_post(runtime.port, INVOKE, headers)
    assert reply.status == 403
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["error"] == error and named in reply.json()["message"]
    assert reply.headers["x-funcstudio-request-id"]
    assert started(runtime) == before  # the function never ran


def test_every_control_endpoint_refuses_a_foreign_origin(runtime):
    for path in ("/__funcstudio/health", "/__funcstudio/routes", "/__funcstudio/invocations/x"):
        reply = request(runtime.port, "GET", path, headers={"Origin": "http://evil.example"})
        assert reply.status == 403 and reply.json()["error"] == "foreign-origin", path


@pytest.mark.parametrize("headers", [
    {},  # curl, scripts, the studio
    {"Origin": "http://127.0.0.1:{port}"},
    {"Origin": "http://localhost:{port}", "Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
], ids=["no-origin", "own-origin", "own-origin-same-origin", "fetch-site-none"])
def test_own_pages_curl_and_scripts_keep_working(runtime, headers):
    headers = {k: v.format(port=runtime.port) for k, v in headers.items()}
    reply = simple_post(runtime.port, INVOKE, headers)
    assert reply.status == 200, reply.body
    assert "pong" in json.dumps(reply.json())  # what the function answered


def test_user_routes_stay_reachable_from_other_sites(runtime):
    """CORS is the function's business, as on the platform: no Origin rule on the user's routes."""
    reply = request(runtime.port, "GET", "/ping",
                    headers={"Origin": "http://localhost:5173", "Sec-Fetch-Site": "cross-site"})
    assert reply.status == 200 and reply.body == b"pong"


def test_loopback_bind_refuses_a_rebound_host_everywhere(runtime):
    for path in (INVOKE, "/ping"):
        reply = simple_post(runtime.port, path, {"Host": f"attacker.rebind.example:{runtime.port}"})
        assert reply.status == 403 and reply.json()["error"] == "host-not-allowed", path
    assert simple_post(runtime.port, INVOKE, {"Host": socket.gethostname()}).status == 403


def test_policy_names_on_a_network_bind():
    """Non-loopback binds add the machine's own names and addresses, never 'any'."""
    from studio.runtime.access import AccessPolicy

    policy = AccessPolicy("0.0.0.0", 8088)
    assert policy.host_allowed("localhost:8088") and policy.host_allowed("127.0.0.1")
    assert policy.host_allowed(f"{socket.gethostname()}:8088")
    assert not policy.host_allowed("attacker.rebind.example:8088")
    assert not policy.host_allowed("localhost:9999")
    assert policy.route_host_allowed("attacker.rebind.example:8088")
    loopback = AccessPolicy("127.0.0.1", 8088)
    assert not loopback.host_allowed(f"{socket.gethostname()}:8088")
    assert not loopback.route_host_allowed("attacker.rebind.example:8088")
    specific = AccessPolicy("::1", 8088)
    assert specific.host_allowed("[::1]:8088") and not specific.host_allowed("[::2]:8088")


def test_serve_on_all_interfaces_keeps_the_control_api_to_this_machine(project):
    """A real `funcstudio serve --host 0.0.0.0`: it says once that functions are reachable from the
    network; the control API refuses a rebound Host and a foreign Origin, answers the machine's own name,
    and the user's route answers any Host."""
    proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", str(project), "--host", "0.0.0.0",
                             "--port", "0", "--no-reload"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    try:
        line = proc.stdout.readline().decode()
        match = re.search(r"serving .* at http://0\.0\.0\.0:(\d+)", line)
        assert match, line
        port = int(match.group(1))
        rebound = simple_post(port, INVOKE, {"Host": f"attacker.rebind.example:{port}"})
        assert rebound.status == 403 and rebound.json()["error"] == "host-not-allowed"
        foreign = simple_post(port, INVOKE, {"Origin": "http://evil.example"})
        assert foreign.status == 403 and foreign.json()["error"] == "foreign-origin"
        own_name = simple_post(port, INVOKE, {"Host": f"{socket.gethostname()}:{port}"})
        assert own_name.status == 200, own_name.body
        route = request(port, "GET", "/ping", headers={"Host": "attacker.rebind.example"})
        assert route.status == 200 and route.body == b"pong"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    err = proc.stderr.read().decode()
    assert err.count("reachable from the network") == 1
    assert "Traceback" not in err

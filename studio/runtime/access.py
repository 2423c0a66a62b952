"""Who may talk to the gateway: the Host allow-list and the browser cross-site checks.

The control API runs code, so two rules hold for it under every `--host`:
  - Host must name this gateway: loopback names, the bound address and, on a non-loopback bind, the
    machine's own names and addresses (never "any": that is what DNS rebinding needs);
  - a request a browser marks as coming from another site is refused: an `Origin` that is not the
    gateway's own, or `Sec-Fetch-Site: cross-site` / `same-site`. Curl, scripts and the studio send
    neither header and are unaffected.
The user's own routes are reachable as the platform makes them: no Origin rule (CORS is the
function's business) and, on a non-loopback bind, any Host.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def machine_names() -> set[str]:
    """This machine's host names and interface addresses, as far as the standard library finds them."""
    names: set[str] = set()
    try:
        hostname = socket.gethostname()
        names.update({hostname, socket.getfqdn()})
        for info in socket.getaddrinfo(hostname, None):
            names.add(str(info[4][0]).split("%")[0])
    except OSError:
        pass
    names.update(_proc_addresses())
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        # the address a route out would use (connect on UDP sends nothing)
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                names.add(sock.getsockname()[0].split("%")[0])
        except OSError:
            pass
    return {n.lower() for n in names if n}


def _proc_addresses() -> set[str]:
    """Every local interface address on Linux (IPv4 from fib_trie, IPv6 from if_inet6)."""
    found: set[str] = set()
    try:
        with open("/proc/net/fib_trie", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
        for before, line in zip(lines, lines[1:], strict=False):
            if "/32 host LOCAL" in line:
                found.add(before.strip().split()[-1])
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as fh:
            for line in fh:
                raw = line.split()[0]
                found.add(str(ipaddress.ip_address(int(raw, 16).to_bytes(16, "big"))))
    except (OSError, ValueError, IndexError):
        pass
    return found


def split_host(value: str) -> tuple[str, str | None]:
    """`Host` header -> (lower-case name, port or None); IPv6 names lose their brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        rest = value[end + 1 :]
        return value[1:end], (rest[1:] if rest.startswith(":") else None)
    if value.count(":") == 1:
        name, port = value.split(":")
        return name, port
    return value, None


@dataclass
class AccessPolicy:
    host: str
    """The address the gateway is bound to (`--host`)."""
    port: int = 0

    def __post_init__(self) -> None:
        bound = self.host.strip("[]").lower()
        self.loopback_bind = is_loopback(bound)
        names = set(LOOPBACK_NAMES)
        if bound not in WILDCARDS:
            names.add(bound)
        if not self.loopback_bind:
            names.update(machine_names())
        self.names = frozenset(names)

    def host_allowed(self, host: str) -> bool:
        """`host` (a Host header) names this gateway: an allowed name on our port, or with no port."""
        name, port = split_host(host)
        if name not in self.names:
            return False
        return port is None or port == str(self.port)

    def route_host_allowed(self, host: str) -> bool:
        """Host rule for the user's own routes: loopback binds keep the allow-list (a page that
        rebinds a name to 127.0.0.1 gets nothing); a network bind answers whatever name reached it."""
        return not self.loopback_bind or self.host_allowed(host)

    def cross_site(self, origin: str | None, fetch_site: str | None) -> tuple[str, str] | None:
        """(error, message) when a browser marks the request as coming from another site, else None."""
        if fetch_site is not None and fetch_site.strip().lower() in ("cross-site", "same-site"):
            return ("cross-site-request",
                    f"Sec-Fetch-Site: {fetch_site.strip()} - the control API runs code and answers only "
                    f"its own pages, curl and scripts")
        if origin is not None and not self.own_origin(origin):
            return ("foreign-origin",
                    f"Origin {origin!r} is not this gateway's own - the control API runs code and answers "
                    f"only its own pages, curl and scripts")
        return None

    def own_origin(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin.strip())
        except ValueError:
            return False
        if parts.scheme != "http" or not parts.netloc or parts.path not in ("", "/"):
            return False
        try:
            port = parts.port or 80
        except ValueError:
            return False
        return (parts.hostname or "") in self.names and port == self.port

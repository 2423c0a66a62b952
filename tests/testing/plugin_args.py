"""How the tests here load funcstudio's pytest plugin in an inner pytest run."""

from __future__ import annotations

from importlib.metadata import entry_points

PLUGIN = "studio.testing.plugin"


def plugin_args() -> list[str]:
    """`-p studio.testing.plugin` unless the installed package already registers it (`pytest11`):
    loading it twice would make pytest refuse the second registration."""
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]

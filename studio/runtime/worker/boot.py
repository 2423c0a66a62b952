"""Entry script of every worker process, run by file path under the project's interpreter.

    python boot.py zygote <control-fd>     a fork server (forkserver.py)
    python boot.py instance <channel-fd>   one instance, spawned (no fork available)

The worker modules are loaded as the private package `_funcstudio_worker` so that user code can
never shadow them (a project may well have its own `capture.py` or `protocol.py`), and this
folder is taken off `sys.path` before any user code runs.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "_funcstudio_worker"


def load_package():
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(HERE, "__init__.py"), submodule_search_locations=[HERE]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def main(argv):
    if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == HERE:
        del sys.path[0]
    load_package()
    if len(argv) != 3 or argv[1] not in ("zygote", "instance"):
        sys.stderr.write("usage: boot.py zygote|instance <fd>\n")
        return 2
    fd = int(argv[2])
    if argv[1] == "zygote":
        forkserver = importlib.import_module(PACKAGE + ".forkserver")
        return forkserver.main(fd)
    serve = importlib.import_module(PACKAGE + ".serve")
    return serve.main_spawned(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The pytest plugin (entry point `pytest11` = `funcstudio`): a session-wide `funcstudio` fixture.

    def test_user(funcstudio):
        response = funcstudio.invoke("/api/users/:id", params={"id": "42"})
        assert response.status == 200 and response.json()["user"]["name"] == "Ada Lovelace"

The project is `--funcstudio-project PATH`, else the `funcstudio_project` ini option (relative to
the ini file), else pytest's rootdir (or the nearest folder above it that holds a project, so
`python -m pytest tests/test_x.py` without an ini file finds it). Its runtime starts once per session, on a free loopback
port, without reload, and records nothing (the project's `.funcstudio/` is left alone). Until a test
asks for the fixture this module does nothing, so having funcstudio installed costs other test
suites nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

INI_OPTION = "funcstudio_project"
CLI_OPTION = "--funcstudio-project"
# What makes a folder a project (DESIGN.md §1): a rootdir below one (pytest run on tests/ with no
# ini file) serves the project above it.
PROJECT_MARKERS = ("funcstudio.toml", "cloud-functions", "serverless.yml", "serverless.yaml", "template.yaml",
                   "cocobase")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("funcstudio")
    group.addoption(CLI_OPTION, dest="funcstudio_project", default=None, metavar="PATH",
                    help="Project folder the `funcstudio` fixture serves (default: the ini option "
                         f"{INI_OPTION}, else the rootdir).")
    parser.addini(INI_OPTION, "Project folder the `funcstudio` fixture serves, relative to this file "
                              "(default: the rootdir).", default="")


def project_root(config: pytest.Config) -> Path:
    option = config.getoption("funcstudio_project")
    if option:
        return Path(option).expanduser().resolve()
    ini_value = config.getini(INI_OPTION)
    if ini_value:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return (base / str(ini_value)).resolve()
    rootdir = config.rootpath.resolve()
    for folder in (rootdir, *rootdir.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return rootdir


@pytest.fixture(scope="session")
def funcstudio(request: pytest.FixtureRequest):
    """The project's runtime, started once per session; `.invoke(...)` answers like `invoke --json`."""
    from studio.testing.client import FuncStudio, FuncstudioError

    studio = FuncStudio(project_root(request.config))
    try:
        studio.start()
    except FuncstudioError as exc:
        studio.stop()
        pytest.fail(f"funcstudio: {exc} (set {CLI_OPTION} or the {INI_OPTION} ini option)", pytrace=False)
    try:
        yield studio
    finally:
        studio.stop()

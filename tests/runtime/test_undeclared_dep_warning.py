"""EO-UNDECLARED-DEP at invoke time: a ModuleNotFoundError for a package the EdgeOne build would not install."""

from __future__ import annotations

import pytest
from gw_helpers import write_files

from studio.runtime.server import Runtime

FILES = {
    "cloud-functions/requirements.txt": "declared-pkg-funcstudio==1.0\n",
    "cloud-functions/at_import.py": """
        import undeclared_pkg_funcstudio

        def handler(event, context):
            return "never"
    """,
    "cloud-functions/in_handler.py": """
        def handler(event, context):
            import undeclared_pkg_funcstudio.sub
            return "never"
    """,
    "cloud-functions/declared.py": """
        def handler(event, context):
            import declared_pkg_funcstudio
            return "never"
    """,
    "cloud-functions/api/sibling.py": """
        def handler(event, context):
            import helpers_funcstudio
            return "never"
    """,
    "cloud-functions/api/helpers_funcstudio.py": "X = 1\n",
    "cloud-functions/ok.py": """
        def handler(event, context):
            return "fine"
    """,
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = write_files(tmp_path_factory.mktemp("undeclared"), FILES)
    with Runtime(root, host="127.0.0.1", port=0, reload=False) as rt:
        yield rt


def ids(record):
    return [w.id for w in record.warnings]


@pytest.mark.parametrize("function_id", ["cloud-functions/at_import", "cloud-functions/in_handler"])
def test_undeclared_third_party_import_warns_with_the_fix(runtime, function_id):
    record, _ = runtime.invoke_function(function_id, {"path": "/" + function_id.split("/", 1)[1]})
    assert record.status == 500 and record.error is not None
    assert record.error.type.endswith("ModuleNotFoundError")
    warning = next(w for w in record.warnings if w.id == "EO-UNDECLARED-DEP")
    assert "`import undeclared_pkg_funcstudio` failed with ModuleNotFoundError" in warning.message
    assert "Production fails the same way" in warning.message
    assert "cloud-functions/requirements.txt" in warning.fix and "undeclared" in warning.fix
    assert ids(record).count("EO-UNDECLARED-DEP") == 1


def test_a_package_the_requirements_cover_does_not_warn(runtime):
    record, _ = runtime.invoke_function("cloud-functions/declared", {"path": "/declared"})
    assert record.error is not None and record.error.type.endswith("ModuleNotFoundError")
    assert "EO-UNDECLARED-DEP" not in ids(record)


def test_a_sibling_module_is_not_a_dependency(runtime):
    record, _ = runtime.invoke_function("cloud-functions/api/sibling", {"path": "/api/sibling"})
    assert record.error is not None and record.error.type.endswith("ModuleNotFoundError")
    assert "EO-UNDECLARED-DEP" not in ids(record) and "EO-SIBLING-IMPORT" in ids(record)


def test_the_requirements_are_computed_once_per_project_load(runtime):
    first, _ = runtime.invoke_function("cloud-functions/in_handler", {"path": "/in_handler"})
    reqs = runtime.supervisor.undeclared.requirements(runtime.supervisor.project)
    again, _ = runtime.invoke_function("cloud-functions/in_handler", {"path": "/in_handler"})
    assert "EO-UNDECLARED-DEP" in ids(first) and "EO-UNDECLARED-DEP" in ids(again)
    assert runtime.supervisor.undeclared.requirements(runtime.supervisor.project) is reqs
    healthy, _ = runtime.invoke_function("cloud-functions/ok", {"path": "/ok"})
    assert healthy.status == 200 and healthy.warnings == ()

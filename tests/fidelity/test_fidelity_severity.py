"""Severity follows the outcome (issue: fidelity item 4): a problem that makes every request of a
function fail in production is an error, and `check` exits 1."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from helpers import write_file

from studio.cli import cli
from studio.project.check import check_project
from studio.project.loader import load_project

DJANGO_SITE = '''\
import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="x")


def health(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("health", health)]
app = get_wsgi_application()
'''

# What `django-admin startproject` generates beside the settings: an ASGI entry by the build's rule.
DJANGO_ASGI = '''\
import os
from django.core.asgi import get_asgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_asgi_application()
'''


def test_django_beside_its_asgi_py_is_an_error_and_check_exits_1(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/mysite/index.py", DJANGO_SITE)
    write_file(tmp_path, "cloud-functions/mysite/asgi.py", DJANGO_ASGI)
    write_file(tmp_path, "cloud-functions/requirements.txt", "django\n")
    problems = check_project(load_project(tmp_path))
    [problem] = [p for p in problems if p.code == "EO-ASGI-DISPATCH-WSGI"]
    assert problem.severity == "error" and problem.file == "cloud-functions/mysite/index.py"
    assert "cloud-functions/mysite/asgi.py" in problem.message
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1 and "error EO-ASGI-DISPATCH-WSGI" in result.output


def test_django_alone_passes(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/mysite/index.py", DJANGO_SITE)
    write_file(tmp_path, "cloud-functions/requirements.txt", "django\n")
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_undeclared_top_level_import_in_an_entry_is_an_error_elsewhere_a_warning(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/a.py", "import yaml\n\ndef handler(event, context):\n    return 1\n")
    write_file(tmp_path, "cloud-functions/b.py", "def handler(event, context):\n    import yaml\n    return 1\n")
    severities = {(p.file, p.severity) for p in check_project(load_project(tmp_path)) if p.code == "EO-UNDECLARED-DEP"}
    assert severities == {("cloud-functions/a.py", "error"), ("cloud-functions/b.py", "warning")}


def test_routed_entry_in_an_excluded_folder_is_an_error(tmp_path: Path) -> None:
    write_file(tmp_path, "cloud-functions/tests/probe.py", "def handler(event, context):\n    return 1\n")
    [problem] = [p for p in check_project(load_project(tmp_path)) if p.code == "EO-EXCLUDED-DIR-ROUTE"]
    assert problem.severity == "error"


def test_cocopot_with_a_vendored_shim_is_only_a_warning(tmp_path: Path) -> None:
    app = "from cocopot import Cocopot\napp = Cocopot()\n"
    write_file(tmp_path, "cloud-functions/pot/index.py", app)
    write_file(tmp_path, "cloud-functions/requirements.txt", "cocopot==0.2\n")
    [bare] = [p for p in check_project(load_project(tmp_path)) if p.code == "CP-SHIM"]
    assert bare.severity == "error"
    write_file(tmp_path, "cloud-functions/pot/index.py", "import shim\n" + app)
    write_file(tmp_path, "cloud-functions/pot/shim.py",
               "import collections, collections.abc\ncollections.MutableMapping = collections.abc.MutableMapping\n")
    [shimmed] = [p for p in check_project(load_project(tmp_path)) if p.code == "CP-SHIM"]
    assert shimmed.severity == "warning"

"""CocoBase files at the project root (issue: fidelity item 8 of "Found"): `check` says where
functions are expected and which setting points funcstudio at them."""

from __future__ import annotations

from pathlib import Path

from helpers import write_file

from studio.project.check import check_project
from studio.project.loader import load_project

SEND_OTP = '''\
def main():
    email = request.get("email")
    code = str(secrets.randbelow(1000000)).zfill(6)
    db.create_document("otps", {"email": email, "code": code})
    return {"sent": True}
'''


def test_root_level_cocobase_files_get_a_hint_naming_the_setting(tmp_path: Path) -> None:
    write_file(tmp_path, "send-otp.py", SEND_OTP)
    write_file(tmp_path, "helpers.py", "def main():\n    return 1\n")  # no injected globals: not flagged
    problems = check_project(load_project(tmp_path))
    [hint] = [p for p in problems if p.code == "CB-OUTSIDE-DIR"]
    assert hint.file == "send-otp.py" and "helpers.py" not in hint.message
    assert "expected in cocobase/" in hint.message
    assert '[cocobase] dir = "."' in hint.hint and "funcstudio.toml" in hint.hint


def test_the_setting_the_hint_names_loads_them(tmp_path: Path) -> None:
    write_file(tmp_path, "send-otp.py", SEND_OTP)
    write_file(tmp_path, "funcstudio.toml", '[cocobase]\ndir = "."\n')
    project = load_project(tmp_path)
    assert [fn.id for fn in project.functions] == ["send-otp"]
    assert project.functions[0].routes[0].path == "/functions/send-otp/execute"
    assert not [p for p in project.problems if p.severity == "error"]

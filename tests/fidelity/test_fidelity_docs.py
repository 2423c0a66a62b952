"""Docs a user can read (issue: fidelity item 9): every code funcstudio can print has an entry in
docs/platforms.md, the output links to it, and the README points there (not at design documents)."""

from __future__ import annotations

import re
from pathlib import Path

from studio.project.model import doc_link

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "docs" / "platforms.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")
CODE = re.compile(r'"((?:EO|SCF|CB|CP|DEP|ENV)-[A-Z0-9]+(?:-[A-Z0-9]+)*)"')


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "studio").rglob("*.py"):
        found.update(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_code_in_the_source_has_its_own_entry() -> None:
    headings = set(re.findall(r"^#### ([A-Z0-9-]+)$", DOCS, re.M))
    codes = codes_in_source()
    assert len(codes) > 40
    assert sorted(codes - headings) == []
    assert sorted(headings - codes) == []  # no entry for a code nothing prints


def test_links_point_at_the_entry_anchor() -> None:
    assert doc_link("EO-DICT-ENVELOPE") == "docs/platforms.md#eo-dict-envelope"
    assert doc_link("syntax-error") is None
    assert "](#eo-asgi-dispatch-wsgi)" in DOCS  # GitHub's anchor for `#### EO-ASGI-DISPATCH-WSGI`


def test_readme_sends_users_to_the_docs_not_to_design_documents() -> None:
    assert "[docs/platforms.md](docs/platforms.md)" in README
    assert "RUNTIME_SPEC" not in README and "## Status" not in README


def test_check_output_carries_the_link(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from helpers import write_file

    from studio.cli import cli

    write_file(tmp_path, "cloud-functions/tests/probe.py", "def handler(event, context):\n    return 1\n")
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert "[docs/platforms.md#eo-excluded-dir-route]" in result.output

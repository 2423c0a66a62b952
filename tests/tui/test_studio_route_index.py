"""The route tree's data on real discovery: conflicts in red on both files, filtering, helpers."""

from __future__ import annotations

from studio.project.loader import load_project
from studio.tui.route_index import all_entries, build_sections, filter_sections

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'x'}\n"


def test_conflict_marks_the_winner_and_the_shadowed_file(tmp_path):
    api = tmp_path / "cloud-functions" / "api"
    (api / "x").mkdir(parents=True)
    (api / "x.py").write_text(HANDLER)
    (api / "x" / "index.py").write_text(HANDLER)
    (api / "helper.py").write_text("VALUE = 1\n")
    sections = build_sections(load_project(tmp_path))
    entries = all_entries(sections)
    flagged = {e.file for e in entries if e.error and "conflict" in e.error.lower()}
    assert flagged == {"cloud-functions/api/x.py", "cloud-functions/api/x/index.py"}
    assert [e.label for e in entries if e.kind == "helper"] == ["cloud-functions/api/helper.py"]


def test_filter_keeps_matching_rows_by_every_word(samples_dir):
    sections = build_sections(load_project(samples_dir / "pages-showcase"))
    kept = all_entries(filter_sections(sections, "users fn"))
    assert {e.path for e in kept} == {"/api/users/list", "/api/users/:id"}
    assert all_entries(filter_sections(sections, "no-such-route")) == []
    assert len(all_entries(filter_sections(sections, ""))) == len(all_entries(sections))

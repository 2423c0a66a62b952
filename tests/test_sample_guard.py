"""The guard in tests/conftest.py that keeps sample_projects/ clean sees what a leaking test leaves,
and a sample copy carries none of an earlier run's leftovers."""

from __future__ import annotations

import os

from helpers import copy_sample, tree_changes, tree_state, write_file


def test_tree_changes_name_new_changed_and_removed_paths(tmp_path):
    write_file(tmp_path, "site/index.py", "# page\n")
    write_file(tmp_path, "site/old.py", "# old\n")
    before = tree_state(tmp_path)
    assert tree_changes(before, tree_state(tmp_path)) == []

    write_file(tmp_path, "site/.funcstudio/studio.db", b"SQLite format 3\x00")
    (tmp_path / "site" / "old.py").unlink()
    later = before["site/index.py"] + 5_000_000_000
    os.utime(tmp_path / "site" / "index.py", ns=(later, later))

    assert tree_changes(before, tree_state(tmp_path)) == [
        "added site/.funcstudio",
        "added site/.funcstudio/studio.db",
        "removed site/old.py",
        "changed site/index.py",  # `site` itself is not listed: its mtime moved because of the others
    ]


def test_a_folder_touched_without_a_trace_below_it_is_still_named(tmp_path):
    (tmp_path / "cloud-functions").mkdir()
    before = tree_state(tmp_path)
    temp = write_file(tmp_path, "cloud-functions/scratch.tmp", "x")
    temp.unlink()
    folder = tmp_path / "cloud-functions"
    later = before["cloud-functions"] + 5_000_000_000
    os.utime(folder, ns=(later, later))
    assert tree_changes(before, tree_state(tmp_path)) == ["changed cloud-functions"]


def test_a_sample_copy_leaves_an_earlier_runs_database_and_byte_code_behind(tmp_path):
    samples = tmp_path / "samples"
    write_file(samples, "demo/cloud-functions/index.py", "# entry\n")
    write_file(samples, "demo/.funcstudio/studio.db", b"SQLite format 3\x00")
    write_file(samples, "demo/cloud-functions/__pycache__/index.cpython-312.pyc", b"\x00")
    copy = copy_sample("demo", tmp_path / "copies", samples=samples)
    assert copy == tmp_path / "copies" / "demo"
    assert sorted(tree_state(copy)) == ["cloud-functions", "cloud-functions/index.py"]
    assert (copy / "cloud-functions" / "index.py").read_text() == "# entry\n"


def test_the_real_samples_copy_whole(tmp_path, samples_dir):
    copy = copy_sample("scf-demo", tmp_path)
    kept = {p for p in tree_state(samples_dir / "scf-demo") if not {".funcstudio", "__pycache__"} & set(p.split(os.sep))}
    assert set(tree_state(copy)) == kept and "serverless.yml" in kept

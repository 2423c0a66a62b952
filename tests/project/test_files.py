"""The project walker and the cached source reader (studio/project/files.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_file as write
from privilege_drop import run_unprivileged, shared_folder

from studio.project import files
from studio.project.files import iter_source_files, read_source, walk_tree


@pytest.fixture(autouse=True)
def _fresh_cache():
    files.clear_cache()
    yield
    files.clear_cache()


def rels(root: Path, paths) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_walk_is_depth_first_sorted_by_name_in_each_folder(tmp_path: Path) -> None:
    for rel in ["b.py", "api.py", "api/index.py", "api/z.py", "api/a/x.py", "A.py", "notes.txt"]:
        write(tmp_path, rel)
    tree = walk_tree(tmp_path)
    # `api` sorts before `api.py`, so the folder's files come first (the platform's scan order).
    assert rels(tmp_path, tree.files) == [
        "A.py", "api/a/x.py", "api/index.py", "api/z.py", "api.py", "b.py", "notes.txt",
    ]
    assert rels(tmp_path, tree.dirs) == ["api", "api/a"]
    assert tree.problems == ()


def test_project_walk_skips_tool_and_environment_folders(tmp_path: Path) -> None:
    for rel in [
        "main.py", ".git/hooks/x.py", ".venv/lib/site.py", "venv/x.py", "node_modules/p/i.py",
        "__pycache__/m.py", ".funcstudio/cache.py", "pkg/__pycache__/m.py", "pkg/mod.py",
    ]:
        write(tmp_path, rel)
    assert rels(tmp_path, iter_source_files(tmp_path)) == ["main.py", "pkg/mod.py"]
    # The EdgeOne route scan skips nothing: callers can ask for every folder.
    every = rels(tmp_path, iter_source_files(tmp_path, skip_dirs=frozenset()))
    assert "venv/x.py" in every and ".git/hooks/x.py" in every and len(every) == 9


def test_iter_source_files_filters_by_suffix(tmp_path: Path) -> None:
    write(tmp_path, "a.py")
    write(tmp_path, "b.yaml")
    write(tmp_path, "c.yml")
    assert rels(tmp_path, iter_source_files(tmp_path, suffixes=(".yaml", ".yml"))) == ["b.yaml", "c.yml"]


def test_missing_and_empty_roots_give_empty_trees(tmp_path: Path) -> None:
    assert walk_tree(tmp_path / "nope").files == ()
    (tmp_path / "empty").mkdir()
    tree = walk_tree(tmp_path / "empty")
    assert tree.files == () and tree.dirs == () and tree.problems == ()


def test_symlinked_folder_loop_is_reported_once_and_not_entered(tmp_path: Path) -> None:
    write(tmp_path, "pkg/mod.py")
    os.symlink("..", tmp_path / "pkg" / "up")  # pkg/up -> the root, which contains pkg
    tree = walk_tree(tmp_path)
    assert rels(tmp_path, tree.files) == ["pkg/mod.py"]
    assert [(p.code, p.file) for p in tree.problems] == [("symlink-loop", "pkg/up")]


def test_symlinked_folder_without_loop_is_followed(tmp_path: Path) -> None:
    write(tmp_path, "shared/util.py")
    os.symlink("shared", tmp_path / "linked")
    assert rels(tmp_path, walk_tree(tmp_path).files) == ["linked/util.py", "shared/util.py"]


def test_self_referencing_file_link_reads_as_symlink_loop(tmp_path: Path) -> None:
    os.symlink("loop.py", tmp_path / "loop.py")
    assert rels(tmp_path, walk_tree(tmp_path).files) == ["loop.py"]
    source = read_source(tmp_path / "loop.py")
    assert source.text is None and source.error_code == "symlink-loop"
    problem = source.problem("cloud-functions/loop.py")
    assert problem.file == "cloud-functions/loop.py" and problem.severity == "error"
    assert "loop" in problem.message.lower()


def test_broken_link_is_not_a_file(tmp_path: Path) -> None:
    os.symlink("missing.py", tmp_path / "dangling.py")
    source = read_source(tmp_path / "dangling.py")
    assert source.text is None and source.error_code == "not-a-file"


def test_reads_utf8_and_strips_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "a.py", "\ufeffx = 'é'\n".encode())
    source = read_source(path)
    assert source.ok and source.text == "x = 'é'\n" and source.problem("a.py") is None


def test_non_utf8_file_keeps_replaced_text_and_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.py", b"ok = 1\n\nname = '\xe9t\xe9'\n")
    source = read_source(path)
    assert source.error_code == "not-utf8"
    assert source.line == 3
    assert "\ufffd" in source.text and source.text.startswith("ok = 1")
    problem = source.problem("cloud-functions/bad.py")
    assert (problem.code, problem.file, problem.line) == ("not-utf8", "cloud-functions/bad.py", 3)
    assert "0xe9" in problem.message


def test_coding_cookie_is_honoured_for_python_files(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.py", b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n")
    source = read_source(path)
    assert source.ok and "été" in source.text
    # A data file gets no cookie treatment: it must be UTF-8.
    data = write(tmp_path, "latin.txt", b"# -*- coding: latin-1 -*-\n\xe9\n")
    assert read_source(data).error_code == "not-utf8"


@pytest.fixture
def shared_dir():
    with shared_folder() as folder:
        yield folder


def test_unreadable_file(shared_dir: Path) -> None:
    path = write(shared_dir, "secret.py", "x = 1\n")
    path.chmod(0)

    def probe():
        source = read_source(path)
        problem = source.problem("cloud-functions/secret.py")
        return source.text, source.error_code, problem.file, problem.hint

    text, code, file, hint = run_unprivileged(probe)
    assert text is None and code == "unreadable-file"
    assert file == "cloud-functions/secret.py" and "permission" in hint.lower()


def test_unreadable_folder_is_a_problem_not_a_crash(shared_dir: Path) -> None:
    write(shared_dir, "locked/inner.py")
    write(shared_dir, "open.py")
    (shared_dir / "locked").chmod(0)

    def probe():
        tree = walk_tree(shared_dir)
        return rels(shared_dir, tree.files), [(p.code, p.file) for p in tree.problems]

    found, problems = run_unprivileged(probe)
    assert found == ["open.py"]
    assert problems == [("unreadable-folder", "locked")]


def test_reader_caches_until_mtime_or_size_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.py", "x = 1\n")
    first = read_source(path)
    assert read_source(path) is first  # unchanged: the cached object itself
    path.write_text("x = 22\n", encoding="utf-8")  # size changes
    second = read_source(path)
    assert second is not first and second.text == "x = 22\n"
    # Same size, new mtime: still re-read.
    path.write_text("x = 33\n", encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    third = read_source(path)
    assert third.text == "x = 33\n"


def test_reader_accepts_a_known_stat(tmp_path: Path) -> None:
    path = write(tmp_path, "a.py", "x = 1\n")
    source = read_source(path, path.stat())
    assert source.text == "x = 1\n" and source.size == 6


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "pkg.py").mkdir()
    source = read_source(tmp_path / "pkg.py")
    assert source.text is None and source.error_code == "not-a-file"


def test_deep_nesting_does_not_hit_the_recursion_limit(tmp_path: Path) -> None:
    import sys

    depth = sys.getrecursionlimit() + 50
    # Build the chain with relative mkdir calls: the absolute path would exceed PATH_MAX.
    old = os.getcwd()
    try:
        os.chdir(tmp_path)
        for _ in range(depth):
            os.mkdir("d")
            os.chdir("d")
        Path("leaf.py").write_text("x = 1\n", encoding="utf-8")
    finally:
        os.chdir(old)
    try:
        tree = walk_tree(tmp_path)
        assert len(tree.rel_dirs) == depth
        assert tree.rel_files == ("/".join(["d"] * depth) + "/leaf.py",)
    finally:
        _remove_chain(tmp_path, depth)


def _remove_chain(top: Path, depth: int) -> None:
    """Remove the chain bottom-up without recursion (pytest's own cleanup would recurse)."""
    old = os.getcwd()
    try:
        os.chdir(top)
        for _ in range(depth):
            os.chdir("d")
        os.remove("leaf.py")
        for _ in range(depth):
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.chdir(old)

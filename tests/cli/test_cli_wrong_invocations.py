"""Wrong invocations a newcomer types: each says what is missing, not something about the wrong argument."""

from __future__ import annotations

from click.testing import CliRunner

from studio.cli import cli


def invoke(*args: str, cwd=None):
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(cli, list(args), catch_exceptions=False)


def test_show_and_export_with_only_a_project_ask_for_the_request_id(tmp_path):
    """`show PROJECT` and `export PROJECT --pytest` took the folder for a request id ('no invocation
    with request id '/tmp/p'')."""
    project = tmp_path / "proj"
    project.mkdir()
    for args in (("show", str(project)), ("export", str(project), "--pytest")):
        result = invoke(*args, cwd=tmp_path)
        assert result.exit_code == 2, (args, result.output)
        assert "REQUEST_ID" in result.output and "no invocation with request id" not in result.output
        assert "--invocations" in result.output  # where the ids are listed


def test_db_names_an_unknown_action(tmp_path):
    """`db PROJECT nope` said 'expected an action after the project' although one was given."""
    result = invoke("db", str(tmp_path), "nope", cwd=tmp_path)
    assert result.exit_code == 2
    assert "unknown action 'nope'" in result.output and "seed | dump | collections" in result.output

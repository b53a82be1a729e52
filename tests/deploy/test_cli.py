"""./sync_dags.sh's own lines: what it says it synced, rolled back or refused, each naming the tree, commit or
files exactly as a user reads them (a folder target; the S3 side has its own tests)."""

from __future__ import annotations

import io
import re

import pytest

from deploy import cli, releases, stamp
from deploy.targets import DirectoryTarget
from tests.deploy.support import ci_log, commit_all, git


def sync(project, folder, *args, stamped=True):
    if stamped:
        assert stamp.write(project, stamp.tree_hash(project), "full")
    out = io.StringIO()
    code = cli.main(["--repo", str(project), "--skip-gate-run", "--target", str(folder), *args], out=out)
    return code, out.getvalue().splitlines()


def line_starting(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.startswith(start))


def test_a_sync_names_the_tree_it_shipped_and_what_it_did(project, tmp_path):
    folder, tree = tmp_path / "bucket", stamp.tree_hash(project)

    code, lines = sync(project, folder)

    assert code == cli.OK
    assert re.fullmatch(
        rf"gate: tree {tree[:12]} passed \./run_tests\.sh \(full, \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)",
        lines[0],
    )
    synced = f"synced tree {tree[:12]} to {folder}/: 7 uploaded (492 B), 0 deleted, 0 unchanged in "
    assert re.fullmatch(re.escape(synced) + r"\d+\.\ds", line_starting(lines, "synced tree "))

    code, lines = sync(project, folder)

    assert code == cli.OK and lines[-1] == f"nothing to do: {folder}/ already holds tree {tree[:12]}"


def in_a_ci_log(project, folder, log, monkeypatch) -> list[str]:
    assert stamp.write(project, stamp.tree_hash(project), "full")
    with ci_log(log, monkeypatch) as out:
        code = cli.main(["--repo", str(project), "--skip-gate-run", "--target", str(folder)], out=out)
    lines = log.read_text().splitlines()
    assert code == cli.OK, lines
    return lines


def in_order(lines: list[str], starts: list[str]) -> bool:
    firsts = [next(i for i, line in enumerate(lines) if line.startswith(start)) for start in starts]
    return firsts == sorted(firsts)


def test_a_ci_log_has_each_line_where_the_sync_reached_it(project, tmp_path, monkeypatch):
    """stdout and stderr through one pipe: the plan and the preflight above the upload progress (stderr), with
    the environment files changing (a preflight) and without."""
    folder = tmp_path / "bucket"
    lines = in_a_ci_log(project, folder, tmp_path / "first.log", monkeypatch)
    starts = [
        "gate: ",
        "Plan for ",
        "    + requirements.txt",
        "preflight: ",
        "uploading ",
        "recorded release 1 ",
    ]
    assert in_order(lines, starts), lines
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'one'\n")
    commit_all(project)

    lines = in_a_ci_log(project, folder, tmp_path / "second.log", monkeypatch)

    assert in_order(
        lines, ["Plan for ", "    ~ dags/redshift__01_first.py", "uploading ", "recorded release 2 "]
    )
    assert not any(line.startswith("preflight: ") for line in lines), lines


def test_only_a_change_of_the_environment_files_says_a_folder_has_no_environment(project, tmp_path):
    folder = tmp_path / "bucket"
    code, lines = sync(project, folder)
    assert code == cli.OK
    assert lines[-1] == (
        "environment files changed (plugins.zip, requirements.txt); a folder target has no MWAA environment"
    )
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'one'\n")
    commit_all(project)

    code, lines = sync(project, folder)

    assert code == cli.OK and lines[-1].startswith("synced tree "), lines


def test_a_stamp_of_another_tree_is_refused_naming_both_trees(project, tmp_path, capsys):
    stamped = stamp.tree_hash(project)
    assert stamp.write(project, stamped, "full")
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'untested'\n")
    commit_all(project)
    tree = stamp.tree_hash(project)

    code, _ = sync(project, tmp_path / "bucket", stamped=False)

    assert code == cli.REFUSED
    assert capsys.readouterr().err.splitlines()[0] == (
        f"refused: no green ./run_tests.sh run recorded for this tree ({tree[:12]}; "
        f"build/test-gate/passed-tree holds {stamped[:12]})."
    )


@pytest.mark.parametrize("count, listed", [(10, 10), (11, 10)])
def test_a_dirty_tree_is_refused_listing_10_changes_at_most(project, tmp_path, capsys, count, listed):
    for n in range(count):
        (project / f"dags/draft_{n:02d}.py").write_text(f"N = {n}\n")

    code, _ = sync(project, tmp_path / "bucket", stamped=False)

    assert code == cli.REFUSED
    error = capsys.readouterr().err.splitlines()
    assert error[0] == "refused: the working tree has uncommitted changes:"
    assert error[1 : listed + 1] == [f"    ?? dags/draft_{n:02d}.py" for n in range(listed)]
    assert error[listed + 1] == (
        "    ..."
        if count > listed
        else "  Fix: commit them (a sync should ship a commit), " "or pass --allow-dirty to sync them anyway."
    )


FIVE = "dags/a.py, dags/b.py, dags/c.py, dags/d.py, dags/e.py"


@pytest.mark.parametrize("deleted, named", [(5, FIVE), (6, FIVE + ", ...")])
def test_a_mass_delete_is_refused_naming_5_files_at_most(project, tmp_path, capsys, deleted, named):
    for name in "abcdef":
        (project / f"dags/{name}.py").write_text(f"{name.upper()} = 1\n")
    commit_all(project)
    folder = tmp_path / "bucket"
    assert sync(project, folder)[0] == cli.OK  # 8 DAG files
    for name in "abcdef"[:deleted]:
        (project / f"dags/{name}.py").unlink()
    commit_all(project)
    capsys.readouterr()

    code, _ = sync(project, folder)

    assert code == cli.REFUSED
    assert capsys.readouterr().err.splitlines()[0] == (
        f"refused: it would delete {deleted} of the 8 DAG files of the target (more than half) ({named}); "
        "nothing was changed."
    )


def test_a_rollback_names_the_release_and_commit_it_restores(project, tmp_path):
    folder = tmp_path / "bucket"
    assert sync(project, folder)[0] == cli.OK
    first_commit = git(project, "rev-parse", "HEAD").strip()
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'two'\n")
    commit_all(project)
    assert sync(project, folder)[0] == cli.OK

    code, lines = sync(project, folder, "--rollback", stamped=False)

    assert code == cli.OK
    created = releases.load(DirectoryTarget(folder), 1).created
    assert (
        lines[0]
        == f"rollback of {folder}/ from release 2 to release 1 (commit {first_commit[:12]}, {created})"
    )
    assert re.fullmatch(
        rf"rolled back {re.escape(str(folder))}/ to release 1 \(commit {first_commit[:12]}\): 1 restored, "
        r"0 deleted, 6 unchanged in \d+\.\ds",
        line_starting(lines, "rolled back "),
    )


@pytest.mark.parametrize("asked, shown", [("0", [2]), ("1", [2]), ("2", [2, 1])])
def test_releases_lists_as_many_as_asked_and_at_least_the_live_one(project, tmp_path, asked, shown):
    folder = tmp_path / "bucket"
    assert sync(project, folder)[0] == cli.OK
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'two'\n")
    commit_all(project)
    assert sync(project, folder)[0] == cli.OK

    code, lines = sync(project, folder, "--releases", asked, stamped=False)

    assert code == cli.OK
    assert [int(line[2:6]) for line in lines[1:-1]] == shown


def test_the_exit_codes_are_the_documented_numbers(project, tmp_path):
    """0 synced, 1 failed, 2 bad usage, 3 refused (./sync_dags.sh --help): CI scripts test the numbers."""
    folder = tmp_path / "bucket"
    assert sync(project, folder)[0] == 0
    assert sync(project, folder, "--environment", "lakehouse-prod")[0] == 2  # a folder has no environment
    assert sync(project, folder, "--rollback", "7", stamped=False)[0] == 1  # no such release
    (project / "dags/draft.py").write_text("DRAFT = 1\n")
    assert sync(project, folder, stamped=False)[0] == 3  # uncommitted


def test_the_help_states_the_file_size_limit_the_bundle_refuses_over(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])

    assert "ship this repository file although over 5 MiB (repeatable)" in " ".join(
        capsys.readouterr().out.split()
    )

"""Carrying out a plan: what the sync reports it uploaded, and the progress it shows while uploading."""

from __future__ import annotations

import io

import pytest

from deploy import cli, stamp
from deploy.apply import ApplyError
from deploy.cli import sync
from deploy.targets import DirectoryTarget
from tests.deploy.support import commit_all


class Terminal(io.StringIO):
    """What a terminal shows is what is written to it; a stream that says it is one gets the one-line bar."""

    def isatty(self) -> bool:
        return True


def sync_to(project, folder):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    out = io.StringIO()
    code = cli.main(["--repo", str(project), "--skip-gate-run", "--target", str(folder)], out=out)
    assert code == cli.OK, out.getvalue()
    return out.getvalue()


def rewrite_two_dags(project, size: int) -> None:
    """Both DAG files of the project rewritten to `size` bytes each (one upload phase, equal sizes)."""
    for name in ("dags/redshift__01_first.py", "dags/redshift__02_second.py"):
        text = f"N = {'1' * (size - 5)}\n" if size else ""
        assert len(text.encode()) == size
        (project / name).write_text(text)
    commit_all(project)


def test_the_summary_states_the_exact_bytes_uploaded(project, tmp_path):
    folder = tmp_path / "bucket"
    sync_to(project, folder)
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'one'\n")  # 14 bytes
    (project / "dags/redshift__02_second.py").write_text("SECOND = 'second'\n")  # 18 bytes
    commit_all(project)

    output = sync_to(project, folder)

    summary = next(line for line in output.splitlines() if line.startswith("synced tree "))
    assert ": 2 uploaded (32 B), 0 deleted, " in summary


def test_a_log_gets_a_line_per_tenth_of_the_bytes_and_the_last(project, tmp_path):
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    for n in range(10, 30):
        (project / f"dags/redshift__{n}_more.py").write_text("N = 12345\n")  # 10 bytes each
    commit_all(project)
    log = io.StringIO()

    sync(project, DirectoryTarget(folder), False, io.StringIO(), log)

    counts = [line.partition("] ")[2] for line in log.getvalue().splitlines()]
    assert counts == [f"{n}/20 files, {10 * n} B/200 B" for n in (1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20)]


def test_a_log_gets_a_line_as_soon_as_the_next_tenth_is_reached(project, tmp_path):
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    # one file per phase, so they go in this order: 19 B (9.5 %), 11 B (to 15 %), 170 B
    (project / "requirements/requirements.txt").write_text("--constraint x.txt\n")
    (project / "sql/redshift/ddl/users.sql").write_text("select 12;\n")
    (project / "dags/redshift__01_first.py").write_text(f"X = '{'x' * 163}'\n")
    commit_all(project)
    log = io.StringIO()

    sync(project, DirectoryTarget(folder), False, io.StringIO(), log)

    assert log.getvalue().splitlines() == [
        "uploading [##............................] 1/3 files, 19 B/200 B",
        "uploading [####..........................] 2/3 files, 30 B/200 B",
        "uploading [##############################] 3/3 files, 200 B/200 B",
    ]


def test_a_log_shows_the_bar_to_scale(project, tmp_path):
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    rewrite_two_dags(project, 10)
    log = io.StringIO()

    sync(project, DirectoryTarget(folder), False, io.StringIO(), log)

    assert log.getvalue().splitlines() == [
        "uploading [###############...............] 1/2 files, 10 B/20 B",
        "uploading [##############################] 2/2 files, 20 B/20 B",
    ]


def test_the_bar_measures_bytes_not_files(project, tmp_path):
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    (project / "sql/redshift/ddl/users.sql").write_text("-- " + "x" * 26 + "\n")  # 30 bytes, sent first
    (project / "dags/redshift__01_first.py").write_text("FIRST = 2\n")  # 10 bytes, sent after what it reads
    commit_all(project)
    log = io.StringIO()

    sync(project, DirectoryTarget(folder), False, io.StringIO(), log)

    assert log.getvalue().splitlines() == [
        "uploading [######################........] 1/2 files, 30 B/40 B",
        "uploading [##############################] 2/2 files, 40 B/40 B",
    ]


@pytest.mark.parametrize("size", [10, 0])  # by bytes; by files when there are no bytes to count
def test_a_terminal_gets_one_line_redrawn_in_place_and_ended_when_done(project, tmp_path, size):
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    rewrite_two_dags(project, size)
    terminal = Terminal()

    sync(project, DirectoryTarget(folder), False, io.StringIO(), terminal)

    total = f"{2 * size} B"
    assert terminal.getvalue() == (
        f"\ruploading [###############...............] 1/2 files, {size} B/{total}"
        f"\ruploading [##############################] 2/2 files, {2 * size} B/{total}\n"
    )


def test_a_failed_upload_on_a_terminal_ends_the_bar_line_before_the_error(project, tmp_path):
    """The error then starts on a line of its own; a log (a line per tenth) has no bar line to end."""
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    rewrite_two_dags(project, 10)
    (folder / "dags/redshift__02_second.py").unlink()
    (folder / "dags/redshift__02_second.py").mkdir()  # the upload cannot replace a folder: it fails
    terminal, log = Terminal(), io.StringIO()

    with pytest.raises(ApplyError, match="upload of dags/redshift__02_second.py to .* failed"):
        sync(project, DirectoryTarget(folder), False, io.StringIO(), terminal)
    with pytest.raises(ApplyError):
        sync(project, DirectoryTarget(folder), False, io.StringIO(), log)

    shown = terminal.getvalue()  # the bar as far as it got (the other upload may not have started)
    assert shown.endswith("\n") and (shown == "\n" or shown.startswith("\ruploading [")), repr(shown)
    assert "\n\n" not in "\n" + log.getvalue(), repr(log.getvalue())


def test_when_uploads_fail_the_error_names_the_first_in_upload_order(project, tmp_path):
    """Several uploads failing at once (both DAG files start together) get one message, about the first of
    them in the plan's order, so a rerun that fails the same way says the same."""
    folder = tmp_path / "bucket"
    sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())
    rewrite_two_dags(project, 10)
    for name in ("dags/redshift__01_first.py", "dags/redshift__02_second.py"):
        (folder / name).unlink()
        (folder / name).mkdir()  # the upload cannot replace a folder: it fails

    for _ in range(3):
        with pytest.raises(ApplyError, match="^upload of dags/redshift__01_first.py to .* failed"):
            sync(project, DirectoryTarget(folder), False, io.StringIO(), io.StringIO())

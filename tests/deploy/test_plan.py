"""The plan: its guard against emptying the DAG folder (more than half of the DAG files, or all of them,
gone in one sync needs --allow-mass-delete), and how it shows sizes."""

from __future__ import annotations

import io

import pytest

from deploy import cli, plan, stamp
from deploy.bundle import BundleFile
from deploy.targets import DirectoryTarget
from tests.deploy.support import commit_all


def sync_to(project, folder, *args):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    out = io.StringIO()
    code = cli.main(["--repo", str(project), "--skip-gate-run", "--target", str(folder), *args], out=out)
    return code, out.getvalue()


@pytest.fixture
def four_dags(project, tmp_path):
    """The project with four DAG files, synced to a folder."""
    for n in (3, 4):
        (project / f"dags/redshift__0{n}_more.py").write_text(f"N = {n}\n")
    commit_all(project)
    folder = tmp_path / "bucket"
    assert sync_to(project, folder)[0] == cli.OK
    return project, folder


def remove_dags(project, count):
    for path in sorted(project.glob("dags/*.py"))[:count]:
        path.unlink()
    commit_all(project)


def test_deleting_exactly_half_of_the_dag_files_goes_through(four_dags):
    project, folder = four_dags
    remove_dags(project, 2)

    code, output = sync_to(project, folder)

    assert code == cli.OK, output
    assert len(list((folder / "dags").glob("*.py"))) == 2


def test_deleting_one_more_than_half_is_refused_and_changes_nothing(four_dags, capsys):
    project, folder = four_dags
    before = sorted(p.name for p in (folder / "dags").glob("*.py"))
    remove_dags(project, 3)
    (project / "dags/redshift__09_new.py").write_text("N = 9\n")
    commit_all(project)

    code, _ = sync_to(project, folder)

    assert code == cli.REFUSED
    error = capsys.readouterr().err
    assert "3 of the 4 DAG files" in error and "--allow-mass-delete" in error
    assert sorted(p.name for p in (folder / "dags").glob("*.py")) == before  # nothing uploaded either


def test_deleting_every_dag_file_is_refused_even_when_there_was_one(project, tmp_path, capsys):
    folder = tmp_path / "bucket"
    (project / "dags/redshift__02_second.py").unlink()
    commit_all(project)
    sync_to(project, folder)
    (project / "dags/redshift__01_first.py").unlink()
    commit_all(project)

    code, _ = sync_to(project, folder)

    assert code == cli.REFUSED
    assert "all 1 DAG files" in capsys.readouterr().err
    assert (folder / "dags/redshift__01_first.py").exists()


def test_a_sync_called_without_allow_mass_delete_refuses_one_as_the_command_does(four_dags):
    # sync() is also called directly (tests, tools/benchmarks/sync.py): its default is the safe one
    project, folder = four_dags
    remove_dags(project, 4)

    with pytest.raises(cli.Refused, match="all 4 DAG files"):
        cli.sync(project, DirectoryTarget(folder), out=io.StringIO())

    assert len(list((folder / "dags").glob("*.py"))) == 4


def test_allow_mass_delete_lets_it_through(four_dags):
    project, folder = four_dags
    remove_dags(project, 4)

    code, output = sync_to(project, folder, "--allow-mass-delete")

    assert code == cli.OK, output
    assert list((folder / "dags").glob("*.py")) == []


@pytest.mark.parametrize(
    "size, shown",
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1024**2, "1.0 MB"),
        (1024**4, "1024.0 GB"),
    ],
)
def test_sizes_are_shown_in_the_largest_unit_below_1024(size, shown):
    assert plan.human_bytes(size) == shown


@pytest.mark.parametrize(
    "count, listed, last", [(60, 60, "    + dags/f59.py (1 B)"), (61, 60, "    ... and 1 more")]
)
def test_the_plan_lists_60_changes_and_counts_the_rest(count, listed, last):
    added = [BundleFile(f"dags/f{n:02d}.py", b"x") for n in range(count)]

    lines = plan.render(plan.Plan(added=added), "s3://bucket/").splitlines()

    changes = [line for line in lines if line.startswith("    + ")]
    assert changes == [f"    + dags/f{n:02d}.py (1 B)" for n in range(listed)]
    assert lines[-1] == last

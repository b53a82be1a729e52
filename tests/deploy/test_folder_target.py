"""The folder target (the default, build/mwaa-bucket/): the same plan and the same scoped deletes as S3."""

from __future__ import annotations

import io

import repository
from deploy import bundle as bundling
from deploy import cli, stamp
from deploy.cli import sync
from deploy.targets import DirectoryTarget
from gate import inventory


def folder_contents(folder):
    """Every file but the release records and their content copies (.releases/)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(".releases/")
    }


def run_sync(project, folder, **options):
    """sync() as called with its defaults (a real sync, not a dry run) unless told otherwise."""
    return sync(project, DirectoryTarget(folder), out=io.StringIO(), progress=io.StringIO(), **options)


def test_folder_is_laid_out_as_the_bucket_and_kept_in_step(project, tmp_path):
    folder = tmp_path / "mwaa-bucket"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs/keep.log").write_text("not ours\n")
    run_sync(project, folder)
    assert folder_contents(folder) == {
        **{key: item.data for key, item in bundling.build(project).items()},
        "logs/keep.log": b"not ours\n",
    }

    (project / "dags/hudi/schemas/artists.avsc").unlink()
    (project / "dags/redshift__02_second.py").write_text("SECOND = 'two'\n")
    plan, result = run_sync(project, folder)

    assert [item.key for item in plan.changed] == ["dags/redshift__02_second.py"]
    assert result.deleted == ["dags/hudi/schemas/artists.avsc"]
    assert result.release.tree == stamp.tree_hash(project)  # no tested tree given: the working tree's
    assert not (folder / "dags/hudi").exists()  # emptied folders go with their last file
    assert (folder / "logs/keep.log").exists()
    assert run_sync(project, folder)[1] is None  # in step: nothing to do


def test_dry_run_writes_nothing(project, tmp_path):
    plan, result = run_sync(project, tmp_path / "mwaa-bucket", dry_run=True)

    assert result is None and len(plan.added) == len(bundling.build(project))
    assert not (tmp_path / "mwaa-bucket").exists()


def test_the_repository_itself_syncs_and_its_release_names_the_file_of_each_dag(tmp_path):
    """This repository's own bundle and DAG inventory, as the gate writes it (not a small project's)."""
    folder = tmp_path / "mwaa-bucket"

    plan, result = run_sync(repository.ROOT, folder)

    shipped = inventory.read_snapshot(repository.ROOT / inventory.RECORDED_PATH)
    assert shipped  # not an empty comparison
    assert result.release.dags == {dag_id: f"dags/{entry['file']}" for dag_id, entry in shipped.items()}
    assert all((folder / key).is_file() for key in result.release.dags.values())


def test_deleting_a_file_someone_removed_already_is_no_error_and_empty_folders_go(tmp_path):
    target = DirectoryTarget(str(tmp_path / "mwaa-bucket"))
    target.put("dags/hudi/schemas/artists.avsc", b"{}\n", "unused")
    target.put("dags/redshift__01_first.py", b"FIRST = 1\n", "unused")

    target.delete(["dags/hudi/schemas/gone.avsc", "dags/hudi/schemas/artists.avsc"])

    assert sorted(p.relative_to(target.root).as_posix() for p in target.root.rglob("*")) == [
        "dags",
        "dags/redshift__01_first.py",
    ]


def test_a_folder_target_whose_parents_do_not_exist_yet_is_made(project, tmp_path):
    """As build/mwaa-bucket/ on a fresh clone, which has no build/ yet."""
    folder = tmp_path / "build/targets/mwaa-bucket"
    assert stamp.write(project, stamp.tree_hash(project), "full")

    code = cli.main(["--repo", str(project), "--skip-gate-run", "--target", str(folder)], out=io.StringIO())

    assert code == cli.OK
    assert (folder / "dags/redshift__01_first.py").read_text() == "FIRST = 1\n"

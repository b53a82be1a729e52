"""Releases on a real S3 API (moto's server, versioned bucket) and on a folder: every sync that changes the
target records one, `--releases` lists them, `--rollback` restores one by version (one CopyObject per key
that differs, no upload of content, no working tree) and is recorded itself."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from datetime import datetime, timezone

import pytest
from tests.deploy.support import bucket_contents, ci_log, commit_all, is_release_record, managed_contents

from deploy import cli, releases, stamp
from deploy.bundle import BundleFile
from deploy.targets import LOCK_NAME, DirectoryTarget, Holder, S3Target
from gate import inventory


def stamped(project):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return project


def run(repo, s3, *args):
    out = io.StringIO()
    code = cli.main(
        ["--repo", str(repo), "--skip-gate-run", *args], s3_client=s3.client if s3 else None, out=out
    )
    return code, out.getvalue()


def two_releases(project, s3, target: str) -> tuple[dict, dict]:
    """Sync the project (release 1), change, add and delete files and sync again (release 2). Returns the
    managed contents after each."""
    assert run(stamped(project), s3, "--target", target)[0] == cli.OK
    first = contents(s3, target)
    (project / "dags/redshift__02_second.py").write_text("SECOND = 'two'\n")
    (project / "dags/redshift__03_third.py").write_text("THIRD = 3\n")
    (project / "dags/hudi/schemas/artists.avsc").unlink()
    (project / "plugins/lakehouse/paths.py").write_text("SQL = 'sql'\nNEW = 1\n")
    commit_all(project, "second")
    code, output = says_its_own_time(run, stamped(project), s3, "--target", target)
    assert code == cli.OK, output
    return first, contents(s3, target)


def says_its_own_time(run, *args):
    """run(*args), checking that the duration its last line gives is at most the time the call took."""
    started = time.monotonic()
    code, output = run(*args)
    said = float(re.search(r" in ([0-9.]+)s\n", output)[1])  # the run's own time, not the clock's
    assert 0 <= said <= time.monotonic() - started + 0.1, output
    return code, output


def contents(s3, target: str) -> dict[str, bytes]:
    if target.startswith("s3://"):
        bucket, _, prefix = target.removeprefix("s3://").partition("/")
        prefix = prefix + "/" if prefix else ""
        return {k[len(prefix) :]: v for k, v in managed_contents(s3.client, bucket, prefix).items()}
    root = DirectoryTarget(target).root
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.relative_to(root).as_posix().startswith((".releases/", LOCK_NAME))
    }


def test_every_changing_sync_records_a_release_outside_dags_with_the_versions_it_wrote(project, s3, bucket):
    target = f"s3://{bucket}/env-a"
    two_releases(project, s3, target)
    assert run(project, s3, "--target", target)[0] == cli.OK  # nothing changed: no release

    keys = sorted(key for key in bucket_contents(s3.client, bucket) if is_release_record(key))
    assert keys == ["env-a/.releases/000001.json", "env-a/.releases/000002.json"]
    release = releases.load(S3Target(target, s3.client), 2)
    assert release.kind == releases.SYNC and release.tree == stamp.tree_hash(project)
    assert release.commit == cli.head_commit(project)
    assert "dags/hudi/schemas/artists.avsc" not in release.objects
    for key, item in release.objects.items():  # each recorded version holds exactly the recorded bytes
        old = s3.client.get_object(Bucket=bucket, Key="env-a/" + key, VersionId=item.version)["Body"].read()
        assert len(old) == item.size and hashlib.sha256(old).hexdigest() == item.sha256, key


def target_of(kind: str, s3, bucket: str, tmp_path) -> tuple[str, object]:
    """(--target, the target opened) of a prefix of the S3 bucket or of a folder."""
    if kind == "s3":
        return f"s3://{bucket}/env-a", S3Target(f"s3://{bucket}/env-a", s3.client)
    return str(tmp_path / "mwaa-bucket"), DirectoryTarget(tmp_path / "mwaa-bucket")


@pytest.mark.parametrize("kind", ["s3", "folder"])
def test_a_rerun_records_the_release_a_sync_cut_short_before_recording_it(
    project, s3, bucket, tmp_path, kind
):
    """The files of release 2 went up, its record did not (the run was stopped, or crashed, in between): the
    rerun has nothing to upload, and records it, so --releases and --rollback see what is live."""
    target, opened = target_of(kind, s3, bucket, tmp_path)
    _, second = two_releases(project, s3, target)
    lost = releases.load(opened, 2)
    opened.delete([releases.record_key(2)])  # the record lost, as if never written

    code, output = run(project, s3, "--target", target)

    assert code == cli.OK, output
    assert "holds these files, but its live release record does not (a run stopped before" in output
    assert "0 uploaded" in output and "recorded release 2" in output
    again = releases.load(opened, 2)
    assert (again.tree, again.objects, again.dags) == (lost.tree, lost.objects, lost.dags)
    assert releases.numbers(opened) == [1, 2]
    assert "nothing to do" in run(project, s3, "--target", target)[1]  # converged: no release 3
    assert releases.numbers(opened) == [1, 2]
    assert contents(s3, target) == second


def test_a_release_names_the_dags_it_adds_as_starting_paused_on_mwaa(project, tmp_path):
    folder = str(tmp_path / "mwaa-bucket")
    dags = [f"redshift__{n:02d}_table" for n in range(1, 7)]

    def release_with(dag_ids, comment=""):
        inventory_file = project / inventory.RECORDED_PATH
        inventory_file.parent.mkdir(parents=True, exist_ok=True)
        inventory_file.write_text(json.dumps({d: {"file": f"{d}.py", "tasks": []} for d in dag_ids}))
        for dag_id in dag_ids:
            (project / f"dags/{dag_id}.py").write_text(f"DAG_ID = {dag_id!r}\n{comment}")
        commit_all(project, "dags")
        code, output = run(stamped(project), None, "--target", folder)
        assert code == cli.OK, output
        return [line for line in output.splitlines() if "paused" in line]

    first = release_with(dags[:6])
    assert first[0].startswith(
        "new DAGs in this release: redshift__01_table, redshift__02_table, redshift__03_table, "
        "redshift__04_table, redshift__05_table and 1 more. MWAA creates a DAG it has not seen before paused"
    )
    assert first[1] == (
        "  To start one once it is parsed: unpause it in the Airflow UI, or aws mwaa invoke-rest-api --name "
        "<the MWAA environment> --method PATCH --path /dags/redshift__01_table "
        """--body '{"is_paused": false}'"""
    )
    assert release_with(dags[:6] + ["hudi__03_new"])[0].startswith("new DAGs in this release: hudi__03_new. ")
    assert release_with(dags[:6] + ["hudi__03_new"], "# changed\n") == []  # a release, no new DAG


@pytest.mark.parametrize("kind", ["s3", "folder"])
def test_a_rerun_records_the_rollback_a_run_cut_short_before_recording_it(
    project, s3, bucket, tmp_path, kind, capsys
):
    """A rollback whose copies went through but whose record did not: the rerun records it, so the next
    --rollback goes one further back instead of finding nothing to do."""
    target, opened = target_of(kind, s3, bucket, tmp_path)
    first, _ = two_releases(project, s3, target)
    assert run(project, s3, "--target", target, "--rollback")[0] == cli.OK
    opened.delete([releases.record_key(3)])  # the record lost, as if never written

    code, output = run(project, s3, "--target", target, "--rollback")

    assert code == cli.OK, output
    assert "holds these files, but its live release record does not" in output
    recorded = releases.load(opened, 3)
    assert (recorded.kind, recorded.restores, releases.numbers(opened)) == (releases.ROLLBACK, 1, [1, 2, 3])
    assert contents(s3, target) == first
    capsys.readouterr()
    assert run(project, s3, "--target", target, "--rollback")[0] == cli.FAILED  # release 1 was the first
    assert "release 1 is the first recorded; there is none before it" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, error",
    [
        ("{not json", "JSONDecodeError"),
        ('{"redshift__01_first": {"tasks": []}}', "KeyError: 'file'"),
        ('{"redshift__01_first": 3}', "TypeError"),
        ('["redshift__01_first"]', "AttributeError"),
    ],
)
def test_an_inventory_the_sync_cannot_read_refuses_it_before_any_change(
    project, tmp_path, text, error, capsys
):
    folder = tmp_path / "mwaa-bucket"
    (project / inventory.RECORDED_PATH).parent.mkdir(parents=True)
    (project / inventory.RECORDED_PATH).write_text(text)
    commit_all(project, "inventory")

    code, output = run(stamped(project), None, "--target", str(folder))

    assert code == cli.REFUSED, output
    message = capsys.readouterr().err
    assert message.startswith(
        f"refused: {inventory.RECORDED_PATH} is not a DAG inventory as the gate writes it ({error}"
    )
    assert "nothing was changed.\n  Fix: ./run_tests.sh --update-inventory, commit the file" in message
    # Only the folder's lock file, given back empty (it stays: see DirectoryTarget.lock)
    assert [(path.name, path.stat().st_size) for path in folder.rglob("*")] == [(LOCK_NAME, 0)]


def test_releases_lists_the_newest_first_with_the_live_one_marked(project, s3, bucket):
    target = f"s3://{bucket}"
    first_commit = cli.head_commit(project)
    two_releases(project, s3, target)

    code, output = run(project, s3, "--target", target, "--releases")

    assert code == cli.OK, output
    lines = output.splitlines()
    assert lines[0] == f"Releases of {target}/ (newest first; 2 recorded):"
    assert lines[1].startswith("*    2 ") and cli.head_commit(project)[:12] in lines[1]
    assert lines[2].startswith("     1 ") and first_commit[:12] in lines[2]
    assert run(project, s3, "--target", target, "--releases", "1")[1].count(" sync ") == 1


def test_releases_of_a_target_without_any(project, s3, bucket):
    code, output = run(project, s3, "--target", f"s3://{bucket}", "--releases")

    assert code == cli.OK and "no releases recorded yet" in output


def test_a_rollback_after_two_releases_restores_the_first_byte_for_byte_by_copying_versions(
    project, s3, bucket, tmp_path
):
    target = f"s3://{bucket}/env-a"
    first, second = two_releases(project, s3, target)
    assert first != second
    recorded = releases.load(S3Target(target, s3.client), 1)
    copies = []
    s3.client.meta.events.register(
        "provide-client-params.s3.CopyObject", lambda params, **_: copies.append(dict(params["CopySource"]))
    )
    s3.reset()
    not_a_checkout = tmp_path / "empty"  # no working tree, no git: the bucket holds everything needed
    not_a_checkout.mkdir()

    code, output = says_its_own_time(run, not_a_checkout, s3, "--target", target, "--rollback")

    assert code == cli.OK, output
    assert contents(s3, target) == first
    # one CopyObject per key that differs, naming the version release 1 recorded; no content uploaded
    changed = ["dags/hudi/schemas/artists.avsc", "dags/redshift__02_second.py", "plugins.zip"]
    assert sorted(source["Key"] for source in copies) == ["env-a/" + key for key in changed]
    assert all(source["VersionId"] == recorded.objects[source["Key"][6:]].version for source in copies)
    assert s3.sent["CopyObject"] == 3 and s3.sent["DeleteObjects"] == 1  # redshift__03_third.py
    assert s3.sent["HeadObject"] == 0  # every listed ETag is an MD5 one of the two releases recorded
    assert s3.put_keys == [f"env-a/{LOCK_NAME}", "env-a/.releases/000003.json"]
    rolled = releases.load(S3Target(target, s3.client), 3)
    assert rolled.kind == releases.ROLLBACK and rolled.restores == 1 and rolled.tree == recorded.tree
    assert "rolled back" in output and "3 restored, 1 deleted" in output


@pytest.mark.parametrize(
    "drifted, heads",
    [(b"FIRST = 9\n", 1), (b"FIRST = 'by hand'\n", 0)],  # the release's own: b"FIRST = 1\n"
    ids=["same size: looked up", "another size: replaced unseen"],
)
def test_an_object_changed_behind_the_sync_is_restored(project, s3, bucket, drifted, heads):
    target = f"s3://{bucket}"
    first, second = two_releases(project, s3, target)
    s3.client.put_object(Bucket=bucket, Key="dags/redshift__01_first.py", Body=drifted)
    s3.reset()

    assert run(project, s3, "--target", target, "--rollback")[0] == cli.OK

    assert contents(s3, target) == first
    assert s3.sent["HeadObject"] == heads and s3.sent["CopyObject"] == 4  # the drifted key is one of them


def test_a_rollback_is_itself_a_release_and_the_next_goes_one_further_back(project, s3, bucket):
    target = f"s3://{bucket}"
    first, second = two_releases(project, s3, target)
    (project / "dags/redshift__04_fourth.py").write_text("FOURTH = 4\n")
    commit_all(project, "third")
    assert run(stamped(project), s3, "--target", target)[0] == cli.OK  # release 3

    assert run(project, s3, "--target", target, "--rollback")[0] == cli.OK  # release 4 = release 2
    assert contents(s3, target) == second
    assert run(project, s3, "--target", target, "--rollback")[0] == cli.OK  # release 5 = release 1
    assert contents(s3, target) == first

    code, output = run(project, s3, "--target", target, "--rollback", "4")  # back to release 4 (= 2)
    assert code == cli.OK, output
    assert contents(s3, target) == second
    listed = run(project, s3, "--target", target, "--releases")[1]
    assert "rollback to 4" in listed and "rollback to 1" in listed and "rollback to 2" in listed


def test_rolling_back_before_the_first_release_or_to_an_unknown_one_is_refused(project, s3, bucket, capsys):
    target = f"s3://{bucket}"
    assert run(stamped(project), s3, "--target", target)[0] == cli.OK

    assert run(project, s3, "--target", target, "--rollback")[0] == cli.FAILED
    assert "release 1 is the first recorded" in capsys.readouterr().err
    (project / "dags/redshift__02_second.py").write_text("SECOND = 'two'\n")
    commit_all(project, "second")
    assert run(stamped(project), s3, "--target", target)[0] == cli.OK
    capsys.readouterr()
    assert run(project, s3, "--target", target, "--rollback", "7")[0] == cli.FAILED
    assert "no release 7 (recorded: 1-2)" in capsys.readouterr().err
    assert run(project, s3, "--target", target, "--rollback", "latest")[0] == cli.FAILED
    assert "not a release number" in capsys.readouterr().err


def test_a_rollback_dry_run_prints_the_plan_and_changes_nothing(project, s3, bucket):
    target = f"s3://{bucket}"
    two_releases(project, s3, target)
    before = bucket_contents(s3.client, bucket)
    s3.reset()

    code, output = run(project, s3, "--target", target, "--dry-run", "--rollback", "1")

    assert code == cli.OK, output
    assert "~ dags/redshift__02_second.py" in output and "- dags/redshift__03_third.py" in output
    assert "dry run: nothing was changed" in output
    assert s3.sent["CopyObject"] == 0 and s3.sent["PutObject"] == 0 and s3.sent["DeleteObjects"] == 0
    assert bucket_contents(s3.client, bucket) == before


def test_a_rollback_takes_the_lock(project, s3, bucket, capsys):
    target = f"s3://{bucket}"
    two_releases(project, s3, target)
    s3.client.put_object(Bucket=bucket, Key=LOCK_NAME, Body=Holder.here("cafe" * 10, 600).to_bytes())
    s3.reset()

    assert run(project, s3, "--target", target, "--rollback")[0] == cli.FAILED

    assert "another sync holds" in capsys.readouterr().err
    assert s3.sent["CopyObject"] == 0


@pytest.mark.parametrize("asked, named", [([], "rollback previous"), (["1"], "rollback 1")])
def test_a_sync_that_meets_a_rollback_s_lock_names_the_rollback(project, s3, bucket, capsys, asked, named):
    target, locks = f"s3://{bucket}", []
    two_releases(project, s3, target)

    def record(params, **_):
        if params["Key"] == LOCK_NAME:
            locks.append(params["Body"])

    s3.client.meta.events.register("before-parameter-build.s3.PutObject", record)
    assert run(project, s3, "--target", target, "--rollback", *asked)[0] == cli.OK
    s3.client.put_object(Bucket=bucket, Key=LOCK_NAME, Body=locks[0])  # as while the rollback ran

    assert run(project, s3, "--target", target)[0] == cli.FAILED

    error = capsys.readouterr().err
    assert re.search(rf"another sync holds {target}/ \(host [^,]+, pid \d+, {named}, started ", error), error


def test_a_rollback_s_ci_log_has_its_plan_above_its_progress(project, tmp_path, monkeypatch):
    """stdout and stderr through one pipe, as a CI log gets them: the plan before the restore goes up."""
    folder, log = str(tmp_path / "mwaa-bucket"), tmp_path / "ci.log"
    two_releases(project, None, folder)

    with ci_log(log, monkeypatch) as out:
        code = cli.main(
            ["--repo", str(project), "--skip-gate-run", "--target", folder, "--rollback"], out=out
        )

    lines = log.read_text().splitlines()
    assert code == cli.OK, lines
    progress = next(i for i, line in enumerate(lines) if line.startswith("uploading "))
    for start in ("rollback of ", "Plan for "):
        assert any(line.startswith(start) for line in lines[:progress]), (start, lines)


def test_a_rollback_to_a_version_the_bucket_no_longer_has_names_the_key(project, s3, bucket, capsys):
    """A lifecycle rule that expires noncurrent versions takes old releases with it."""
    target = f"s3://{bucket}"
    two_releases(project, s3, target)
    gone = releases.load(S3Target(target, s3.client), 1).objects["dags/redshift__02_second.py"]
    s3.client.delete_object(Bucket=bucket, Key=gone.key, VersionId=gone.version)

    assert run(project, s3, "--target", target, "--rollback")[0] == cli.FAILED

    error = capsys.readouterr().err
    assert "dags/redshift__02_second.py" in error and "nothing was deleted" in error


def test_a_folder_target_keeps_one_copy_of_each_content_and_rolls_back_byte_for_byte(project, tmp_path):
    folder = str(tmp_path / "mwaa-bucket")
    first, second = two_releases(project, None, folder)
    kept = sorted((tmp_path / "mwaa-bucket/.releases/objects").iterdir())
    record = json.loads((tmp_path / "mwaa-bucket/.releases/000002.json").read_text())
    every_content = {item["sha256"] for n in (1, 2) for item in releases_of(tmp_path, n).values()}
    assert sorted(path.name for path in kept) == sorted(every_content)
    assert record["objects"]["dags/redshift__03_third.py"]["version"] is None

    code, output = run(project, None, "--target", folder, "--rollback")

    assert code == cli.OK, output
    assert contents(None, folder) == first
    assert sorted((tmp_path / "mwaa-bucket/.releases/objects").iterdir()) == kept  # nothing new to keep


def releases_of(tmp_path, number: int) -> dict:
    path = tmp_path / f"mwaa-bucket/.releases/{number:06d}.json"
    return json.loads(path.read_text())["objects"]


def test_the_listing_shows_the_last_10_by_default_each_in_one_aligned_line(project, tmp_path):
    folder = str(tmp_path / "mwaa-bucket")
    two_releases(project, None, folder)
    for number in range(3, 13):  # releases 3..12: rollbacks to 1 and 2 in turn
        assert run(project, None, "--target", folder, "--rollback", str((number + 1) % 2 + 1))[0] == cli.OK
    target = DirectoryTarget(folder)
    first, second, twelfth = (releases.load(target, number) for number in (1, 2, 12))

    code, output = run(project, None, "--target", folder, "--releases")

    lines = output.splitlines()
    assert code == cli.OK and lines[0] == f"Releases of {target} (newest first; 12 recorded):"
    assert [line[:7] for line in lines[1:-1]] == ["*   12 "] + [f"  {n:>4} " for n in range(11, 2, -1)]
    assert lines[1] == (
        f"*   12  {twelfth.created}  rollback to 2   commit {second.commit[:12]} tree {second.tree[:12]}  "
        f"{len(second.objects)} objects"
    )
    listed = run(project, None, "--target", folder, "--releases", "12")[1].splitlines()
    assert listed[-2] == (
        f"     1  {first.created}  sync            commit {first.commit[:12]} tree {first.tree[:12]}  "
        f"{len(first.objects)} objects"
    )


def test_each_recorded_release_is_named_where_it_lies(project, s3, bucket, tmp_path):
    folder = tmp_path / "mwaa-bucket"
    printed = []
    for target in (str(folder), f"s3://{bucket}/env-a"):
        output = run(stamped(project), s3, "--target", target)[1]
        printed += [line for line in output.splitlines() if line.startswith("recorded release ")]

    assert printed == [
        f"recorded release 1 ({folder}/.releases/000001.json)",
        f"recorded release 1 (s3://{bucket}/env-a/.releases/000001.json)",
    ]
    assert (folder / ".releases/000001.json").is_file()


@pytest.mark.parametrize(
    "record, error",
    [
        (b'{"number": 2, "objects": {', "Expecting property name"),  # cut short: not JSON
        (b'["a", "list"]', "list indices must be integers"),  # JSON, but no record
        (b'{"number": 2}', "'objects'"),  # a record without its objects
    ],
)
def test_a_damaged_release_record_is_named_with_its_fix_and_the_sync_changes_nothing(
    project, tmp_path, capsys, record, error
):
    folder = tmp_path / "mwaa-bucket"
    two_releases(project, None, str(folder))
    (folder / ".releases/000002.json").write_bytes(record)
    (project / "dags/redshift__03_third.py").write_text("THIRD = 'three'\n")
    commit_all(project, "third")
    before = contents(None, str(folder))
    capsys.readouterr()  # the two syncs' progress

    listed = run(project, None, "--target", str(folder), "--releases")
    synced = run(stamped(project), None, "--target", str(folder))

    assert (listed[0], synced[0]) == (cli.FAILED, cli.FAILED)
    stderr = capsys.readouterr().err.splitlines()
    assert len(stderr) == 2 and stderr[0] == stderr[1], stderr
    assert stderr[0].startswith(
        f"error: {DirectoryTarget(str(folder))}.releases/000002.json: not a release record ("
    )
    assert error in stderr[0]
    assert stderr[0].endswith(
        "). Fix: restore the object from an earlier version (the bucket keeps them), or delete it to forget "
        "that release."
    )
    assert contents(None, str(folder)) == before
    assert (folder / ".releases/000002.json").read_bytes() == record


def test_a_release_is_dated_in_whole_seconds_in_utc(project, tmp_path):
    """As the listing shows it, in a column of one width (no microseconds)."""
    folder = str(tmp_path / "mwaa-bucket")
    before = datetime.now(timezone.utc).replace(microsecond=0)

    assert run(stamped(project), None, "--target", folder)[0] == cli.OK

    created = releases.load(DirectoryTarget(folder), 1).created
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", created), created
    assert before <= datetime.fromisoformat(created) <= datetime.now(timezone.utc)


def a_release_object(key: str, data: bytes) -> releases.ReleaseObject:
    """The release object a sync of `data` under `key` records (before its version is known)."""
    return releases.from_bundle({key: BundleFile(key, data)}, {})[key]


@pytest.mark.parametrize("found", [b"EDITED = 1\n", None], ids=["edited", "deleted"])
def test_a_folder_release_is_not_recorded_when_a_file_changed_before_its_copy_was_kept(tmp_path, found):
    """Between the sync's write and its record, someone edits or deletes the file: the copy the folder keeps
    for rollbacks would not be the content the release names."""
    target = DirectoryTarget(str(tmp_path / "mwaa-bucket"))
    if found is not None:
        target.put("dags/a.py", found, hashlib.sha256(found).hexdigest())
    item = a_release_object("dags/a.py", b"A = 1\n")

    with pytest.raises(releases.ReleaseError) as refused:
        releases.record(target, {item.key: item}, "tree", "commit", {}, None)

    assert (
        str(refused.value) == f"{target}: dags/a.py changed while the release was recorded. Fix: sync again."
    )
    assert releases.numbers(target) == [] and target.keys(releases.CONTENT_PREFIX) == []


def test_a_folder_rollback_refuses_a_kept_copy_that_was_altered(tmp_path):
    target = DirectoryTarget(str(tmp_path / "mwaa-bucket"))
    item = a_release_object("dags/a.py", b"A = 1\n")
    target.put(releases.CONTENT_PREFIX + item.sha256, b"A = 2\n", item.sha256)

    with pytest.raises(releases.ReleaseError) as refused:
        releases.restorer(target)(item)

    assert str(refused.value) == (
        f"{target}{releases.CONTENT_PREFIX}{item.sha256}: the kept copy of dags/a.py is gone or altered. "
        "Fix: roll back to another release (./sync_dags.sh --releases lists them), or check out that "
        "release's commit and sync it."
    )
    assert target.get("dags/a.py") is None


def test_rolling_back_again_to_the_live_content_restores_a_file_changed_by_hand_and_records_it(
    project, tmp_path
):
    folder = tmp_path / "mwaa-bucket"
    first, _ = two_releases(project, None, str(folder))
    assert (
        run(project, None, "--target", str(folder), "--rollback", "1")[0] == cli.OK
    )  # release 3: 1's content
    (folder / "dags/redshift__01_first.py").write_text("FIRST = 'by hand'\n")

    code, output = run(project, None, "--target", str(folder), "--rollback", "1")

    assert code == cli.OK, output
    assert "rolled back" in output and "1 restored" in output
    assert contents(None, str(folder)) == first
    assert releases.numbers(DirectoryTarget(str(folder))) == [1, 2, 3, 4]
    assert releases.load(DirectoryTarget(str(folder)), 4).restores == 1

"""One sync per target at a time: two syncs against the real S3 server (and two processes on one folder).

S3: a lock object `.sync_dags.lock`, created with a conditional write (If-None-Match: *), naming its holder
and its expiry; taken over only when expired (If-Match on the expired lock's ETag). moto's server enforces
both conditions (it answers 412 PreconditionFailed); the tests also check the headers as the server received
them.
Folders: an exclusive fcntl lock on `<folder>/.sync_dags.lock`, which the OS drops when its holder dies.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy import bundle as bundling
from deploy import cli, stamp
from deploy.targets import Holder, LockBusy, S3Target
from tests.deploy.support import (
    CountingS3,
    bucket_contents,
    commit_all,
    git,
    is_release_record,
    lock_lifetimes,
    managed_contents,
)
import repository

LOCK_KEY = ".sync_dags.lock"


def run(project, s3_client, *args):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    out = io.StringIO()
    code = cli.main(["--repo", str(project), "--skip-gate-run", *args], s3_client=s3_client, out=out)
    return code, out.getvalue()


def head_commit(project) -> str:
    return git(project, "rev-parse", "HEAD").strip()


def a_lock(expires: datetime) -> bytes:
    return json.dumps(
        {
            "host": "ci-runner-7",
            "pid": 4242,
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "started": (expires - timedelta(hours=1)).isoformat(timespec="seconds"),
            "expires": expires.isoformat(timespec="seconds"),
        }
    ).encode()


def lock_exists(s3, bucket) -> bool:
    return s3.client.list_objects_v2(Bucket=bucket, Prefix=LOCK_KEY).get("KeyCount", 0) > 0


def release_lock(other: CountingS3, bucket: str) -> None:
    """Another sync's release of the lock on the versioned bucket: every version of it deleted."""
    for version in other.client.list_object_versions(Bucket=bucket, Prefix=LOCK_KEY)["Versions"]:
        other.client.delete_object(Bucket=bucket, Key=LOCK_KEY, VersionId=version["VersionId"])


def test_two_syncs_of_two_trees_to_one_bucket_at_once(project, s3, bucket, tmp_path, capsys):
    """The first holds the lock while it uploads; the second exits non-zero naming it, and writes nothing."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(project), str(other))
    git(other, "config", "user.email", "dev@example.com")
    git(other, "config", "user.name", "Dev")
    (other / "dags/redshift__01_first.py").write_text("FIRST = 'other tree'\n")
    (other / "dags/redshift__05_other.py").write_text("OTHER = 5\n")
    commit_all(other)
    first, second = CountingS3(), CountingS3()
    uploading, go_on = threading.Event(), threading.Event()

    def pause_at_first_upload(request, **_):  # the first sync is mid-upload while the second starts
        if LOCK_KEY not in request.url and not uploading.is_set():
            uploading.set()
            assert go_on.wait(60)

    first.client.meta.events.register("before-send.s3.PutObject", pause_at_first_upload)
    results = {}
    thread = threading.Thread(
        target=lambda: results.update(first=run(project, first.client, "--target", f"s3://{bucket}"))
    )
    thread.start()
    try:
        assert uploading.wait(60)
        code, _ = run(other, second.client, "--target", f"s3://{bucket}")
    finally:
        go_on.set()
        thread.join(60)

    assert code == cli.FAILED
    error = capsys.readouterr().err
    assert f"another sync holds s3://{bucket}/" in error and head_commit(project)[:12] in error
    assert f"pid {os.getpid()}" in error and "expires" in error
    assert second.sent["PutObject"] == 1 and second.put_keys == [LOCK_KEY]  # the refused lock, nothing else
    assert results["first"][0] == cli.OK, results["first"][1]
    expected = {key: item.data for key, item in bundling.build(project).items()}
    assert managed_contents(s3.client, bucket) == expected  # the first tree, whole; the lock is gone
    assert [key for key in bucket_contents(s3.client, bucket) if is_release_record(key)] == [
        ".releases/000001.json"  # the first sync's record only
    ]


def test_the_lock_is_a_conditional_write_and_a_live_lock_is_never_overwritten(
    project, s3, bucket, s3_server, capsys
):
    live = a_lock(datetime.now(timezone.utc) + timedelta(minutes=30))
    s3.client.put_object(Bucket=bucket, Key=LOCK_KEY, Body=live)
    mark = s3_server.mark()

    code, _ = run(project, s3.client, "--target", f"s3://{bucket}")

    assert code == cli.FAILED
    writes = [
        (m, key, headers)
        for m, key, _, headers in s3_server.since(mark, bucket)
        if m in ("PUT", "DELETE", "POST")
    ]
    assert writes == [("PUT", LOCK_KEY, {"If-None-Match": "*", "If-Match": None})]
    assert s3.client.get_object(Bucket=bucket, Key=LOCK_KEY)["Body"].read() == live
    error = capsys.readouterr().err
    assert "host ci-runner-7, pid 4242, commit 0123456789ab, started " in error
    assert "Fix: wait for it to finish" in error


def test_an_expired_lock_is_taken_over_with_a_write_conditional_on_its_etag(project, s3, bucket, s3_server):
    s3.client.put_object(
        Bucket=bucket, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) - timedelta(minutes=1))
    )
    expired_etag = s3.client.head_object(Bucket=bucket, Key=LOCK_KEY)["ETag"]
    mark = s3_server.mark()

    code, output = run(project, s3.client, "--target", f"s3://{bucket}")

    assert code == cli.OK, output
    lock_puts = [
        headers for m, key, _, headers in s3_server.since(mark, bucket) if m == "PUT" and key == LOCK_KEY
    ]
    assert lock_puts == [
        {"If-None-Match": "*", "If-Match": None},
        {"If-None-Match": None, "If-Match": expired_etag},
    ]
    assert "took over an expired lock" in output
    assert not lock_exists(s3, bucket)


def test_an_unreadable_lock_is_taken_over_as_an_expired_one_and_said_so(project, s3, bucket):
    """A lock no sync could have written (cut short, or another tool's) cannot hold the target forever."""
    s3.client.put_object(Bucket=bucket, Key=LOCK_KEY, Body=b'{"host": "ci-runner-7", "pid"')

    code, output = run(project, s3.client, "--target", f"s3://{bucket}")

    assert code == cli.OK, output
    assert output.splitlines()[1] == (
        "took over an expired lock (host unknown, pid 0, commit unknown, started unknown, expires unreadable)"
    )
    assert not lock_exists(s3, bucket)


def lock_expiring(expires: str) -> bytes:
    """A lock of a sync's own form whose expiry is the text given."""
    fields = json.loads(a_lock(datetime.now(timezone.utc)))
    return json.dumps({**fields, "expires": expires}).encode()


def test_a_lock_whose_expiry_is_no_date_is_taken_over_as_an_expired_one(project, s3, bucket):
    s3.client.put_object(Bucket=bucket, Key=LOCK_KEY, Body=lock_expiring("after the nightly load"))

    code, output = run(project, s3.client, "--target", f"s3://{bucket}")

    assert code == cli.OK, output
    assert output.splitlines()[1].startswith("took over an expired lock (host ci-runner-7, pid 4242, ")
    assert output.splitlines()[1].endswith(", expires after the nightly load)")
    assert not lock_exists(s3, bucket)


def test_an_expiry_without_a_time_zone_is_read_as_utc(project, s3, bucket, capsys):
    """Every lock a sync writes names UTC; one written by hand without an offset is read the same way."""
    live = (datetime.now(timezone.utc) + timedelta(minutes=30)).replace(tzinfo=None)
    s3.client.put_object(Bucket=bucket, Key=LOCK_KEY, Body=lock_expiring(live.isoformat(timespec="seconds")))

    assert run(project, s3.client, "--target", f"s3://{bucket}")[0] == cli.FAILED
    assert "another sync holds" in capsys.readouterr().err
    assert lock_exists(s3, bucket)

    s3.client.put_object(
        Bucket=bucket, Key=LOCK_KEY, Body=lock_expiring((live - timedelta(hours=1)).isoformat())
    )
    code, output = run(project, s3.client, "--target", f"s3://{bucket}")
    assert code == cli.OK, output
    assert "took over an expired lock (host ci-runner-7" in output


def test_the_lock_is_released_when_the_sync_fails(project, s3, bucket):
    def refuse_plugins(request, **_):
        if "plugins.zip" in request.url:
            raise ConnectionResetError("connection reset by peer")

    s3.client.meta.events.register("before-send.s3.PutObject", refuse_plugins)
    assert run(project, s3.client, "--target", f"s3://{bucket}")[0] == cli.FAILED

    assert not lock_exists(s3, bucket)


def test_a_dry_run_takes_no_lock(project, s3, bucket):
    s3.client.put_object(
        Bucket=bucket, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) + timedelta(minutes=5))
    )

    code, output = run(project, s3.client, "--target", f"s3://{bucket}", "--dry-run")

    assert code == cli.OK, output


HOLD = """
import sys
from pathlib import Path
from deploy.targets import DirectoryTarget, Holder
with DirectoryTarget(Path(sys.argv[1])).lock(Holder.here(commit="feedfacecafe", ttl_seconds=600)):
    print("held", flush=True)
    sys.stdin.read()
"""


def hold_folder_lock(folder: Path) -> subprocess.Popen:
    """Another process holding the folder's lock through the same code the CLI uses."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        cwd=repository.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_sync_to_a_locked_folder_exits_non_zero_naming_the_holder(project, tmp_path, capsys):
    folder = tmp_path / "bucket"
    holder = hold_folder_lock(folder)
    try:
        code, _ = run(project, None, "--target", str(folder))
        assert code == cli.FAILED
        error = capsys.readouterr().err
        assert (
            f"another sync holds {folder}" in error
            and f"pid {holder.pid}" in error
            and "feedfacecafe" in error
        )
        assert not (folder / "dags").exists()
    finally:
        holder.stdin.close()
        holder.wait(30)

    assert run(project, None, "--target", str(folder))[0] == cli.OK  # released with its holder


def test_a_folder_lock_dies_with_its_holder(project, tmp_path):
    folder = tmp_path / "bucket"
    holder = hold_folder_lock(folder)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)

    code, output = run(project, None, "--target", str(folder))

    assert code == cli.OK, output


def test_a_lock_released_between_the_refused_write_and_the_read_is_taken(project, s3, bucket):
    """The holder finishes just after our conditional write was refused: the read finds no lock; try again."""
    s3.client.put_object(
        Bucket=bucket, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) + timedelta(minutes=5))
    )
    holder = CountingS3()  # the other sync, releasing at that moment

    def release_first(request, **_):
        if LOCK_KEY in request.url and lock_exists(holder, bucket):
            release_lock(holder, bucket)

    s3.client.meta.events.register("before-send.s3.GetObject", release_first)
    s3.reset()

    code, output = run(project, s3.client, "--target", f"s3://{bucket}")

    assert code == cli.OK, output
    assert s3.put_keys.count(LOCK_KEY) == 2 and not lock_exists(s3, bucket)


def test_a_lock_that_changes_hands_at_each_of_two_tries_is_busy_and_named(s3, bucket, s3_server):
    """Twice in a row another sync takes the lock just before our conditional write and releases it just
    before our read: the sync gives up as for a held lock, not with S3's NoSuchKey."""
    other = CountingS3()

    def other_takes_it(params, **_):
        if params.get("IfNoneMatch"):
            other.client.put_object(
                Bucket=bucket, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) + timedelta(minutes=5))
            )

    def other_releases_it(params, **_):
        if params.get("Key") == LOCK_KEY:
            release_lock(other, bucket)

    s3.client.meta.events.register("before-parameter-build.s3.PutObject", other_takes_it)
    s3.client.meta.events.register("before-parameter-build.s3.GetObject", other_releases_it)
    mark = s3_server.mark()

    with pytest.raises(LockBusy) as busy:
        with S3Target(f"s3://{bucket}", s3.client).lock(Holder.here("mine", 600)):
            raise AssertionError("the lock was taken")

    assert str(busy.value) == (
        f"another sync holds s3://{bucket}/ (holder unknown: the lock was just created); nothing was "
        "changed. Fix: wait for it to finish and rerun; other syncs took and released it twice while this "
        f"one tried to (lock: s3://{bucket}/{LOCK_KEY})."
    )
    tries = [
        ("PUT", None),
        ("PUT", "*"),
        ("DELETE", None),
        ("GET", None),
    ]  # theirs, ours refused, theirs, ours
    assert [
        (method, headers["If-None-Match"])
        for method, key, _, headers in s3_server.since(mark, bucket)
        if key == LOCK_KEY
    ] == tries * 2
    assert not lock_exists(s3, bucket)


def test_a_lock_outlives_the_environment_wait_by_30_minutes(project, s3, bucket):
    lifetimes = lock_lifetimes(s3)

    assert run(project, s3.client, "--target", f"s3://{bucket}")[0] == cli.OK  # the default wait: 40 min
    (project / "dags/redshift__01_first.py").write_text("FIRST = 'again'\n")
    commit_all(project)
    assert run(project, s3.client, "--target", f"s3://{bucket}", "--wait-minutes", "5")[0] == cli.OK
    assert (
        run(project, s3.client, "--target", f"s3://{bucket}", "--rollback", "--wait-minutes", "5")[0]
        == cli.OK
    )

    assert lifetimes == [timedelta(minutes=70), timedelta(minutes=35), timedelta(minutes=35)]


def test_of_two_syncs_taking_over_one_expired_lock_the_later_write_is_refused_and_says_so(s3, bucket):
    """Both read the expired lock; the other's conditional write lands first, so S3 refuses ours (412)."""
    s3.client.put_object(
        Bucket=bucket, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) - timedelta(minutes=5))
    )
    other = CountingS3()

    def other_takes_it_over_first(params, **_):
        if params.get("IfMatch"):
            expired = other.client.get_object(Bucket=bucket, Key=LOCK_KEY)["ETag"]
            mine = a_lock(datetime.now(timezone.utc) + timedelta(hours=1))
            other.client.put_object(Bucket=bucket, Key=LOCK_KEY, Body=mine, IfMatch=expired)

    s3.client.meta.events.register("before-parameter-build.s3.PutObject", other_takes_it_over_first)

    with pytest.raises(LockBusy, match="another sync took over the expired lock first"):
        with S3Target(f"s3://{bucket}", s3.client).lock(Holder.here("mine", 600)):
            raise AssertionError("the lock was taken twice")
    assert (
        json.loads(other.client.get_object(Bucket=bucket, Key=LOCK_KEY)["Body"].read())["host"]
        == "ci-runner-7"
    )


def test_on_an_unversioned_bucket_the_lock_is_deleted_only_while_it_is_still_ours(s3, bucket):
    plain = bucket + "-plain"
    s3.client.create_bucket(Bucket=plain)
    target = S3Target(f"s3://{plain}", s3.client)

    with target.lock(Holder.here("mine", 600)):
        assert lock_exists(s3, plain)
    assert not lock_exists(s3, plain)

    with target.lock(Holder.here("mine", 1)):  # ours expires, and another sync takes it over meanwhile
        s3.client.put_object(
            Bucket=plain, Key=LOCK_KEY, Body=a_lock(datetime.now(timezone.utc) + timedelta(hours=1))
        )
    assert (
        json.loads(s3.client.get_object(Bucket=plain, Key=LOCK_KEY)["Body"].read())["host"] == "ci-runner-7"
    )


def test_a_lock_s_times_are_whole_seconds_in_utc():
    """As its holder is named in a refusal ("... since 2026-01-01T12:00:00+00:00"), without microseconds."""
    holder = Holder.here("0123456789ab", 3600)

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", holder.started), holder.started
    assert datetime.fromisoformat(holder.expires) - datetime.fromisoformat(holder.started) == timedelta(
        hours=1
    )

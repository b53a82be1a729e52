"""--target: where a folder may be, what an S3 URL may hold, and one clear line (no traceback) for bad input
and OS errors."""

from __future__ import annotations

import hashlib
import io
import os

import botocore.exceptions
import pytest

from deploy import cli, stamp, targets
from deploy.targets import DirectoryTarget, S3Target
from tests.deploy.support import commit_all


def sync(project, *args):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    out = io.StringIO()
    code = cli.main(["--repo", str(project), "--skip-gate-run", *args], out=out)
    return code, out.getvalue()


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    "target, phrase",
    [
        ("", "empty"),
        (".", "inside the repository"),
        ("dags/out", "inside the repository"),
        ("plugins", "inside the repository"),
        ("build", "inside the repository"),
    ],
)
def test_a_folder_inside_the_repository_is_refused_and_nothing_is_written(
    project, monkeypatch, capsys, target, phrase
):
    monkeypatch.chdir(project)
    assert stamp.write(project, stamp.tree_hash(project), "full")
    before = sorted(str(p) for p in project.rglob("*") if ".git" not in p.parts)

    code, _ = sync(project, "--target", target)

    assert code == cli.USAGE
    assert phrase in one_line(capsys.readouterr().err)
    assert sorted(str(p) for p in project.rglob("*") if ".git" not in p.parts) == before


def test_a_folder_above_the_repository_is_refused(project, tmp_path, capsys):
    """<parent>/dags/ is where stale files are deleted: a repository under it would lose its sources."""
    code, _ = sync(project, "--target", str(project.parent), "--dry-run")

    assert code == cli.USAGE
    assert "contains the repository" in one_line(capsys.readouterr().err)


def test_the_filesystem_root_is_refused(project, capsys):
    code, _ = sync(project, "--target", "/", "--dry-run")  # a dry run: the unfixed sync would write /dags

    assert code == cli.USAGE
    assert "the filesystem root" in one_line(capsys.readouterr().err)


def test_a_folder_under_build_is_accepted(project, monkeypatch):
    monkeypatch.chdir(project)

    code, output = sync(project, "--target", "build/staging")

    assert code == cli.OK, output
    assert (project / "build/staging/dags/redshift__01_first.py").exists()


@pytest.mark.parametrize(
    "target, phrase",
    [
        ("s3://bucket/../x", "'..'"),
        ("s3://bucket/env/./x", "'.'"),
        ("s3://bucket/env//x", "empty"),
        ("s3://", "no bucket"),
        ("s3://Bad_Bucket", "bucket name"),
        ("s3://bucket/caf\udce9", "UTF-8"),  # how Python hands over a non-UTF-8 command-line byte
    ],
)
def test_a_bad_s3_url_is_bad_usage_in_one_line(project, s3, capsys, target, phrase):
    code, _ = sync(project, "--target", target)

    assert code == cli.USAGE
    assert phrase in one_line(capsys.readouterr().err)
    assert s3.sent["PutObject"] == 0


def test_an_os_error_is_one_line_naming_the_path(project, tmp_path, capsys):
    """A file the sync cannot read (here: EIO, as from a failing disk) ends in one line, not a traceback."""
    folder = tmp_path / "bucket"
    (folder / "dags").mkdir(parents=True)
    os.symlink("/proc/self/mem", folder / "dags/unreadable.py")  # reading it from offset 0 fails with EIO

    code, _ = sync(project, "--target", str(folder))

    assert code == cli.FAILED
    line = one_line(capsys.readouterr().err)
    assert str(folder / "dags/unreadable.py") in line and "Input/output error" in line


def test_a_target_that_is_a_file_is_one_line(project, tmp_path, capsys):
    (tmp_path / "bucket").write_text("a file, not a folder\n")

    code, _ = sync(project, "--target", str(tmp_path / "bucket"))

    assert code == cli.FAILED
    assert str(tmp_path / "bucket") in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_a_file_name_that_is_not_utf8_is_one_line_naming_it_and_nothing_goes_up(
    project, tmp_path, capsys, kind, request
):
    (project / os.fsdecode(b"dags/caf\xe9.sql")).write_text("select 1;\n")
    commit_all(project)
    if kind == "s3":
        s3, bucket = request.getfixturevalue("s3"), request.getfixturevalue("bucket")
        stamp.write(project, stamp.tree_hash(project), "full")
        out = io.StringIO()
        code = cli.main(
            ["--repo", str(project), "--skip-gate-run", "--target", f"s3://{bucket}"],
            s3_client=s3.client,
            out=out,
        )
        shipped = [key for key in s3.put_keys if key != ".sync_dags.lock"]
    else:
        code, _ = sync(project, "--target", str(tmp_path / "bucket"))
        shipped = [p for p in (tmp_path / "bucket").rglob("*") if p.is_file() and p.name != ".sync_dags.lock"]

    assert code == cli.USAGE
    assert "not valid UTF-8: 'dags/caf\ufffd.sql'" in one_line(capsys.readouterr().err)
    assert shipped == []


def test_reading_a_key_gives_its_bytes_none_when_it_is_missing_and_raises_any_other_error(
    s3, bucket, tmp_path
):
    """What the release records are read with: a missing record is None on both targets (S3: NoSuchKey), while
    any other error (here a bucket that does not exist) is raised, never taken for a missing record."""
    data = b"A = 1\n"
    for target in (S3Target(f"s3://{bucket}/env-a", s3.client), DirectoryTarget(tmp_path / "mwaa-bucket")):
        target.put("dags/a.py", data, hashlib.sha256(data).hexdigest())
        assert (target.get("dags/a.py"), target.get("dags/missing.py")) == (data, None), target
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucket"):
        S3Target(f"s3://{bucket}-gone", s3.client).get("dags/a.py")


def test_a_folder_name_that_is_not_utf8_is_bad_usage_in_one_line(project, tmp_path, capsys):
    folder = str(tmp_path) + "/caf\udce9"  # how Python hands over a non-UTF-8 command-line byte

    code, _ = sync(project, "--target", folder)

    assert code == cli.USAGE
    assert "not valid UTF-8. Fix: use a folder name in UTF-8." in one_line(capsys.readouterr().err)
    assert not os.path.lexists(folder)


@pytest.mark.parametrize(
    "etag, md5",
    [
        ('"0123456789abcdef0123456789abcdef"', "0123456789abcdef0123456789abcdef"),  # single-part: the MD5
        ('"0123456789abcdef0123456789abcdef-2"', None),  # multipart: an MD5 of the parts' MD5s
        ('"0123456789abcdef"', None),  # no MD5's length (an S3-compatible store's own tag)
        (None, None),  # no ETag listed
    ],
)
def test_only_a_single_part_etag_is_taken_for_the_content_md5(etag, md5):
    assert targets._plain_etag_md5(etag) == md5

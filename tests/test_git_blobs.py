"""git_blobs.read_blobs against a real git repository: contents byte for byte, in one git process."""

from __future__ import annotations

import subprocess

import pytest

import git_blobs


@pytest.fixture
def repo(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def store(repo, content: bytes) -> str:
    done = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=content, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def git_in(repo, calls: list):
    def git(*args: str, stdin: bytes | None = None) -> bytes:
        calls.append(args)
        return subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, check=True).stdout

    return git


def test_every_blob_byte_for_byte_in_one_git_call(repo):
    contents = [
        b"",  # empty: the next header follows at once
        b"plain text\n",
        b"no newline at the end",
        b"\n\nleading newlines\n\n",
        b"1234567890abcdef1234567890abcdef12345678 blob 9\nlooks like a header\n",
        bytes(range(256)) * 3,  # binary, NUL bytes and lone \r included
    ]
    shas = [store(repo, content) for content in contents]
    calls = []
    blobs = git_blobs.read_blobs(git_in(repo, calls), shas)
    assert [blobs[sha] for sha in shas] == contents
    assert list(blobs) == shas  # in the order asked
    assert calls == [("cat-file", "--batch")]


def test_a_sha_asked_twice_is_read_once(repo):
    first, second = store(repo, b"one\n"), store(repo, b"two\n")
    calls = []
    assert git_blobs.read_blobs(git_in(repo, calls), [second, first, second]) == {
        second: b"two\n",
        first: b"one\n",
    }
    assert len(calls) == 1


def test_nothing_asked_runs_no_git(repo):
    calls = []
    assert git_blobs.read_blobs(git_in(repo, calls), []) == {}
    assert calls == []


def test_a_missing_blob_is_named(repo):
    present = store(repo, b"here\n")
    absent = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(git_blobs.MissingBlob, match=f"git has no blob {absent}: {absent} missing"):
        git_blobs.read_blobs(git_in(repo, []), [present, absent])

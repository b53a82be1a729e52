"""Helpers for the deploy tests: git repositories, a request-counting S3 client, bucket contents."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

PROJECT_FILES = {
    ".gitignore": "build/\n__pycache__/\n*.pyc\n",
    "dags/.airflowignore": "sql/\n",
    "dags/redshift__01_first.py": "FIRST = 1\n",
    "dags/redshift__02_second.py": "SECOND = 2\n",
    "dags/hudi/schemas/artists.avsc": '{"type": "record", "name": "artists", "fields": []}\n',
    "sql/redshift/ddl/users.sql": "create table if not exists {{ params.schema }}.users (userid int);\n",
    "plugins/lakehouse/__init__.py": '"""Shared building blocks."""\n',
    "plugins/lakehouse/paths.py": "SQL = 'sql'\n",
    "requirements/requirements.txt": "--constraint https://example.invalid/constraints.txt\n",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A git repository at `path` holding `files` (committed)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    commit_all(path, "initial")
    return path


class CountingS3:
    """A boto3 S3 client whose requests are counted as they leave for the server (retries included)."""

    def __init__(self) -> None:
        import boto3

        self.client = boto3.session.Session().client("s3")
        self.sent: Counter[str] = Counter()
        self.put_keys: list[str] = []
        self.client.meta.events.register("before-send.s3.*", self._count_request)
        self.client.meta.events.register("before-parameter-build.s3.PutObject", self._record_key)

    def _count_request(self, event_name: str, **_kwargs):
        self.sent[event_name.rsplit(".", 1)[-1]] += 1

    def _record_key(self, params: dict, **_kwargs):
        self.put_keys.append(params["Key"])

    def reset(self) -> None:
        self.sent.clear()
        self.put_keys.clear()


def bucket_contents(client, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """{key: bytes} of the latest version of every object under `prefix`."""
    contents = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            contents[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return contents

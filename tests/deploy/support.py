"""Helpers for the deploy tests: git repositories, a request-counting S3 client, bucket contents."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

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


@contextmanager
def ci_log(path: Path, monkeypatch):
    """Yields the stdout to give the sync, writing with stderr into one file as a CI log gets them through one
    pipe: stdout block-buffered (no terminal), stderr line-buffered, so a line reaches the log when it is
    flushed, not when it is printed (read the file after the block)."""
    with open(path, "a", encoding="utf-8") as out, open(path, "a", encoding="utf-8", buffering=1) as err:
        monkeypatch.setattr(sys, "stderr", err)
        yield out


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


# DeleteObjects: "The request can contain a list of up to 1,000 keys" (S3 API reference); moto takes any
# number, so the recording layer refuses more with S3's answer.
MAX_KEYS_PER_DELETE = 1000
MALFORMED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>MalformedXML</Code><Message>The XML you provided '
    b"was not well-formed or did not validate against our published schema</Message></Error>"
)


class RecordingS3Server:
    """moto's S3 server behind a WSGI layer that records every request as it arrives: (method, key, query).

    The order the server saw is the proof of an ordering claim (not the order our code meant to send in).
    A DeleteObjects of more than 1,000 keys is refused as S3 refuses it.
    """

    def __init__(self) -> None:
        import logging

        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.requests: list[tuple[str, str, str, dict]] = []
        self._lock = threading.Lock()
        moto_app = DomainDispatcherApplication(create_backend_app)

        def recording_app(environ, start_response):
            path = unquote(environ.get("PATH_INFO", "/")).lstrip("/")
            headers = {
                "If-None-Match": environ.get("HTTP_IF_NONE_MATCH"),
                "If-Match": environ.get("HTTP_IF_MATCH"),
            }
            with self._lock:
                self.requests.append(
                    (environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), headers)
                )
            if environ["REQUEST_METHOD"] == "POST" and "delete" in parse_qs(
                environ.get("QUERY_STRING", ""), keep_blank_values=True
            ):
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                if len(ElementTree.fromstring(body).findall("{*}Object")) > MAX_KEYS_PER_DELETE:
                    start_response("400 Bad Request", [("Content-Type", "application/xml")])
                    return [MALFORMED_XML]
            return moto_app(environ, start_response)

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", 0, recording_app, threaded=True)
        self.endpoint = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def put_behind(self, bucket: str, keys: list[str], body: bytes) -> None:
        """Objects written straight into the server's store, as another writer's would appear, unrecorded
        (1,001 PUTs through the API take 12 s, these a fraction of a second)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        store = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
        for key in keys:
            store.put_object(bucket, key, body)

    def mark(self) -> int:
        with self._lock:
            return len(self.requests)

    def since(self, mark: int, bucket: str) -> list[tuple[str, str, str, dict]]:
        """The requests for `bucket` received after `mark`, keys relative to the bucket."""
        with self._lock:
            found = self.requests[mark:]
        return [
            (method, path.partition("/")[2], query, headers)
            for method, path, query, headers in found
            if path.partition("/")[0] == bucket
        ]


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


def lock_lifetimes(s3: CountingS3) -> list[timedelta]:
    """expires - started of every sync lock (.sync_dags.lock) the client writes, recorded as it is sent."""
    lifetimes = []

    def record(params, **_):
        if params["Key"].endswith(".sync_dags.lock"):
            holder = json.loads(params["Body"])
            lifetimes.append(
                datetime.fromisoformat(holder["expires"]) - datetime.fromisoformat(holder["started"])
            )

    s3.client.meta.events.register("before-parameter-build.s3.PutObject", record)
    return lifetimes


def is_release_record(key: str) -> bool:
    """A key under a target's .releases/ (the release records, not the bundle)."""
    return "/.releases/" in "/" + key


def managed_contents(client, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """bucket_contents without the release records."""
    return {
        key: data
        for key, data in bucket_contents(client, bucket, prefix).items()
        if not is_release_record(key)
    }


def bucket_contents(client, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """{key: bytes} of the latest version of every object under `prefix`."""
    contents = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            contents[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return contents


class FakeClock:
    """Time that passes only when the sync sleeps between polls (a 40-minute wait takes no real time)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def now(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds

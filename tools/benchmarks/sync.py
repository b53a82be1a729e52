"""PUTs and bytes of a one-file change synced from a fresh checkout: ./sync_dags.sh vs `aws s3 sync --delete`.

    tools/venv.sh python tools/benchmarks/sync.py [--files 500] [--skip-awscli]

Both sync the same bundle (dags/, dags/sql/, plugins.zip, requirements.txt) to two buckets of one in-process
moto S3 server, which counts the requests and request-body bytes it receives. Round 1 uploads everything
from a clone; round 2 changes one file upstream and syncs from a fresh clone (new mtimes), as CI does; round 3
syncs an unchanged fresh clone. Ours runs as the CLI does: under the bucket lock and, from round 2, with an
MWAA environment to keep in step (GetEnvironment answered by botocore's Stubber, as moto has no MWAA: its
time is ours plus the HEADs of the environment files, without MWAA's own latency). The lock's requests are
counted apart from the bundle's.
awscli runs from its own throwaway venv (build/bench-venv): its pins (docutils, rsa) conflict with MWAA's.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections import Counter
from pathlib import Path

import repository

from deploy import bundle as bundling
from deploy import mwaa
from deploy.cli import sync
from deploy.targets import LOCK_NAME, Holder, S3Target


AWSCLI = "awscli==1.41.11"  # the release built on botocore 1.39.11, MWAA 3.0.6's
BENCH_VENV = repository.BUILD / "bench-venv"


class CountingServer:
    """moto's S3 server, behind a WSGI layer that counts requests and body bytes per bucket and method."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.requests: Counter[tuple[str, str]] = Counter()
        self.bytes: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        moto_app = DomainDispatcherApplication(create_backend_app)

        def counting_app(environ, start_response):
            bucket, _, key = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
            method = environ["REQUEST_METHOD"] + (" lock" if key == LOCK_NAME else "")
            with self._lock:
                self.requests[bucket, method] += 1
                self.bytes[bucket, method] += int(environ.get("CONTENT_LENGTH") or 0)
            return moto_app(environ, start_response)

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
        self._server = make_server("127.0.0.1", 0, counting_app, threaded=True)
        self.endpoint = "http://127.0.0.1:%d" % self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def take(self, bucket: str) -> tuple[Counter, Counter]:
        """The requests and bytes `bucket` received since the last take, by method."""
        with self._lock:
            requests = Counter({m: n for (b, m), n in self.requests.items() if b == bucket})
            sent = Counter({m: n for (b, m), n in self.bytes.items() if b == bucket})
            for key in [key for key in self.requests if key[0] == bucket]:
                del self.requests[key], self.bytes[key]
        return requests, sent


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_project(root: Path, files: int) -> Path:
    """A repository whose bundle has `files` objects: DAG files, SQL, schemas, plugins, requirements."""
    repo = root / "origin"
    git(root, "init", "-q", "-b", "main", str(repo))
    (repo / "dags/schemas").mkdir(parents=True)
    (repo / "sql/redshift").mkdir(parents=True)
    (repo / "plugins/lakehouse").mkdir(parents=True)
    (repo / "requirements").mkdir()
    (repo / "dags/.airflowignore").write_text("sql/\nschemas/\n")
    (repo / "plugins/lakehouse/__init__.py").write_text('"""Shared building blocks."""\n')
    (repo / "requirements/requirements.txt").write_text("--constraint https://example.invalid/c.txt\n")
    for n in range(files - 3):  # + .airflowignore, plugins.zip, requirements.txt
        kind = n % 3
        if kind == 0:
            path, text = repo / f"dags/redshift__{n:03d}_load.py", f'"""Load {n}."""\nTABLE = "t{n}"\n' * 20
        elif kind == 1:
            path, text = (
                repo / f"sql/redshift/merge_{n:03d}.sql",
                f"merge into t{n} using s{n} on id = id;\n" * 30,
            )
        else:
            path, text = (
                repo / f"dags/schemas/table_{n:03d}.avsc",
                '{"type": "record", "name": "t%d"}\n' % n * 40,
            )
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "bundle")
    return repo


def fresh_clone(origin: Path, root: Path, name: str) -> Path:
    clone = root / name
    git(root, "clone", "-q", str(origin), str(clone))
    return clone


def awscli() -> Path:
    aws = BENCH_VENV / "bin" / "aws"
    if not aws.exists():
        print(f"installing {AWSCLI} into {BENCH_VENV} (once) ...", flush=True)
        venv.create(BENCH_VENV, with_pip=True)
        subprocess.run([BENCH_VENV / "bin" / "python", "-m", "pip", "install", "-q", AWSCLI], check=True)
    return aws


def sync_with_awscli(aws: Path, clone: Path, root: Path, bucket: str) -> None:
    """What a typical workflow does: lay the bundle out in a fresh folder, then `aws s3 sync --delete`."""
    folder = Path(tempfile.mkdtemp(prefix="layout-", dir=root))
    bundling.write_to(bundling.build(clone), folder)
    subprocess.run(
        [
            aws,
            "s3",
            "sync",
            str(folder),
            f"s3://{bucket}/",
            "--delete",
            "--no-progress",
            "--only-show-errors",
        ],
        check=True,
    )


class EnvironmentReadTime:
    """Seconds spent reading the environment: HEADs of the bucket's environment files, GetEnvironment."""

    seconds = 0.0

    @classmethod
    def timed(cls, method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                cls.seconds += time.perf_counter() - start

        return wrapper


class TimedEnvironment(mwaa.Environment):
    converge = EnvironmentReadTime.timed(mwaa.Environment.converge)


class TimedTarget(S3Target):
    current_versions = EnvironmentReadTime.timed(S3Target.current_versions)


def stubbed_environment(client, bucket: str):
    """An MWAA client whose GetEnvironment answers the bucket's current plugins.zip/requirements.txt."""
    import boto3
    from botocore.stub import Stubber

    mwaa_client = boto3.session.Session().client("mwaa")
    stubber = Stubber(mwaa_client)
    described = {"Name": "bench", "Status": "AVAILABLE"}
    for key, (path_field, version_field, _) in mwaa.PARAMETERS.items():
        if key != bundling.STARTUP_KEY:
            described[path_field] = key
            described[version_field] = client.head_object(Bucket=bucket, Key=key)["VersionId"]
    stubber.add_response("get_environment", {"Environment": described}, {"Name": "bench"})
    stubber.activate()
    return TimedEnvironment(mwaa_client, "bench", mwaa.WORKER_REPLACEMENT[0], out=open(os.devnull, "w"))


def sync_as_the_cli_does(clone: Path, target: S3Target, environment) -> tuple[float, float]:
    """sync() under the lock, as deploy.cli runs it. Returns (seconds in all, seconds taking and releasing
    the lock)."""
    devnull = open(os.devnull, "w")
    start = time.perf_counter()
    with target.lock(Holder.here("bench", 3600)):
        locked = time.perf_counter()
        sync(clone, target, out=devnull, progress=devnull, environment=environment)
        synced = time.perf_counter()
    end = time.perf_counter()
    return end - start, (locked - start) + (end - synced)


def row(label: str, requests: Counter, sent: Counter, seconds: float) -> str:
    other = ", ".join(f"{method} {n}" for method, n in sorted(requests.items()) if method != "PUT")
    return f"  {label:<24} PUT {requests['PUT']:>4}  {sent['PUT']:>9,} bytes  {seconds:6.2f} s   ({other})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="objects in the bundle (default 500)")
    parser.add_argument("--skip-awscli", action="store_true", help="measure ours only (no awscli install)")
    options = parser.parse_args()
    files = options.files
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    aws = None if options.skip_awscli else awscli()
    server = CountingServer()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint  # both clients find the server the normal way

    import boto3

    client = boto3.session.Session().client("s3")
    for bucket in ("ours", "awscli"):
        client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    server.take("ours"), server.take("awscli")

    with tempfile.TemporaryDirectory(prefix="sync-bench-") as scratch:
        root = Path(scratch)
        origin = make_project(root, files)
        built = bundling.build(origin)
        print(f"bundle: {len(built)} objects, {sum(item.size for item in built.values()):,} bytes")
        results, added = [], []
        target = TimedTarget("s3://ours", client=client)
        rounds = (
            ("1 first sync", "clone-1"),
            ("2 one file changed", "clone-2"),
            ("3 nothing changed", "clone-3"),
        )
        for round_name, clone_name in rounds:
            if clone_name == "clone-2":
                time.sleep(1.1)  # S3 LastModified has 1 s resolution: the fresh clone is strictly newer
                path = origin / "sql/redshift/merge_001.sql"
                path.write_text(path.read_text() + "-- one changed line\n")
                git(origin, "-c", "user.name=B", "-c", "user.email=b@example.com", "commit", "-qam", "change")
            clone = fresh_clone(origin, root, clone_name)
            environment = None if clone_name == "clone-1" else stubbed_environment(client, "ours")
            server.take("ours")  # the HEADs that set up the stubbed environment are not the sync's
            EnvironmentReadTime.seconds = 0.0
            seconds, lock_seconds = sync_as_the_cli_does(clone, target, environment)
            ours = (*server.take("ours"), seconds)
            added.append((round_name, lock_seconds, EnvironmentReadTime.seconds if environment else None))
            theirs = None
            if aws is not None:
                start = time.perf_counter()
                sync_with_awscli(aws, clone, root, "awscli")
                theirs = (*server.take("awscli"), time.perf_counter() - start)
            results.append((round_name, ours, theirs))
        print(f"\nrequests received by the S3 server ({files}-object bundle, fresh clone each round):")
        for round_name, ours, theirs in results:
            print(f"round {round_name}")
            print(row("./sync_dags.sh (ours)", *ours))
            if theirs:
                print(row("aws s3 sync --delete", *theirs))
        print("\nwhat the lock and the environment read add to ours:")
        for round_name, lock_seconds, environment_seconds in added:
            read = f"{environment_seconds * 1000:.0f} ms" if environment_seconds is not None else "-"
            print(f"  round {round_name:<20} lock {lock_seconds * 1000:4.0f} ms   environment read {read}")
        counts = [client.list_objects_v2(Bucket=bucket)["KeyCount"] for bucket in ("ours", "awscli")]
        print(f"\nobjects afterwards: ours {counts[0]}, awscli {counts[1]} (bundle: {len(built)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

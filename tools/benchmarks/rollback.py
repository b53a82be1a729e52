"""Requests and time of ./sync_dags.sh --rollback on a 500-object bundle (local S3 server, versioned bucket).

    tools/venv.sh python tools/benchmarks/rollback.py [--files 500] [--changed 1 100]

For each size of change: sync the bundle (a release), change that many files and sync again (the next
release), then roll back as the CLI does (deploy.cli.main: the lock, the release records, the plan, one
CopyObject per changed key, the record of the rollback). The requests are counted as the client sends them,
by operation; the goal is one CopyObject per changed key and no upload of content, in under 2 s.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sync import CountingServer, git, make_project

from deploy import cli, stamp


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", message)
    stamp.write(repo, stamp.tree_hash(repo), "full")


def change(repo: Path, count: int, round_number: int) -> None:
    """Change `count` of the SQL and schema files (not the DAG files: no mass-delete question arises)."""
    files = sorted(repo.glob("sql/redshift/*.sql")) + sorted(repo.glob("dags/schemas/*.avsc"))
    for path in files[:count]:
        path.write_text(path.read_text() + f"-- round {round_number}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="objects in the bundle (default 500)")
    parser.add_argument("--changed", type=int, nargs="+", default=[1, 100], help="keys changed per release")
    options = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    server = CountingServer()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint

    import boto3

    client = boto3.session.Session().client("s3")
    client.create_bucket(Bucket="bench")
    client.put_bucket_versioning(Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
    sent: Counter[str] = Counter()
    client.meta.events.register(
        "before-send.s3.*", lambda event_name, **_: sent.update([event_name.rsplit(".", 1)[-1]])
    )

    def run(repo: Path, *args: str) -> float:
        out = io.StringIO()
        start = time.perf_counter()
        code = cli.main(
            ["--repo", str(repo), "--skip-gate-run", "--target", "s3://bench", *args],
            client,
            out=out,
        )
        seconds = time.perf_counter() - start
        if code != cli.OK:
            raise SystemExit(f"./sync_dags.sh {' '.join(args)} exited {code}:\n{out.getvalue()}")
        return seconds

    with tempfile.TemporaryDirectory(prefix="rollback-bench-") as scratch:
        repo = make_project(Path(scratch), options.files)
        (repo / ".gitignore").write_text("build/\n")  # where the gate stamp goes
        commit(repo, "ignore build/")
        run(repo)
        print(f"bundle: {options.files} objects, synced as release 1\n")
        print(
            f"{'changed keys':>12}  {'sync s':>7}  {'rollback s':>10}  requests of the rollback, by operation"
        )
        for round_number, count in enumerate(options.changed, start=1):
            change(repo, count, round_number)
            commit(repo, f"change {count}")
            sync_seconds = run(repo)
            sent.clear()
            rollback_seconds = run(repo, "--rollback")
            requests = ", ".join(f"{name} {n}" for name, n in sorted(sent.items()))
            print(f"{count:>12}  {sync_seconds:7.2f}  {rollback_seconds:10.2f}  {requests}")
            git(repo, "reset", "-q", "--hard", "HEAD~1")  # the repository follows the bucket back
            stamp.write(repo, stamp.tree_hash(repo), "full")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a bundle goes: an S3 bucket (boto3's normal configuration) or a local folder laid out as one.

Both answer the same questions: what objects are under the managed prefixes and what their content hash is,
put an object (returning its version id when the store keeps versions), delete objects; and both hold a lock,
so that one sync at a time writes to a target.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Mapping, Protocol

from deploy.bundle import DAGS_PREFIX, ENVIRONMENT_KEYS

SHA256_METADATA = "sha256"  # stored as x-amz-meta-sha256 on every object we put
LOOKUP_THREADS = 16
LOCK_NAME = ".sync_dags.lock"  # beside dags/, never inside it: MWAA copies dags/ to every worker
# S3 bucket naming rules (general purpose buckets): 3-63 characters, lowercase letters, digits, dots, hyphens.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class TargetError(RuntimeError):
    """The target cannot be read or written (the message says which and how to fix it)."""


class BadTarget(ValueError):
    """--target names no place the sync may write to (bad usage; the message says why and what to use)."""


class LockBusy(TargetError):
    """Another sync holds the target's lock (the message names it)."""


ROLLBACK = "rollback"  # a rollback's lock names it where a sync's names its commit


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock, and until when (an S3 lock left by a killed sync is taken over after)."""

    host: str
    pid: int
    commit: str
    started: str
    expires: str

    @classmethod
    def here(cls, commit: str, ttl_seconds: float) -> "Holder":
        now = datetime.now(timezone.utc).replace(microsecond=0)
        expires = now + timedelta(seconds=ttl_seconds)
        return cls(socket.gethostname(), os.getpid(), commit, now.isoformat(), expires.isoformat())

    @classmethod
    def for_rollback(cls, requested: str | None, ttl_seconds: float) -> "Holder":
        """A rollback's lock: it names the release restored (None: the one before the live), not a commit."""
        return cls.here(f"{ROLLBACK} {requested or 'previous'}", ttl_seconds)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> "Holder | None":
        try:
            fields = json.loads(data)
            return cls(**{name: fields[name] for name in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError):
            return None

    def expired(self) -> bool:
        try:
            expires = datetime.fromisoformat(self.expires)
        except ValueError:
            return True  # an unreadable expiry cannot keep a target locked forever
        if expires.tzinfo is None:  # written by hand: read as UTC, the zone of every lock a sync writes
            expires = expires.replace(tzinfo=timezone.utc)
        return expires < datetime.now(timezone.utc)

    def describe(self) -> str:
        what = self.commit if self.commit.startswith(f"{ROLLBACK} ") else f"commit {self.commit[:12]}"
        return f"host {self.host}, pid {self.pid}, {what}, started {self.started}, expires {self.expires}"


def _busy(target, lock: str, holder: Holder | None, after_expiry: str) -> LockBusy:
    named = holder.describe() if holder else "holder unknown: the lock was just created"
    return LockBusy(
        f"another sync holds {target} ({named}); nothing was changed. Fix: wait for it to finish and rerun; "
        f"{after_expiry} (lock: {lock})."
    )


class Planned(Protocol):
    """What a sync or a rollback has for a key: a bundle file or a release's object."""

    @property
    def size(self) -> int: ...

    @property
    def md5(self) -> str: ...


@dataclass(frozen=True)
class RemoteObject:
    key: str  # relative to the target prefix
    size: int
    sha256: str | None = None  # from our metadata, when present
    md5: str | None = None  # from a plain single-part ETag, when it is one


def _plain_etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, when it is a single-part one ('"<32 hex>"'); multipart ETags carry '-N'."""
    value = (etag or "").strip('"')
    return value if len(value) == 32 and "-" not in value else None


class DirectoryTarget:
    """A local folder laid out exactly as the bucket (the default: build/mwaa-bucket/)."""

    keeps_versions = False

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __str__(self) -> str:
        return f"{self.root}/"  # as s3://bucket/: a key appended names its file

    def _object(self, key: str) -> RemoteObject | None:
        path = self.root / key
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError as error:  # a failing read() names no file: name it
            raise OSError(error.errno, error.strerror, str(path)) from error
        return RemoteObject(key, len(data), sha256=hashlib.sha256(data).hexdigest())

    def managed_objects(
        self, local: Mapping[str, Planned], recorded_md5: Mapping[str, str] | None = None
    ) -> dict[str, RemoteObject]:
        found = {}
        dags = self.root / DAGS_PREFIX
        if dags.is_dir():
            for path in sorted(p for p in dags.rglob("*") if p.is_file()):
                key = path.relative_to(self.root).as_posix()
                found[key] = self._object(key)
        for key in ENVIRONMENT_KEYS:
            item = self._object(key)
            if item:
                found[key] = item
        return found

    def put(self, key: str, data: bytes, sha256: str) -> str | None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)  # a reader never sees half a file
        return None

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            path = self.root / key
            path.unlink(missing_ok=True)
            folder = path.parent
            while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent

    def get(self, key: str) -> bytes | None:
        """The bytes of `key`, or None when there is no such file."""
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix` (a folder, ending in '/'), sorted."""
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(path.relative_to(self.root).as_posix() for path in folder.rglob("*") if path.is_file())

    @contextlib.contextmanager
    def lock(self, holder: Holder) -> Iterator[None]:
        """An exclusive fcntl lock on <folder>/.sync_dags.lock; the OS drops it when the holder dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_NAME
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise _busy(
                    self, str(path), Holder.from_bytes(handle.read()), "the lock ends with its process"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(holder.to_bytes())
            handle.flush()
            try:
                yield None
            finally:
                handle.truncate(0)  # the file stays: unlinking a lock file lets two holders lock two inodes


class S3Target:
    """s3://bucket[/prefix]: the bucket of an MWAA environment (dags/, plugins.zip, requirements.txt)."""

    keeps_versions = True

    def __init__(self, url: str, client=None) -> None:
        bucket, prefix = parse_s3_url(url)
        self.bucket = bucket
        self.prefix = prefix + "/" if prefix else ""
        if client is None:
            import boto3

            client = boto3.session.Session().client("s3")
        self.client = client

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def full_key(self, key: str) -> str:
        return self.prefix + key

    def _listed(self, prefix: str) -> list[dict]:
        paginator = self.client.get_paginator("list_objects_v2")
        listed = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            listed.extend(page.get("Contents", []))
        return listed

    def _remote_object(
        self, item: dict, local: Mapping[str, Planned], recorded_md5: Mapping[str, str]
    ) -> RemoteObject:
        key = item["Key"][len(self.prefix) :]
        md5 = _plain_etag_md5(item.get("ETag"))
        planned = local.get(key)
        if planned is None or planned.size != item["Size"]:
            # stale (deleted) or of another size (replaced), whatever it holds: no HEAD
            return RemoteObject(key, item["Size"])
        if md5 is not None and md5 in (planned.md5, recorded_md5.get(key)):
            # the listing already shows the content: the local file's, or the one we recorded putting there
            return RemoteObject(key, item["Size"], md5=md5)
        head = self.client.head_object(Bucket=self.bucket, Key=item["Key"])
        if head.get("ServerSideEncryption") == "aws:kms" or head.get("SSECustomerAlgorithm"):
            md5 = None  # SSE-KMS and SSE-C ETags are 32 hex digits but no MD5 of the content
        return RemoteObject(key, item["Size"], sha256=head.get("Metadata", {}).get(SHA256_METADATA), md5=md5)

    def managed_objects(
        self, local: Mapping[str, Planned], recorded_md5: Mapping[str, str] | None = None
    ) -> dict[str, RemoteObject]:
        """Every object under the dags prefix plus the environment files, with what shows their content.

        One LIST per 1000 keys. An object whose listed ETag is the MD5 of the local file of that key, or of
        the content the live release recorded for it (`recorded_md5`: a plain ETag we wrote), is known as it
        stands; every other object the caller has a file of the same size for (`local`) gets a HEAD (in
        parallel) for the sha256 we store in its metadata (multipart and SSE-KMS ETags are not MD5s). An
        object `local` has no file for (stale: deleted) or one of another size (replaced) is only listed.
        """
        recorded_md5 = recorded_md5 or {}
        listed = self._listed(DAGS_PREFIX)
        for key in ENVIRONMENT_KEYS:
            listed.extend(item for item in self._listed(key) if item["Key"] == self.prefix + key)
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            objects = list(pool.map(lambda item: self._remote_object(item, local, recorded_md5), listed))
        return {item.key: item for item in objects}

    def put(self, key: str, data: bytes, sha256: str) -> str | None:
        response = self.client.put_object(
            Bucket=self.bucket, Key=self.full_key(key), Body=data, Metadata={SHA256_METADATA: sha256}
        )
        return response.get("VersionId")

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": self.full_key(key)} for key in keys[start : start + 1000]]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise TargetError(
                    f"{self}: delete of {first['Key']} failed: {first['Code']} {first['Message']}"
                )

    def versioning_enabled(self) -> bool:
        return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"

    def current_versions(self, keys: list[str]) -> dict[str, str | None]:
        """{key: the version id of the object the bucket holds now} (one HEAD each, in parallel)."""

        def version(key: str) -> str | None:
            return self.client.head_object(Bucket=self.bucket, Key=self.full_key(key)).get("VersionId")

        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            return dict(zip(keys, pool.map(version, keys)))

    def get(self, key: str) -> bytes | None:
        """The bytes of `key`, or None when the bucket has no such object."""
        import botocore.exceptions

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"].read()
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix`, relative to the target prefix, sorted (one LIST per 1000)."""
        return sorted(item["Key"][len(self.prefix) :] for item in self._listed(prefix))

    def copy_version(self, key: str, version: str) -> str | None:
        """Make version `version` of `key` its current object again, by one server-side CopyObject (the
        metadata, our sha256 with it, is copied). Returns the new version id."""
        response = self.client.copy_object(
            Bucket=self.bucket,
            Key=self.full_key(key),
            CopySource={"Bucket": self.bucket, "Key": self.full_key(key), "VersionId": version},
        )
        return response.get("VersionId")

    @contextlib.contextmanager
    def lock(self, holder: Holder) -> Iterator[Holder | None]:
        """The lock object <prefix>.sync_dags.lock, created only if absent (If-None-Match: *, which S3 answers
        with 412 when the key exists) and taken over only when expired, by a write conditional on the expired
        lock's ETag (If-Match), so of two syncs taking over one lock exactly one succeeds. Released by
        deleting our own version of it, never a newer holder's. Yields the expired holder it took over, or
        None.
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        """
        key = self.full_key(LOCK_NAME)
        written, taken_over, replaced = self._create_or_take_over(key, holder.to_bytes())
        try:
            yield taken_over
        finally:
            version = written.get("VersionId")
            if version:
                # Deleting a version makes the one before it current again: the expired lock goes as well.
                for stale in (version, replaced) if replaced else (version,):
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=stale)
            else:  # an unversioned bucket: delete only while the lock is still ours
                import botocore.exceptions

                with contextlib.suppress(botocore.exceptions.ClientError):
                    if self.client.head_object(Bucket=self.bucket, Key=key)["ETag"] == written.get("ETag"):
                        self.client.delete_object(Bucket=self.bucket, Key=key)

    def _create_or_take_over(self, key: str, body: bytes) -> tuple[dict, Holder | None, str | None]:
        """(PutObject's answer for our lock, the expired holder taken over or None, its version id or None);
        LockBusy when a live sync holds it."""
        import botocore.exceptions

        def refused(error: botocore.exceptions.ClientError, *codes: str) -> bool:
            return error.response.get("Error", {}).get("Code") in codes

        lock = f"s3://{self.bucket}/{key}"
        for attempt in (1, 2):  # a second time when the holder released between our write and our read
            try:
                return (
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*"),
                    None,
                    None,
                )
            except botocore.exceptions.ClientError as error:
                if not refused(error, "PreconditionFailed", "412"):
                    raise
            try:
                existing = self.client.get_object(Bucket=self.bucket, Key=key)
            except botocore.exceptions.ClientError as error:
                if not refused(error, "NoSuchKey", "404"):
                    raise
                if attempt == 2:
                    raise _busy(
                        self, lock, None, "other syncs took and released it twice while this one tried to"
                    ) from None
                continue
            current = Holder.from_bytes(existing["Body"].read())
            if current is not None and not current.expired():
                raise _busy(self, lock, current, f"a lock left by a killed sync expires at {current.expires}")
            try:
                written = self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=body, IfMatch=existing["ETag"]
                )
            except botocore.exceptions.ClientError as error:
                if not refused(error, "PreconditionFailed", "412"):
                    raise
                raise _busy(self, lock, None, "another sync took over the expired lock first") from None
            expired = current or Holder("unknown", 0, "unknown", "unknown", "unreadable")
            return written, expired, existing.get("VersionId")
        raise AssertionError("unreachable: the second attempt returns or raises")


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix without slashes at either end) of s3://bucket[/prefix]; BadTarget when it is no key
    prefix S3 and MWAA read as written: '.', '..' or empty segments, or a name that is not UTF-8."""
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise BadTarget(
            f"--target {url.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')}: not valid UTF-8. "
            "Fix: name the bucket and prefix in UTF-8 (S3 keys are UTF-8)."
        ) from None
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise BadTarget(f"--target {url}: no bucket. Fix: use s3://bucket or s3://bucket/prefix.")
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise BadTarget(
            f"--target {url}: {bucket!r} is no valid bucket name (3-63 lowercase letters, digits, '.', '-'). "
            "Fix: use the MWAA environment's source bucket name."
        )
    prefix = prefix.rstrip("/")
    for segment in prefix.split("/") if prefix else []:
        if segment in ("", ".", ".."):
            what = "an empty segment ('//')" if not segment else f"a {segment!r} segment"
            raise BadTarget(
                f"--target {url}: the prefix has {what}; S3 keeps it literally, so MWAA would not find the "
                "files where the path seems to point. Fix: write the prefix plainly, e.g. s3://bucket/env-a."
            )
    return bucket, prefix


def check_folder(spec: str, repo: Path) -> Path:
    """The folder --target names, resolved; BadTarget when syncing there could overwrite or delete the
    repository's own files (inside it, except under build/; above it) or write to /."""
    if not spec.strip():
        raise BadTarget(
            "--target is empty. Fix: name a folder or s3://bucket[/prefix], or omit --target for "
            "build/mwaa-bucket/."
        )
    try:
        spec.encode("utf-8")
    except UnicodeEncodeError:
        raise BadTarget(f"--target {spec!r}: not valid UTF-8. Fix: use a folder name in UTF-8.") from None
    folder = Path(spec).resolve()
    if folder == Path(folder.anchor):
        raise BadTarget(
            f"--target {spec}: the filesystem root. Fix: name a folder of its own, e.g. /tmp/mwaa-bucket."
        )
    repo = repo.resolve()
    build = repo / "build"
    if repo.is_relative_to(folder) and repo != folder:
        raise BadTarget(
            f"--target {spec} ({folder}) contains the repository: the sync deletes stale files under its "
            f"dags/, which could hold the sources. Fix: use a folder under {build}/ or beside {repo}, not "
            "above it."
        )
    if folder.is_relative_to(repo) and not (folder.is_relative_to(build) and folder != build):
        raise BadTarget(
            f"--target {spec} ({folder}) is inside the repository: a sync there writes and deletes next to "
            f"the sources. Fix: use a folder under {build}/ or outside {repo}."
        )
    return folder


def open_target(spec: str, repo: Path, s3_client=None):
    """The target named by --target: an s3:// URL or a folder (BadTarget when it names no safe place)."""
    if spec.startswith("s3://"):
        parse_s3_url(spec)
        return S3Target(spec, client=s3_client)
    if "://" in spec:
        raise BadTarget(f"--target {spec}: unknown scheme. Fix: use s3://bucket[/prefix] or a folder path.")
    return DirectoryTarget(check_folder(spec, repo))

"""Where a bundle goes: an S3 bucket (boto3's normal configuration) or a local folder laid out as one.

Both answer the same questions: what objects are under the managed prefixes and what their content hash is,
put an object (returning its version id when the store keeps versions), delete objects.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from deploy.bundle import DAGS_PREFIX, ENVIRONMENT_KEYS

SHA256_METADATA = "sha256"  # stored as x-amz-meta-sha256 on every object we put
LOOKUP_THREADS = 16


class TargetError(RuntimeError):
    """The target cannot be read or written (the message says which and how to fix it)."""


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
        return str(self.root)

    def _object(self, key: str) -> RemoteObject | None:
        path = self.root / key
        if not path.is_file():
            return None
        data = path.read_bytes()
        return RemoteObject(key, len(data), sha256=hashlib.sha256(data).hexdigest())

    def managed_objects(self, local_md5: Mapping[str, str] | None = None) -> dict[str, RemoteObject]:
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

    def versioning_enabled(self) -> bool:
        return False


class S3Target:
    """s3://bucket[/prefix]: the bucket of an MWAA environment (dags/, plugins.zip, requirements.txt)."""

    keeps_versions = True

    def __init__(self, url: str, client=None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not bucket:
            raise TargetError(f"--target {url}: not an S3 URL. Fix: use s3://bucket or s3://bucket/prefix.")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
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

    def _remote_object(self, item: dict, local_md5: Mapping[str, str]) -> RemoteObject:
        key = item["Key"][len(self.prefix) :]
        md5 = _plain_etag_md5(item.get("ETag"))
        if md5 is not None and local_md5.get(key) == md5:
            return RemoteObject(key, item["Size"], md5=md5)  # the listing already shows the same content
        head = self.client.head_object(Bucket=self.bucket, Key=item["Key"])
        return RemoteObject(key, item["Size"], sha256=head.get("Metadata", {}).get(SHA256_METADATA), md5=md5)

    def managed_objects(self, local_md5: Mapping[str, str] | None = None) -> dict[str, RemoteObject]:
        """Every object under the dags prefix plus the environment files, with what shows their content.

        One LIST per 1000 keys. An object whose listed ETag is the MD5 of the local file of that key is
        unchanged as it stands; every other object gets a HEAD (in parallel) for the sha256 we store in its
        metadata (multipart and SSE-KMS ETags are not MD5s).
        """
        local_md5 = local_md5 or {}
        listed = self._listed(DAGS_PREFIX)
        for key in ENVIRONMENT_KEYS:
            listed.extend(item for item in self._listed(key) if item["Key"] == self.prefix + key)
        with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
            objects = list(pool.map(lambda item: self._remote_object(item, local_md5), listed))
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


def open_target(spec: str, s3_client=None):
    """The target named by --target: an s3:// URL or a folder."""
    if spec.startswith("s3://"):
        return S3Target(spec, client=s3_client)
    if "://" in spec:
        raise TargetError(f"--target {spec}: unknown scheme. Fix: use s3://bucket[/prefix] or a folder path.")
    return DirectoryTarget(Path(spec))

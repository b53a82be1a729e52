"""Releases: every sync that changes a target records what the target then holds, so any release can be
listed and restored exactly, without a rebuild or a working tree.

A release record is `.releases/NNNNNN.json` beside `dags/` (never inside it: MWAA copies only `dags/` to its
containers and reads the environment files by path and version, so the DAG processor never sees a record).
It names the tested git tree and commit, the time, and for every managed key its size, sha256, MD5 and S3
object version; and the environment files it activated. An S3 target keeps the bytes itself (MWAA requires
bucket versioning: https://docs.aws.amazon.com/mwaa/latest/userguide/working-dags.html, "An Amazon S3 bucket
for an Amazon MWAA environment must have Versioning Enabled"), so a rollback is one CopyObject of the old
version per changed key. A folder has no versions: it keeps a copy of each content once, under
`.releases/objects/<sha256>`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from deploy.plan import Plan, compare

RELEASES_PREFIX = ".releases/"
CONTENT_PREFIX = RELEASES_PREFIX + "objects/"  # folder targets: one copy of each content, by sha256
RECORD_KEY = re.compile(r"^\.releases/(\d{6})\.json$")
SYNC, ROLLBACK = "sync", "rollback"
LISTED = 10  # --releases shows this many by default


class ReleaseError(RuntimeError):
    """A release cannot be read or restored (the message names it and the fix)."""


@dataclass(frozen=True)
class ReleaseObject:
    """One managed key as a release holds it; compared and planned like a bundle file (key, size, md5,
    sha256), restored by `version` (S3) or from the folder's content copy."""

    key: str
    size: int
    sha256: str
    md5: str
    version: str | None = None


@dataclass
class Release:
    number: int
    created: str  # UTC, ISO 8601
    kind: str  # SYNC or ROLLBACK
    tree: str  # the git tree the tests passed on (a rollback: the restored release's)
    commit: str
    objects: dict[str, ReleaseObject]
    environment: dict = field(default_factory=dict)  # {"name": ..., "updated_to": {key: version} or None}
    restores: int | None = None  # a rollback: the release whose objects it restored
    dags: dict[str, str] = field(default_factory=dict)  # dag_id -> DAG file key, for the verification

    @property
    def key(self) -> str:
        return record_key(self.number)

    @property
    def content_of(self) -> int:
        """The release whose content this one holds (a rollback holds an earlier release's)."""
        return self.restores if self.restores is not None else self.number

    def to_bytes(self) -> bytes:
        fields = asdict(self)
        fields["objects"] = {key: asdict(item) for key, item in sorted(self.objects.items())}
        return json.dumps(fields, indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> "Release":
        try:
            fields = json.loads(data)
            fields["objects"] = {key: ReleaseObject(**item) for key, item in fields["objects"].items()}
            return cls(**fields)
        except (ValueError, TypeError, KeyError) as error:
            raise ReleaseError(
                f"{where}: not a release record ({error}). Fix: restore the object from an earlier version "
                "(the bucket keeps them), or delete it to forget that release."
            ) from None

    def summary(self) -> str:
        what = f"rollback to {self.restores}" if self.kind == ROLLBACK else "sync"
        environment = self.environment.get("updated_to")
        return (
            f"{self.number:>4}  {self.created}  {what:<15} commit {self.commit[:12]:<12} "
            f"tree {self.tree[:12]}  {len(self.objects)} objects"
            + (f", environment updated to {', '.join(sorted(environment))}" if environment else "")
        )


def record_key(number: int) -> str:
    return f"{RELEASES_PREFIX}{number:06d}.json"


def numbers(target) -> list[int]:
    """The release numbers recorded in the target, oldest first (one LIST)."""
    found = (RECORD_KEY.match(key) for key in target.keys(RELEASES_PREFIX))
    return sorted(int(match.group(1)) for match in found if match)


def load(target, number: int) -> Release:
    data = target.get(record_key(number))
    if data is None:
        raise ReleaseError(
            f"{target}: no release {number}. Fix: pick one that ./sync_dags.sh --releases lists."
        )
    return Release.from_bytes(data, f"{target}{record_key(number)}")


def latest(target) -> Release | None:
    recorded = numbers(target)
    return load(target, recorded[-1]) if recorded else None


def describes(release: Release | None, objects: dict) -> bool:
    """Whether `release` holds exactly these keys and contents ({key: a BundleFile or a ReleaseObject})."""
    return release is not None and {key: item.sha256 for key, item in release.objects.items()} == {
        key: item.sha256 for key, item in objects.items()
    }


def listing(target, count: int = LISTED) -> str:
    """The last `count` releases, newest first, the live one marked."""
    recorded = numbers(target)
    if not recorded:
        return f"{target}: no releases recorded yet (every sync that changes the target records one)."
    shown = [load(target, number) for number in reversed(recorded[-count:])]
    lines = [f"Releases of {target} (newest first; {len(recorded)} recorded):"]
    lines += [("* " if index == 0 else "  ") + release.summary() for index, release in enumerate(shown)]
    lines.append(
        "* live. Roll back: ./sync_dags.sh --rollback [NUMBER] (default: the one before the live one)"
    )
    return "\n".join(lines)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def record(
    target,
    objects: dict[str, ReleaseObject],
    tree: str,
    commit: str,
    environment: dict,
    previous: Release | None,
    kind: str = SYNC,
    restores: int | None = None,
    dags: dict[str, str] | None = None,
) -> Release:
    """Write the next release record. Objects without a version get the bucket's current one: carried from
    `previous` when it holds the same content for the key, looked up (one HEAD each) otherwise. A folder
    target first keeps a copy of each content it does not have yet."""
    if target.keeps_versions:
        carried = {
            key: previous.objects[key].version
            for key, item in objects.items()
            if item.version is None
            and previous is not None
            and key in previous.objects
            and previous.objects[key].sha256 == item.sha256
        }
        unknown = [key for key, item in objects.items() if item.version is None and key not in carried]
        found = {**carried, **target.current_versions(unknown)}
        objects = {
            key: (
                item if item.version is not None else ReleaseObject(**{**asdict(item), "version": found[key]})
            )
            for key, item in objects.items()
        }
    else:
        kept = set(target.keys(CONTENT_PREFIX))
        for item in objects.values():
            if CONTENT_PREFIX + item.sha256 not in kept:
                data = target.get(item.key)
                if data is None or hashlib.sha256(data).hexdigest() != item.sha256:
                    raise ReleaseError(
                        f"{target}: {item.key} changed while the release was recorded. Fix: sync again."
                    )
                target.put(CONTENT_PREFIX + item.sha256, data, item.sha256)
                kept.add(CONTENT_PREFIX + item.sha256)
    number = (previous.number if previous else 0) + 1
    release = Release(
        number, _now(), kind, tree, commit, objects, environment, restores, dict(sorted((dags or {}).items()))
    )
    target.put(release.key, release.to_bytes(), hashlib.sha256(release.to_bytes()).hexdigest())
    return release


def from_bundle(bundle: dict, versions: dict[str, str | None]) -> dict[str, ReleaseObject]:
    """The release objects of a synced bundle: {key: BundleFile} with the versions the sync wrote."""
    return {
        key: ReleaseObject(key, item.size, item.sha256, item.md5, versions.get(key))
        for key, item in bundle.items()
    }


def rollback_target(target, requested: str | None) -> tuple[Release, Release]:
    """(the live release, the release to restore). Default: the one before the release whose content is
    live, so a second rollback goes one further back instead of undoing the first."""
    recorded = numbers(target)
    if not recorded:
        raise ReleaseError(
            f"{target}: no releases recorded, so there is nothing to roll back to. Fix: every sync records "
            "one from now on; restore by hand this once (aws s3api list-object-versions)."
        )
    live = load(target, recorded[-1])
    if requested is None:
        earlier = [number for number in recorded if number < live.content_of]
        if not earlier:
            raise ReleaseError(
                f"{target}: release {live.content_of} is the first recorded; there is none before it to roll "
                "back to. Fix: name one with --rollback NUMBER (./sync_dags.sh --releases lists them)."
            )
        return live, load(target, earlier[-1])
    try:
        number = int(requested)
    except ValueError:
        raise ReleaseError(
            f"--rollback {requested}: not a release number. "
            "Fix: use a number that ./sync_dags.sh --releases lists."
        ) from None
    if number not in recorded:
        raise ReleaseError(
            f"{target}: no release {number} (recorded: {recorded[0]}-{recorded[-1]}). "
            "Fix: pick one that ./sync_dags.sh --releases lists."
        )
    return live, load(target, number)


def rollback_plan(target, release: Release, live: Release) -> Plan:
    """What differs between the target now and `release`, as a sync plan: its objects are the files to put
    back (by version), keys under dags/ it did not have are deleted. A listed ETag that is the MD5 `live`
    recorded for the key needs no HEAD: only drifted objects are looked up."""
    objects = release.objects
    return compare(
        objects,
        target.managed_objects(
            objects,
            {key: item.md5 for key, item in live.objects.items()},
        ),
    )


def restorer(target):
    """send(item) for apply(): put one ReleaseObject's bytes back in place; returns the new version id."""

    def restore(item: ReleaseObject) -> str | None:
        if target.keeps_versions:
            if not item.version:
                raise ReleaseError(
                    f"{target}{item.key}: the release holds no object version for it (the bucket kept no "
                    "versions then). Fix: enable versioning on the bucket (MWAA requires it); releases "
                    "recorded from then on can be restored."
                )
            return target.copy_version(item.key, item.version)
        data = target.get(CONTENT_PREFIX + item.sha256)
        if data is None or hashlib.sha256(data).hexdigest() != item.sha256:
            raise ReleaseError(
                f"{target}{CONTENT_PREFIX}{item.sha256}: the kept copy of {item.key} is gone or altered. "
                "Fix: roll back to another release (./sync_dags.sh --releases lists them), or check out that "
                "release's commit and sync it."
            )
        return target.put(item.key, data, item.sha256)

    return restore

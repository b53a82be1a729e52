"""The plan: what differs between the bundle and the target, by content hash, and how it is printed."""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.bundle import DAGS_PREFIX, ENVIRONMENT_KEYS, BundleFile
from deploy.targets import RemoteObject


@dataclass
class Plan:
    added: list[BundleFile] = field(default_factory=list)
    changed: list[BundleFile] = field(default_factory=list)
    deleted: list[RemoteObject] = field(default_factory=list)
    unchanged: list[BundleFile] = field(default_factory=list)

    @property
    def uploads(self) -> list[BundleFile]:
        """New and changed files, in the order of `phases`."""
        return [item for phase in self.phases for item in phase]

    @property
    def phases(self) -> list[list[BundleFile]]:
        """The uploads in three phases, each finished before the next starts: the environment files (then
        the environment is updated to them), the files DAGs read (SQL, schemas, .airflowignore), the DAG
        files. A DAG file never goes live before what it needs."""
        pending = sorted(self.added + self.changed, key=lambda item: item.key)
        environment = [item for item in pending if item.key in ENVIRONMENT_KEYS]
        dag_files = [item for item in pending if is_dag_file(item.key)]
        supporting = [item for item in pending if item not in environment and item not in dag_files]
        return [environment, supporting, dag_files]

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    @property
    def environment_changes(self) -> list[str]:
        """The environment files (requirements.txt, plugins.zip, startup.sh) this plan uploads."""
        return [item.key for item in self.uploads if item.key in ENVIRONMENT_KEYS]

    def mass_delete(self) -> str | None:
        """Why this plan deletes too much at once (more than half of the target's DAG files, or all of them),
        or None. A repository checked out wrong (a sparse checkout, another branch) looks like this."""
        remote_dags = len([item for item in self.unchanged + self.changed if is_dag_file(item.key)]) + len(
            [item for item in self.deleted if is_dag_file(item.key)]
        )
        deleted = len([item for item in self.deleted if is_dag_file(item.key)])
        if deleted and deleted == remote_dags:
            return f"it would delete all {remote_dags} DAG files of the target"
        if deleted * 2 > remote_dags:
            return f"it would delete {deleted} of the {remote_dags} DAG files of the target (more than half)"
        return None


def is_dag_file(key: str) -> bool:
    return key.startswith(DAGS_PREFIX) and key.endswith(".py")


def same_content(local: BundleFile, remote: RemoteObject) -> bool:
    """Equal by content: a plain single-part ETag is the MD5 of the object's bytes and decides on its own
    (whatever metadata a copy carries); other objects (multipart, SSE-KMS) by the sha256 we store."""
    if remote.size != local.size:
        return False
    if remote.md5 is not None:
        return remote.md5 == local.md5
    return remote.sha256 is not None and remote.sha256 == local.sha256


def compare(bundle: dict[str, BundleFile], remote: dict[str, RemoteObject]) -> Plan:
    plan = Plan()
    for key, item in bundle.items():
        if key not in remote:
            plan.added.append(item)
        elif same_content(item, remote[key]):
            plan.unchanged.append(item)
        else:
            plan.changed.append(item)
    # Only the managed dags prefix is cleaned: environment files are left alone when they leave the repo, and
    # so are folder markers ("dags/", as the S3 console creates them).
    plan.deleted = [
        obj
        for key, obj in sorted(remote.items())
        if key not in bundle and key.startswith(DAGS_PREFIX) and not key.endswith("/")
    ]
    return plan


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def render(plan: Plan, target: str, max_lines: int = 60) -> str:
    """The plan table, then one line per change (the unchanged files are only counted)."""
    rows = [
        ("added", len(plan.added), sum(item.size for item in plan.added)),
        ("changed", len(plan.changed), sum(item.size for item in plan.changed)),
        ("deleted", len(plan.deleted), sum(item.size for item in plan.deleted)),
        ("unchanged", len(plan.unchanged), sum(item.size for item in plan.unchanged)),
    ]
    lines = [f"Plan for {target}", f"  {'':<10} {'files':>6} {'bytes':>10}"]
    lines += [f"  {name:<10} {count:>6} {human_bytes(size):>10}" for name, count, size in rows]
    changes = (
        [f"    + {item.key} ({human_bytes(item.size)})" for item in plan.added]
        + [f"    ~ {item.key} ({human_bytes(item.size)})" for item in plan.changed]
        + [f"    - {item.key}" for item in plan.deleted]
    )
    if len(changes) > max_lines:
        changes = changes[:max_lines] + [f"    ... and {len(changes) - max_lines} more"]
    return "\n".join(lines + changes)

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
        """New and changed files; supporting files before DAG files, so a DAG never lands before its SQL."""
        return sorted(self.added + self.changed, key=lambda item: (item.key.endswith(".py"), item.key))

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    @property
    def environment_changes(self) -> list[str]:
        """The environment files (requirements.txt, plugins.zip, startup.sh) this plan uploads."""
        return [item.key for item in self.uploads if item.key in ENVIRONMENT_KEYS]


def same_content(local: BundleFile, remote: RemoteObject) -> bool:
    """Equal by the sha256 we store in metadata; objects put by other tools fall back to the ETag (MD5)."""
    if remote.size != local.size:
        return False
    if remote.sha256:
        return remote.sha256 == local.sha256
    return remote.md5 is not None and remote.md5 == local.md5


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

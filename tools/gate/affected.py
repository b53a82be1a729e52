"""Which DAGs a change affects: `python -m gate.affected READS CHANGED_FILE...` (the pre-push hook) and
`python -m gate.affected --since-green TREE` (./run_tests.sh --fast: the change since the last green run).

Prints the DAG ids to test, one per line, or nothing and exit status 3 when the change needs the whole
fast gate. A DAG is affected by its own file and by the files it read when it was last parsed
(build/test-gate/dag-reads.json, written by gate.loader: SQL, specs, schemas). Everything else means every
DAG: a change under plugins/ (shipped into every DAG), the tooling, tests, requirements or configuration, a
file under dags/ or sql/ that no recorded DAG read (a new or included file), a deleted DAG file, a record
missing a DAG of the inventory (or none at all), or more than MAX_DAGS DAGs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import repository
from gate import inventory

EVERY_DAG = 3  # exit status: run the whole fast gate
MAX_DAGS = 20  # beyond this many DAGs the per-DAG runs cost more than one run of the whole gate
DAG_FOLDERS = ("dags/", "sql/")


def affected(
    changed: list[str], reads: dict[str, list[str]], present: set[str]
) -> tuple[list[str] | None, str]:
    """(DAG ids, why) for the changed repository paths; (None, why) when every DAG must be tested.

    `present`: the paths that exist in the tree being pushed (a deleted DAG file needs the whole gate).
    """
    dag_of_file = {f"dags/{file}": dag_id for dag_id, file in inventory.read_all().items()}
    unrecorded = sorted(set(dag_of_file) - set(reads))
    if unrecorded:  # a record from a run of a few DAGs (--dag) does not say who else reads a file
        return None, f"no record of what {unrecorded[0]} reads"
    readers: dict[str, set[str]] = {}
    for dag_file, files in reads.items():
        for path in files:
            readers.setdefault(path, set()).add(dag_file)
    chosen: set[str] = set()
    for path in changed:
        if not path.startswith(DAG_FOLDERS):
            return None, f"{path} is not a DAG, its SQL or its spec"
        if path.startswith("dags/") and path.count("/") == 1 and path.endswith(".py"):
            if path not in present:
                return None, f"{path} was deleted"
            chosen.add(dag_of_file.get(path, Path(path).stem))
        elif path in readers:
            chosen.update(dag_of_file.get(dag_file, Path(dag_file).stem) for dag_file in readers[path])
        else:
            return None, f"no DAG is recorded reading {path}"
    if not chosen:
        return None, "no file changed"
    if len(chosen) > MAX_DAGS:
        return None, f"{len(chosen)} DAGs are affected"
    return sorted(chosen), ", ".join(changed)


def changed_between(base: str, tree: str, root: Path = repository.ROOT) -> tuple[list[str], set[str]] | None:
    """(changed paths in order, the deleted ones) from git tree `base` to `tree`; None if git cannot compare
    them (a tree id git does not have: recorded in another clone, or pruned)."""
    done = subprocess.run(
        ["git", "diff-tree", "-r", "-z", "--no-renames", "--name-status", base, tree],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return None
    fields = done.stdout.split("\0")[:-1]  # status, path, status, path, ...
    changed = fields[1::2]
    return changed, {path for status, path in zip(fields[::2], changed) if status == "D"}


def since_green(tree: str, reads_file: Path, root: Path = repository.ROOT) -> tuple[list[str] | None, str]:
    """(DAG ids, why) for the change from the last green gate run (deploy.stamp) to the working tree `tree`;
    (None, why) when every test must run."""
    from deploy import stamp

    green = stamp.read(root)
    if "tree" not in green:
        return None, f"no green run recorded ({stamp.STAMP_FILE})"
    if not reads_file.is_file():
        return None, f"no record of what the DAGs read ({reads_file.name})"
    change = changed_between(green["tree"], tree, root)
    if change is None:
        return None, f"git does not have the tree of the last green run ({green['tree'][:12]})"
    changed, deleted = change
    run = f"the green {green.get('mode', '')} run of tree {green['tree'][:12]} ({green.get('at', 'no time')})"
    if not changed:
        return None, f"nothing changed since {run}"
    dags, why = affected(changed, json.loads(reads_file.read_text()), set(changed) - deleted)
    if dags is None:
        return None, why
    shown = " ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return dags, f"only {shown} changed since {run}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--since-green"] and len(argv) == 2:
        from gate.loader import READS_FILE

        dags, why = since_green(argv[1], READS_FILE)
        print(why, file=sys.stderr)
        print("\n".join(dags or []))
        return EVERY_DAG if dags is None else 0
    if not argv:
        print("usage: python -m gate.affected READS_FILE [CHANGED_PATH...]", file=sys.stderr)
        return 2
    reads_file, changed = Path(argv[0]), argv[1:]
    if not reads_file.is_file():
        print(
            f"every DAG: no record of what the DAGs read ({reads_file.name}: run ./run_tests.sh --fast once)"
        )
        return EVERY_DAG
    reads = json.loads(reads_file.read_text())
    present = {path for path in changed if Path(path).exists()}
    dags, why = affected(changed, reads, present)
    if dags is None:
        print(f"every DAG: {why}")
        return EVERY_DAG
    print("\n".join(dags))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

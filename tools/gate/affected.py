"""Which DAGs a change affects, for the pre-push hook: `python -m gate.affected READS CHANGED_FILE...`.

Prints the DAG ids to test, one per line, or nothing and exit status 3 when the change needs the whole
fast gate. A DAG is affected by its own file and by the files it read when it was last parsed
(build/test-gate/dag-reads.json, written by gate.loader: SQL, specs, schemas). Everything else means every
DAG: a change under plugins/ (shipped into every DAG), the tooling, tests, requirements or configuration, a
file under dags/ or sql/ that no recorded DAG read (a new or included file), a deleted DAG file, a record
missing a DAG of the inventory (or none at all), or more than MAX_DAGS DAGs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


def main(argv: list[str]) -> int:
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

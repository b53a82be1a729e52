"""The checked-in DAG inventory: every dag_id the repository ships and the file that defines it.

Regenerate after adding, renaming or removing a DAG (then review the diff):

    ./run_tests.sh --update-inventory
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# GATE_INVENTORY_FILE points the gate at another inventory (with GATE_DAGS_FOLDER, another DAG folder).
INVENTORY_FILE = Path(os.environ.get("GATE_INVENTORY_FILE") or Path(__file__).with_name("inventory.json"))


def read(path: Path = INVENTORY_FILE) -> dict[str, str]:
    """{dag_id: file relative to the dags folder}; empty when the file does not exist yet."""
    return json.loads(path.read_text()) if path.exists() else {}


def current(loaded) -> dict[str, str]:
    return {
        dag_id: str(Path(dag.fileloc).relative_to(loaded.folder))
        for dag_id, dag in sorted(loaded.dags.items())
    }


def write(loaded, path: Path = INVENTORY_FILE) -> dict[str, str]:
    inventory = current(loaded)
    path.write_text(json.dumps(inventory, indent=2, sort_keys=True) + "\n")
    return inventory


def main() -> int:
    from airflow_home import prepare
    from gate.loader import load

    folder = prepare()
    loaded = load(folder)
    if loaded.bag.import_errors:
        for path, error in loaded.bag.import_errors.items():
            print(
                f"error: {path} does not load; fix it before writing the inventory:\n{error}", file=sys.stderr
            )
        return 1
    inventory = write(loaded)
    print(f"wrote {INVENTORY_FILE} with {len(inventory)} DAGs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

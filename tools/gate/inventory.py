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


# Set by ./run_tests.sh --dag ID (space-separated ids): the gate parses and tests only these DAGs.
SELECTED_DAGS = "LAKEHOUSE_GATE_DAGS"


def read_all(path: Path = INVENTORY_FILE) -> dict[str, str]:
    """{dag_id: file relative to the dags folder}; empty when the file does not exist yet."""
    return json.loads(path.read_text()) if path.exists() else {}


def selected() -> list[str] | None:
    """The DAG ids of a `./run_tests.sh --dag` run, or None (every DAG)."""
    ids = os.environ.get(SELECTED_DAGS, "").split()
    return ids or None


def read(path: Path = INVENTORY_FILE) -> dict[str, str]:
    """The inventory the tests check: every DAG, or those of `./run_tests.sh --dag` (a new DAG not listed
    yet keeps its conventional file, `<dag_id>.py`)."""
    everything = read_all(path)
    chosen = selected()
    if chosen is None:
        return everything
    return {dag_id: everything[dag_id] for dag_id in chosen if dag_id in everything}


def selected_files(folder: Path) -> list[Path] | None:
    """The DAG files of a `--dag` run under `folder` (the listed file, else `<dag_id>.py`), or None."""
    chosen = selected()
    if chosen is None:
        return None
    everything = read_all()
    return sorted({folder / everything.get(dag_id, f"{dag_id}.py") for dag_id in chosen})


def check_ids(ids: list[str], folder: Path) -> list[str]:
    """One error line per id that is neither listed nor a file `<id>.py` of `folder`, with the closest."""
    from gate.suggest import closest

    known = set(read_all()) | {path.stem for path in folder.glob("*.py")}
    errors = []
    for dag_id in ids:
        if dag_id in known:
            continue
        close = closest(dag_id, known)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        fix = f"./run_tests.sh --dag {close[0]}" if close else f"one of the dag_ids of {INVENTORY_FILE.name}"
        errors.append(
            f"error: no DAG '{dag_id}' in {INVENTORY_FILE.name} or {folder.name}/; {hint}Fix: {fix}"
        )
    return errors


def current(loaded) -> dict[str, str]:
    return {
        dag_id: str(Path(dag.fileloc).relative_to(loaded.folder))
        for dag_id, dag in sorted(loaded.dags.items())
    }


def write(loaded, path: Path = INVENTORY_FILE) -> dict[str, str]:
    inventory = current(loaded)
    path.write_text(json.dumps(inventory, indent=2, sort_keys=True) + "\n")
    return inventory


def main(argv: list[str]) -> int:
    from airflow_home import prepare

    if argv[:1] == ["--check-ids"]:  # ./run_tests.sh --dag ID...: refuse an unknown id before any test
        folder = prepare()
        errors = check_ids(argv[1:], folder)
        for line in errors:
            print(line, file=sys.stderr)
        if not errors:  # the DAGs' files, for flake8 and black
            os.environ[SELECTED_DAGS] = " ".join(argv[1:])
            print("\n".join(str(path.relative_to(folder.parent)) for path in selected_files(folder)))
        return 2 if errors else 0
    if selected() is not None:
        print("error: --update-inventory writes every DAG; run it without --dag", file=sys.stderr)
        return 2
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
    sys.exit(main(sys.argv[1:]))

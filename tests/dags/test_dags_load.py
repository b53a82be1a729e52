"""Every DAG file loads, and the folder holds exactly the DAGs of the inventory.

Each broken file gets a failing test of its own; when none is broken, one test checks them all (so a large
DAG folder costs one test here, not one per file).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gate import catalogue, inventory
from airflow_home import prepare
from gate.loader import load_once
from gate.rules import classify_import_error, import_error_message

# The gate proper, its verdicts first in the summary: a file that does not load fails every rule after it.
pytestmark = pytest.mark.dag_gate(rank=0)
DAGS_FOLDER = prepare()
EVERY_FILE = "every-dag-file"


def pytest_generate_tests(metafunc):
    if "dag_file" in metafunc.fixturenames:
        errors = load_once(DAGS_FOLDER).import_errors()
        broken = sorted(str(path.relative_to(DAGS_FOLDER)) for path in errors)
        # the id names the file and the rule: test_dag_file_loads[x.py-parse-purity]
        ids = [f"{name}-{classify_import_error(errors[DAGS_FOLDER / name])[0]}" for name in broken]
        metafunc.parametrize("dag_file", broken or [EVERY_FILE], ids=ids or None)


def test_dag_file_loads(loaded, dag_file):
    errors = loaded.import_errors()
    if dag_file != EVERY_FILE:
        path = DAGS_FOLDER / dag_file
        pytest.fail(import_error_message(path, errors[path], DAGS_FOLDER), pytrace=False)
    assert not errors
    defining = {Path(dag.fileloc) for dag in loaded.dags.values()}
    empty = [str(path) for path in loaded.files if path not in defining]
    assert not empty, (
        f"files in {DAGS_FOLDER} define no DAG: {empty}. Fix: move shared code to plugins/lakehouse/, or "
        "list runtime files (scripts, schemas) in dags/.airflowignore"
    )


def test_bag_is_not_empty(loaded):
    assert loaded.dags, f"no DAG loaded from {DAGS_FOLDER}: the gate has nothing to check"


# A DAG missing from the folder or the inventory mostly follows from a file that does not load or a dag_id
# that differs from its file: the summary lists those first.
@pytest.mark.dag_gate(rank=2)
def test_every_inventoried_dag_is_loaded(loaded):
    expected = inventory.read()
    assert expected, f"{inventory.INVENTORY_FILE} lists no DAG. Fix: ./run_tests.sh --update-inventory"
    missing = {dag_id: f for dag_id, f in expected.items() if dag_id not in loaded.dags}
    assert not missing, (
        f"inventory: DAGs listed in {inventory.INVENTORY_FILE} did not load: {missing}. Fix: see the "
        "import errors above, or run ./run_tests.sh --update-inventory if they were removed on purpose."
    )


@pytest.mark.dag_gate(rank=2)
def test_no_dag_outside_the_inventory(loaded):
    expected = inventory.read()
    found = inventory.current(loaded)
    unlisted = {dag_id: f for dag_id, f in found.items() if dag_id not in expected}
    moved = {dag_id: (expected[dag_id], f) for dag_id, f in found.items() if expected.get(dag_id, f) != f}
    assert not unlisted and not moved, (
        f"inventory: DAGs not in {inventory.INVENTORY_FILE}: {unlisted}; moved (listed, found): {moved}. "
        "Fix: ./run_tests.sh --update-inventory and commit the diff."
    )


def test_the_dags_match_their_recorded_structure(loaded):
    """Tasks, edges, schedule and assets of every inventoried DAG are those of tools/gate/inventory.json."""
    message = inventory.drift_message(inventory.read_snapshot(), inventory.snapshot(loaded))
    if message:
        pytest.fail(message, pytrace=False)


def test_the_dag_catalogue_matches_the_dags(loaded):
    if inventory.selected() is not None:  # ./run_tests.sh --dag parsed only some DAGs; the page shows all
        pytest.skip("docs/dags.md covers every DAG: checked by a run without --dag")
    docs = catalogue.docs_file(loaded.folder)
    if docs is None:
        pytest.skip(f"{loaded.folder} is not the repository's DAG folder and GATE_DAGS_DOC_FILE is unset")
    written = docs.read_text() if docs.exists() else ""
    expected = catalogue.render(loaded, inventory.snapshot(loaded))
    if written != expected:
        diff = difflib.unified_diff(
            written.splitlines(), expected.splitlines(), str(docs), "what the DAGs give", lineterm="", n=0
        )
        pytest.fail(
            f"inventory: {docs} is not what the DAGs give (it is generated, never edited by hand). "
            f"Fix: {inventory.REFRESH}, then commit the diff.\n" + "\n".join(list(diff)[:30]),
            pytrace=False,
        )

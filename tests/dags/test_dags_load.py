"""Every DAG file loads, and the folder holds exactly the DAGs of the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate import inventory
from gate.environment import prepare
from gate.loader import dag_files, load_once
from gate.rules import import_error_message

DAGS_FOLDER = prepare()


def pytest_generate_tests(metafunc):
    if "dag_file" in metafunc.fixturenames:
        files = set(dag_files(DAGS_FOLDER)) | set(load_once(DAGS_FOLDER).import_errors())
        names = sorted(str(path.relative_to(DAGS_FOLDER)) for path in files)
        metafunc.parametrize("dag_file", names)


def test_dag_file_loads(loaded, dag_file):
    path = DAGS_FOLDER / dag_file
    errors = loaded.import_errors()
    if path in errors:
        pytest.fail(import_error_message(Path(dag_file), errors[path]), pytrace=False)


def test_bag_is_not_empty(loaded):
    assert loaded.dags, f"no DAG loaded from {DAGS_FOLDER}: the gate has nothing to check"


def test_every_inventoried_dag_is_loaded(loaded):
    expected = inventory.read()
    assert expected, f"{inventory.INVENTORY_FILE} lists no DAG. Fix: ./run_tests.sh --update-inventory"
    missing = {dag_id: f for dag_id, f in expected.items() if dag_id not in loaded.dags}
    assert not missing, (
        f"inventory: DAGs listed in {inventory.INVENTORY_FILE} did not load: {missing}. Fix: see the "
        "import errors above, or run ./run_tests.sh --update-inventory if they were removed on purpose."
    )


def test_no_dag_outside_the_inventory(loaded):
    expected = inventory.read()
    found = inventory.current(loaded)
    unlisted = {dag_id: f for dag_id, f in found.items() if dag_id not in expected}
    moved = {dag_id: (expected[dag_id], f) for dag_id, f in found.items() if expected.get(dag_id, f) != f}
    assert not unlisted and not moved, (
        f"inventory: DAGs not in {inventory.INVENTORY_FILE}: {unlisted}; moved (listed, found): {moved}. "
        "Fix: ./run_tests.sh --update-inventory and commit the diff."
    )

"""./run_tests.sh --dag ID: only that DAG's file is parsed and only its tests run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import repository
from gate import inventory

CHOSEN = "redshift__01_create_tables"
# What run_tests.sh collects with --dag.
SUITES = ("tests/dags", "tests/sql/test_sql_parses.py", "tests/e2e/test_dag_runs.py")


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    roots = os.pathsep.join(str(root) for root in repository.IMPORT_ROOTS)
    environment = {**os.environ, "PYTHONPATH": roots, **env}
    environment.pop("LAKEHOUSE_GATE_OUTCOMES", None)
    return subprocess.run(
        [sys.executable, *args], cwd=repository.ROOT, env=environment, capture_output=True, text=True
    )


@pytest.mark.slow
def test_only_the_chosen_dags_tests_are_collected():
    done = run(
        "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *SUITES, LAKEHOUSE_GATE_DAGS=CHOSEN
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    others = sorted(set(inventory.read_all()) - {CHOSEN})

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"tests/dags/test_dag_policy.py::test_dag_follows_rule[{CHOSEN}-templates-render]" in ids
    assert (
        f"tests/dags/test_dag_policy.py::test_dag_file_parses_within_budget[{CHOSEN}.py-parse-budget]" in ids
    )
    assert f"tests/sql/test_sql_parses.py::test_redshift_statements_parse[{CHOSEN}]" in ids
    local_run = "tests/e2e/test_dag_runs.py::test_failed_aws_work_fails_the_run_and_publishes_the_sns_alert"
    assert f"{local_run}[{CHOSEN}]" in ids
    assert "tests/dags/test_dags_load.py::test_dag_file_loads[every-dag-file]" in ids
    assert not [i for i in ids if any(other in i for other in others)], "tests of other DAGs were collected"
    assert not [i for i in ids if "test_dag_run_succeeds" in i], "the whole-lake run needs every DAG"


def test_only_the_chosen_dags_file_is_parsed(monkeypatch, dags_folder):
    from gate.loader import load

    monkeypatch.setenv(inventory.SELECTED_DAGS, f"{CHOSEN} hudi__01_initial_load")
    loaded = load(dags_folder)

    assert [path.name for path in loaded.files] == ["hudi__01_initial_load.py", f"{CHOSEN}.py"]
    assert sorted(loaded.dags) == ["hudi__01_initial_load", CHOSEN]
    assert inventory.read() == {dag_id: inventory.read_all()[dag_id] for dag_id in sorted(loaded.dags)}


def test_an_unknown_dag_id_is_refused_with_the_closest():
    done = run("-m", "gate.inventory", "--check-ids", CHOSEN, "redshift__01_create_table")

    assert done.returncode == 2
    assert done.stderr == (
        "error: no DAG 'redshift__01_create_table' in inventory.json or dags/; did you mean "
        f"'{CHOSEN}'? Fix: ./run_tests.sh --dag {CHOSEN}\n"
    )


def test_the_chosen_dags_files_are_printed_for_the_linters():
    done = run("-m", "gate.inventory", "--check-ids", CHOSEN)
    assert (done.returncode, done.stdout) == (0, f"dags/{CHOSEN}.py\n")


@pytest.mark.slow
def test_a_dag_scheduled_on_assets_passes_the_schedule_review_alone():
    """Its producers are not parsed under --dag: their recorded entries update the assets it waits for."""
    consumer = next(dag_id for dag_id, entry in inventory.read_snapshot().items() if entry.get("consumes"))
    done = run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/dags/test_schedule_changes.py",
        LAKEHOUSE_GATE_DAGS=consumer,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout

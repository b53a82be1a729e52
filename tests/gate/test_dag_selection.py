"""./run_tests.sh --dag ID: only that DAG's file is parsed and only its tests run; --fast after a green run:
the same for the DAGs a change affects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import repository
from deploy import stamp
from gate import inventory
from tests.deploy.support import make_repo

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


@pytest.mark.parametrize("first", [True, False], ids=["known-first", "unknown-first"])
def test_an_unknown_dag_id_is_refused_with_the_closest(first):
    ids = [CHOSEN, "redshift__01_create_table"]
    done = run("-m", "gate.inventory", "--check-ids", *(ids if first else ids[::-1]))

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


def test_all_and_dag_together_are_refused():
    done = subprocess.run(
        ["./run_tests.sh", "--fast", "--all", "--dag", CHOSEN],
        cwd=repository.ROOT,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: --all tests everything and --dag only the DAGs named; give one of them\n"


@pytest.fixture
def project(tmp_path, loaded):
    """A git repository of this working tree, a green --fast run recorded for it, and what its DAGs read."""
    from gate.loader import READS_FILE

    root = tmp_path / "project"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repository.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source = repository.ROOT / relative
        if source.is_file() and not source.is_symlink():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / relative)
    make_repo(root, {})  # the files copied above, committed
    assert stamp.write(root, stamp.tree_hash(root), "fast")
    shutil.copy(READS_FILE, root / "build/test-gate/dag-reads.json")
    return root


def clean_env() -> dict[str, str]:
    """This environment without the test session's own settings (its Airflow home, git's, the gate's)."""
    leaking = ("GIT_", "AIRFLOW", "GATE_", "LAKEHOUSE_GATE", "PYTEST")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(leaking)},
        "LAKEHOUSE_VENV": sys.prefix,
    }


def gate(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run_tests.sh", *args], cwd=root, env=clean_env(), capture_output=True, text=True
    )


@pytest.mark.slow  # two nested gates of one DAG
def test_fast_after_a_green_run_tests_only_the_changed_dag(project):
    green = stamp.read(project)
    dag_file = project / f"dags/{CHOSEN}.py"
    before = dag_file.read_text()
    dag_file.write_text(before.replace("Triggered by hand", "Triggered by user", 1))  # a same-size edit
    assert dag_file.read_text() != before

    passed = gate(project, "--fast")

    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert passed.stdout.startswith(
        f"== --fast: only dags/{CHOSEN}.py changed since the green fast run of tree {green['tree'][:12]} "
        f"({green['at']}): testing only the DAGs it affects (everything: ./run_tests.sh --fast --all) ==\n"
        f"== only the DAGs {CHOSEN} (dags/{CHOSEN}.py) ==\n"
    ), passed.stdout[:2000]
    assert f"all green for {CHOSEN} (a run of chosen DAGs is never stamped" in passed.stdout
    assert stamp.read(project) == green  # the green run stays the base

    dag_file.write_text("import lakehouse.no_such_module\n" + dag_file.read_text())
    failed = gate(project, "--fast")

    assert failed.returncode == 1
    assert f"== only the DAGs {CHOSEN} (dags/{CHOSEN}.py) ==\n" in failed.stdout
    assert f"dags/{CHOSEN}.py" in failed.stdout.split("== gate summary ==")[-1]

    assert stamp.read(project) == green

"""End to end through pytest: the corpus added to a copy of dags/ fails the gate, each bad DAG in a test
id naming it and its rule (which rules each file breaks, exactly, is tests/gate/test_bad_dag_corpus.py);
past the policy's per-pair limit, the same failure in a folder whose passing pairs share a test per rule."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gate
from gate.inventory import read as read_inventory
from gate.rules import RULES

# One worker runs the corpus tests: they share one corpus run (a pytest subprocess).
in_the_corpus_run = pytest.mark.xdist_group("corpus_run")
CORPUS = Path(__file__).with_name("bad_dags")
SINGLE_FILES = sorted(CORPUS.glob("*.py"))


def run_dag_suite(
    repo_root: Path, tmp: Path, extra: list[Path], suite=gate.PYTEST_SELECTION, **env_vars: str
) -> subprocess.CompletedProcess:
    dags = tmp / "dags"
    shutil.copytree(repo_root / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp / "sql").symlink_to(repo_root / "sql")
    for path in extra:
        shutil.copy(path, dags / path.name)
        if path.with_suffix("").is_dir():  # files the corpus DAG reads (e.g. a table spec)
            shutil.copytree(path.with_suffix(""), dags / path.stem)
    env = {**os.environ, "GATE_DAGS_FOLDER": str(dags), "AIRFLOW_HOME": str(tmp / "home"), **env_vars}
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *suite],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
    )


def dag_id_of(path: Path) -> str:
    return re.search(r'dag_id="([^"]+)"', path.read_text()).group(1)


@pytest.fixture(scope="module")
def corpus_run(repo_root, tmp_path_factory):
    """One run of the gate suite over the shipped DAGs plus the whole corpus (twins under two names)."""
    twins = sorted(CORPUS.glob("duplicate_*/*.py"))
    renamed = tmp_path_factory.mktemp("twin") / "redshift__duplicate_id_copy.py"
    shutil.copy(twins[1], renamed)
    done = run_dag_suite(repo_root, tmp_path_factory.mktemp("corpus"), [*SINGLE_FILES, twins[0], renamed])
    return done, [line for line in done.stdout.splitlines() if line.startswith("FAILED")]


def passed(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("PASSED")]


@pytest.mark.slow
@in_the_corpus_run
@pytest.mark.parametrize("path", SINGLE_FILES, ids=lambda p: p.stem)
def test_a_bad_dag_fails_the_gate_naming_it_and_its_rule(corpus_run, path):
    done, failed = corpus_run
    rule = re.match(r"# gate-expects: ([\w-]+)", path.read_text()).group(1)
    names = {path.stem, dag_id_of(path)}
    assert done.returncode != 0
    assert any(rule in line and any(name in line for name in names) for line in failed), "\n".join(failed)


@pytest.mark.slow
@in_the_corpus_run
def test_a_duplicate_dag_id_fails_the_gate(corpus_run):
    _, failed = corpus_run
    assert any(re.search(r"redshift__duplicate_id.*duplicate-dag-id", line) for line in failed), failed


@pytest.mark.slow
@in_the_corpus_run
def test_the_shipped_dags_pass_in_the_same_run(corpus_run):
    """The control: beside the corpus, every shipped DAG loads and passes every rule in its own test, so each
    failure above comes from the corpus file it names."""
    done, failed = corpus_run
    shipped = read_inventory()
    assert shipped, "tools/gate/inventory.json lists no DAG"
    assert any("test_every_inventoried_dag_is_loaded" in line for line in passed(done)), done.stdout[-3000:]
    for dag_id in shipped:
        for rule in RULES:
            assert any(f"[{dag_id}-{rule.name}]" in line for line in passed(done)), f"{dag_id}-{rule.name}"
        assert not [line for line in failed if dag_id in line], f"{dag_id} failed beside the corpus"


@pytest.mark.slow
def test_past_the_per_pair_limit_a_bad_dag_keeps_its_own_failing_test(repo_root, tmp_path):
    """Beyond `one_test_per_dag_and_rule_up_to` DAGs (set to 0 here) the passing pairs share one test per
    rule, rechecked when it runs; the broken pair still fails in a test named after its DAG and rule."""
    done = run_dag_suite(
        repo_root,
        tmp_path,
        [CORPUS / "redshift__no_doc_md.py"],
        suite=("tests/dags/test_dag_policy.py",),
        DAG_POLICY_ONE_TEST_PER_DAG_AND_RULE_UP_TO="0",
    )
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]

    assert done.returncode != 0
    assert len(failed) == 1 and "[redshift__no_doc_md-doc-md]" in failed[0], "\n".join(failed)
    for rule in RULES:
        assert any(f"[every-dag-{rule.name}]" in line for line in passed(done)), f"every-dag-{rule.name}"
    for dag_id in read_inventory():  # shipped DAGs: no test of their own once collapsed
        assert not [line for line in passed(done) if f"[{dag_id}-" in line], dag_id

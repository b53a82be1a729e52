"""End to end through pytest: a corpus DAG added to a copy of dags/ fails the gate, naming file and rule."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gate import SUITE

CORPUS = Path(__file__).with_name("bad_dags")
SINGLE_FILES = sorted(CORPUS.glob("*.py"))


def run_dag_suite(repo_root: Path, tmp: Path, extra: list[Path]) -> subprocess.CompletedProcess:
    dags = tmp / "dags"
    shutil.copytree(repo_root / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp / "sql").symlink_to(repo_root / "sql")
    for path in extra:
        shutil.copy(path, dags / path.name)
        if path.with_suffix("").is_dir():  # files the corpus DAG reads (e.g. a table spec)
            shutil.copytree(path.with_suffix(""), dags / path.stem)
    env = {**os.environ, "GATE_DAGS_FOLDER": str(dags), "AIRFLOW_HOME": str(tmp / "home")}
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", *SUITE],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def outcomes(repo_root, tmp_path_factory):
    cases = {path.stem: [path] for path in SINGLE_FILES}
    cases["duplicate-pair"] = sorted(CORPUS.glob("duplicate_*/*.py"))

    def run(item):
        name, files = item
        if name == "duplicate-pair":  # the twins share a file name: give the second another
            tmp = tmp_path_factory.mktemp(name)
            renamed = tmp / "redshift__duplicate_id_copy.py"
            shutil.copy(files[1], renamed)
            files = [files[0], renamed]
        return name, run_dag_suite(repo_root, tmp_path_factory.mktemp(name), files)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(run, cases.items()))


@pytest.mark.slow
@pytest.mark.parametrize("path", SINGLE_FILES, ids=lambda p: p.stem)
def test_adding_a_bad_dag_fails_naming_file_and_rule(outcomes, path):
    rule = re.match(r"# gate-expects: ([\w-]+)", path.read_text()).group(1)
    done = outcomes[path.stem]
    assert done.returncode != 0, done.stdout
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert any(rule in line for line in failed), done.stdout[-3000:]
    assert path.name in done.stdout, done.stdout[-3000:]


@pytest.mark.slow
def test_adding_a_duplicate_dag_id_fails(outcomes):
    done = outcomes["duplicate-pair"]
    assert done.returncode != 0
    assert re.search(r"FAILED .*duplicate.*duplicate-dag-id", done.stdout), done.stdout[-3000:]


@pytest.mark.slow
def test_the_shipped_dags_alone_pass(repo_root, tmp_path):
    done = run_dag_suite(repo_root, tmp_path, [])
    assert done.returncode == 0, done.stdout[-3000:]

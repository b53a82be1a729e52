"""How the DAG gate scales: our session-scoped suite against a DagBag-per-check baseline.

For N synthetic DAG files (each importing an amazon-provider operator and built with the shared defaults)
it times, in one run and each in a fresh interpreter:

- fixed cost: interpreter start + Airflow and provider import;
- DagBag fill: one DagBag over the N files (per-file cost = fill / N);
- ours: the real gate suite (-m dag_gate: import errors, inventory, every DAG x rule, parse budget) pointed at
  the synthetic folder with GATE_DAGS_FOLDER / GATE_INVENTORY_FILE, as configured (past
  `one_test_per_dag_and_rule_up_to` DAGs the passing DAG x rule pairs share one test per rule);
- per pair: the same suite with one test per DAG x rule at every N (what the collapsing saves);
- baseline: 11 checks that each build a fresh DagBag (what a function-scoped fixture does).

    tools/venv.sh python tools/benchmarks/dag_gate.py [--sizes 50 200 800] [--tasks 1] [--repo-gate]

--repo-gate also times a warm `./run_tests.sh --fast` on the repository's own DAGs.
Prints numbers and the targets they are compared with; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gate
import repository


PYTHON = sys.executable

DAG_TEMPLATE = '''"""Synthetic DAG {n} for the gate benchmark."""

from airflow.providers.amazon.aws.operators.s3 import S3CreateObjectOperator
from airflow.sdk import DAG

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="{dag_id}",
    description="Synthetic benchmark DAG number {n}.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    for part in range({tasks}):
        S3CreateObjectOperator(
            task_id=f"write_marker_{{part}}",
            s3_bucket="{{{{ var.value.lakehouse_bucket }}}}",
            s3_key=f"bench/{n}/{{part}}.txt",
            data="{n}",
        )
'''

BASELINE_TEMPLATE = """
import pytest
from compat.airflow import dag_bag

FOLDER = {folder!r}


@pytest.fixture
def bag():
    return dag_bag(FOLDER)


def test_no_import_errors(bag):
    assert not bag.import_errors


def test_not_empty(bag):
    assert bag.dags


def test_owner(bag):
    assert all(t.owner != "airflow" for d in bag.dags.values() for t in d.tasks)


def test_retries(bag):
    assert all(2 <= t.retries <= 3 for d in bag.dags.values() for t in d.tasks)


def test_tags(bag):
    assert all(d.tags for d in bag.dags.values())


def test_description(bag):
    assert all(len(d.description or "") >= 15 for d in bag.dags.values())


def test_doc_md(bag):
    assert all(d.doc_md for d in bag.dags.values())


def test_catchup(bag):
    assert not any(d.catchup for d in bag.dags.values())


def test_timeout(bag):
    assert all(d.dagrun_timeout for d in bag.dags.values())


def test_start_date(bag):
    assert all(d.start_date for d in bag.dags.values())


def test_callback(bag):
    assert all(d.on_failure_callback for d in bag.dags.values())
"""

FIXED_COST = (
    "import compat.airflow, airflow.providers.amazon.aws.operators.s3, lakehouse.defaults; "
    "compat.airflow.dag_bag_class()"
)
FILL = """
import sys, time, compat.airflow, airflow.providers.amazon.aws.operators.s3, lakehouse.defaults
compat.airflow.dag_bag_class()
start = time.perf_counter()
bag = compat.airflow.dag_bag(sys.argv[1])
print(time.perf_counter() - start, len(bag.dags), len(bag.import_errors))
"""


def environment(home: Path, folder: Path | None = None, inventory: Path | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        PYTHONPATH=os.pathsep.join(map(str, repository.IMPORT_ROOTS)),
    )
    if folder:
        env.update(GATE_DAGS_FOLDER=str(folder), AIRFLOW__CORE__DAGS_FOLDER=str(folder))
    if inventory:
        env["GATE_INVENTORY_FILE"] = str(inventory)
    return env


def timed(
    cmd: list[str], env: dict, cwd: Path = repository.ROOT
) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, done


def last_line(done: subprocess.CompletedProcess) -> str:
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def measure(n: int, work: Path, tasks: int) -> dict:
    folder = work / f"dags_{n}"
    folder.mkdir()
    inventory = {}
    for i in range(n):
        dag_id = f"redshift__bench_{i:04d}"
        (folder / f"{dag_id}.py").write_text(DAG_TEMPLATE.format(n=i, dag_id=dag_id, tasks=tasks))
        inventory[dag_id] = f"{dag_id}.py"
    inventory_file = work / f"inventory_{n}.json"
    inventory_file.write_text(json.dumps(inventory))
    baseline_file = work / f"test_baseline_{n}.py"
    baseline_file.write_text(BASELINE_TEMPLATE.format(folder=str(folder)))
    home = work / f"home_{n}"
    home.mkdir()
    env = environment(home, folder, inventory_file)

    fixed, _ = timed([PYTHON, "-c", FIXED_COST], env)
    _, fill = timed([PYTHON, "-c", FILL, str(folder)], env)
    fill_seconds, loaded, errors = fill.stdout.strip().splitlines()[-1].split()
    pytest = [PYTHON, "-m", "pytest", "-q", "--tb=line", "-p", "no:cacheprovider"]
    ours, ours_run = timed([*pytest, *gate.PYTEST_SELECTION], env)
    per_pair, per_pair_run = timed(
        [*pytest, *gate.PYTEST_SELECTION], {**env, "DAG_POLICY_ONE_TEST_PER_DAG_AND_RULE_UP_TO": str(n)}
    )
    base, base_run = timed([*pytest, "--rootdir", str(work), str(baseline_file)], env, cwd=work)
    return {
        "n": n,
        "fixed": fixed,
        "fill": float(fill_seconds),
        "per_file_ms": 1000 * float(fill_seconds) / n,
        "dags_loaded": int(loaded),
        "import_errors": int(errors),
        "ours": ours,
        "ours_result": last_line(ours_run),
        "per_pair": per_pair,
        "per_pair_result": last_line(per_pair_run),
        "baseline": base,
        "baseline_result": last_line(base_run),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--tasks", type=int, default=1, help="tasks per synthetic DAG (default 1)")
    parser.add_argument("--repo-gate", action="store_true", help="also time a warm ./run_tests.sh --fast")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        rows = [measure(n, Path(tmp), args.tasks) for n in args.sizes]
    print(
        f"{'N':>5} {'fixed s':>8} {'ms/file':>8} {'ours s':>8} {'per pair s':>11} {'baseline s':>11} "
        f"{'ratio':>6}  results"
    )
    for r in rows:
        print(
            f"{r['n']:>5} {r['fixed']:>8.2f} {r['per_file_ms']:>8.2f} {r['ours']:>8.2f} "
            f"{r['per_pair']:>11.2f} "
            f"{r['baseline']:>11.2f} {r['baseline'] / r['ours']:>6.1f}  ours: {r['ours_result']} | "
            f"per pair: {r['per_pair_result']} | baseline: {r['baseline_result']}"
        )
    largest = rows[-1]
    budget = largest["fixed"] + largest["n"] * 0.003
    print(
        f"targets at N={largest['n']}: baseline/ours >= 3 -> {largest['baseline'] / largest['ours']:.1f}; "
        f"ours <= 1.5 x (fixed + N x 3 ms) = {1.5 * budget:.2f} s -> {largest['ours']:.2f} s"
    )
    if args.repo_gate:
        seconds, done = timed([str(repository.ROOT / "run_tests.sh"), "--fast"], dict(os.environ))
        print(
            f"warm ./run_tests.sh --fast on this repository: {seconds:.1f} s (target <= 15 s): "
            f"{last_line(done)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

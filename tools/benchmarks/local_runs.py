"""Wall time of each DAG of the inventory run end to end on the local AWS (as tests/e2e, run_local.sh).

For every DAG: a freshly seeded account, one successful `dag.test()` run as its schedule makes it
(asset-triggered, the scheduled run of the sample's interval, or by hand without a date), timed
around dag.test alone, then the number of tasks. Also the harness start-up (moto server, metadata DB,
seeding with the sample).

    tools/venv.sh python tools/benchmarks/local_runs.py [DAG_ID ...]

Target: the whole end-to-end suite (two runs per DAG) well within the CI budget. Prints numbers only.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback

from airflow_home import prepare


prepare()


def main(dag_ids: list[str]) -> int:
    # dag.test logs every task and warns about Airflow's own deprecations (stdout, stderr): only the
    # numbers are printed, and the traceback if the measurement fails.
    logging.disable(logging.WARNING)
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    saved_stderr = os.dup(sys.stderr.fileno())
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(devnull, sys.stdout.fileno())
    os.dup2(devnull, sys.stderr.fileno())
    try:
        return measure(dag_ids, report)
    except Exception:
        report.write(traceback.format_exc())
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(report.fileno(), sys.stdout.fileno())
        os.dup2(saved_stderr, sys.stderr.fileno())


def measure(dag_ids: list[str], report) -> int:
    from gate.inventory import read
    from local_aws.harness import LocalAws
    from local_aws.run import ensure_metadata_db

    start = time.perf_counter()
    ensure_metadata_db()
    with LocalAws() as aws:
        print(
            f"harness start-up (DB, moto server, seeding): {time.perf_counter() - start:6.1f} s", file=report
        )
        total = 0.0
        for dag_id in dag_ids or sorted(read()):
            seed_start = time.perf_counter()
            aws.reset()
            seeded = time.perf_counter() - seed_start
            dag = aws.load(dag_id)
            result = aws.run_dag(dag, aws.normal_run(dag))  # as its schedule runs it
            total += result.seconds
            print(
                f"{dag_id:<42} {result.state:<8} {result.seconds:6.1f} s  {len(dag.tasks):3d} tasks  "
                f"(reseed {seeded:.1f} s)",
                file=report,
            )
        print(f"{'all DAGs (dag.test only)':<42} {'':<8} {total:6.1f} s", file=report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

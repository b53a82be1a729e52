"""Wall time of `./run_local.sh --all`: every DAG of the lake run as the scheduler runs it, chained by assets.

Runs the command twice, as a user would, and prints both wall times; the second is the warm one (Python's
bytecode and the OS file cache filled). Also the time the command reports for the runs alone, and the CPU
time it used (user + system): on a machine shared with other work, wall time grows, CPU time does not.

    LAKEHOUSE_VENV=.venv tools/venv.sh python tools/benchmarks/run_all.py

Target: warm wall time under 60 s on two cores. Prints numbers only.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
import repository

RUNS_LINE = re.compile(r"== every DAG as the scheduler runs it \((\d+) runs, ([\d.]+) s\)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once() -> tuple[float, float, str]:
    # The user's shell: none of the Airflow or AWS settings of the calling environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [str(repository.ROOT / "run_local.sh"), "--all"],
        cwd=repository.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(
            f"./run_local.sh --all exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
        )
    return seconds, cpu, done.stdout


def main() -> int:
    for label in ("cold", "warm"):
        seconds, cpu, output = run_once()
        match = RUNS_LINE.search(output)
        runs, in_runs = (match.group(1), match.group(2)) if match else ("?", "?")
        print(
            f"./run_local.sh --all ({label}): {seconds:6.1f} s wall, {cpu:6.1f} s CPU, "
            f"{runs} runs taking {in_runs} s; load average {os.getloadavg()[0]:.1f}"
        )
    print(output[output.index("== every DAG") :].split("\n", 1)[1].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

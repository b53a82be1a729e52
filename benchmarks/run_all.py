"""Wall time of `./run_local.sh --all`: every DAG of the lake run as the scheduler runs it, chained by assets.

Runs the command twice, as a user would, and prints both wall times; the second is the warm one (Python's
bytecode and the OS file cache filled). Also the time the command reports for the runs alone.

    LAKEHOUSE_VENV=.venv .venv/bin/python benchmarks/run_all.py

Target: warm wall time under 60 s on two cores. Prints numbers only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS_LINE = re.compile(r"== every DAG as the scheduler runs it \((\d+) runs, ([\d.]+) s\)")


def run_once() -> tuple[float, str]:
    # The user's shell: none of the Airflow or AWS settings of the calling environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    start = time.perf_counter()
    done = subprocess.run(
        [str(REPO / "run_local.sh"), "--all"], cwd=REPO, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"./run_local.sh --all exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
        )
    return seconds, done.stdout


def main() -> int:
    for label in ("cold", "warm"):
        seconds, output = run_once()
        match = RUNS_LINE.search(output)
        runs, in_runs = (match.group(1), match.group(2)) if match else ("?", "?")
        print(f"./run_local.sh --all ({label}): {seconds:6.1f} s wall, {runs} runs taking {in_runs} s")
    print(output[output.index("== every DAG") :].split("\n", 1)[1].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

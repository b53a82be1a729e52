"""What the data-lake and Hudi DAG files cost the DAG processor on every parse.

Times, in this interpreter: the Hudi spec load and validation (YAML + the Avro schemas) and the builder
(spec -> EMR steps), then the per-file parse time the gate measures (gate.loader: beyond the imports every
DAG file shares) for dags/datalake__*.py and dags/hudi__*.py, over a few DagBag fills.

    tools/venv.sh python tools/benchmarks/lake_dags.py [--repeat 5]

Target: each file well under the gate's 0.5 s budget (tools/gate/policy.toml). Prints numbers; asserts
nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from airflow_home import prepare


DAGS = prepare()


def per_call_ms(function, calls: int = 200) -> float:
    function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="DagBag fills to time (default 5)")
    args = parser.parse_args(argv)

    from gate.loader import load
    from lakehouse.hudi import UPSERT, emr_step, load_spec

    spec = DAGS / "hudi" / "tables.yaml"
    tables = load_spec(spec)
    spec_ms = per_call_ms(lambda: load_spec(spec))
    builder_ms = per_call_ms(lambda: [emr_step(table, UPSERT) for table in tables])
    print(f"hudi spec load + validation ({len(tables)} tables): {spec_ms:.2f} ms")
    print(f"builder, EMR steps for every table: {builder_ms:.3f} ms")

    seconds: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        loaded = load(DAGS)
        for path, value in loaded.parse_seconds.items():
            if path.name.startswith(("datalake__", "hudi__")):
                seconds.setdefault(path.name, []).append(value)
    print(f"parse time per file beyond shared imports, {args.repeat} DagBag fills (budget 0.5 s):")
    for name, values in sorted(seconds.items()):
        median, worst = statistics.median(values) * 1000, max(values) * 1000
        print(f"  {name:<36} median {median:6.1f} ms   max {worst:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the structure snapshot, docs/dags.md and the schedule-change check add to the gate's fast path.

For the repository's DAGs and for N synthetic DAGs (a third on cron, a third on the asset the previous DAG
produces, a third manual; each with a task group of three tasks and a Variable in a template), parsed once
as the gate parses them (gate.loader), it times what the gate tests do beyond that parse:

- snapshot: the structure of every DAG (gate.inventory.snapshot);
- drift: comparing it with the recorded snapshot (nothing changed, so nothing to report);
- catalogue: rendering docs/dags.md and comparing it with the file;
- schedules, unchanged: the schedule-change check when no schedule-related setting changed;
- schedules, one change: the same with one DAG's cron tightened (its runs computed with Airflow's timetable).

    tools/venv.sh python -m benchmarks.dag_catalogue [--sizes 100 800] [--repeat 5]

Targets: snapshot + drift + catalogue under 0.5 s for the repository; the schedule check under 0.2 s when
nothing schedule-related changed. Prints numbers (median of --repeat); asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

from airflow_home import prepare

DAGS = prepare()

DAG_TEMPLATE = '''"""Synthetic DAG {n} for the catalogue benchmark."""

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, TaskGroup

with DAG(
    dag_id="bench_{n:04d}",
    doc_md=__doc__,
    schedule={schedule},
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["tickit"],
):
    start = EmptyOperator(task_id="start")
    with TaskGroup("work") as work:
        first = BashOperator(task_id="first", bash_command="echo {{{{ var.value.lakehouse_bucket }}}}/{n}")
        first >> EmptyOperator(task_id="second") >> EmptyOperator(task_id="third")
    start >> work >> EmptyOperator(task_id="done", outlets=[Asset(name="bench_asset_{n:04d}")])
'''


def schedule_of(n: int) -> str:
    if n % 3 == 0:
        return f'"{n % 60} * * * *"'
    if n % 3 == 1 and n > 0:
        return f'[Asset(name="bench_asset_{n - 1:04d}")]'
    return "None"


def write_dags(folder: Path, count: int) -> None:
    for n in range(count):
        (folder / f"bench_{n:04d}.py").write_text(DAG_TEMPLATE.format(n=n, schedule=schedule_of(n)))


def median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(label: str, loaded, repeat: int) -> None:
    from gate import catalogue, inventory, schedule_changes

    recorded = copy.deepcopy(inventory.snapshot(loaded))
    docs = catalogue.render(loaded, recorded)

    def fresh_snapshot():
        inventory._SNAPSHOTS.clear()  # the gate makes it once per session: time that once
        return inventory.snapshot(loaded)

    snapshot_ms = median_ms(fresh_snapshot, repeat)
    found = inventory.snapshot(loaded)
    drift_ms = median_ms(lambda: inventory.drift(recorded, found), repeat)
    catalogue_ms = median_ms(lambda: catalogue.render(loaded, found) == docs, repeat)
    unchanged_ms = median_ms(lambda: schedule_changes.review(recorded, found), repeat)
    changed = copy.deepcopy(recorded)
    cron = next(dag_id for dag_id, entry in changed.items() if "cron" in entry["schedule"])
    changed[cron]["timetable"]["__var"]["expression"] = "*/5 * * * *"
    changed[cron]["schedule"] = "every 5 minutes"
    one_change = schedule_changes.review(recorded, changed)
    changed_ms = median_ms(lambda: schedule_changes.review(recorded, changed), repeat)
    total = snapshot_ms + drift_ms + catalogue_ms + unchanged_ms
    print(
        f"{label}: {len(loaded.dags)} DAGs: snapshot {snapshot_ms:.1f} ms, drift {drift_ms:.1f} ms, "
        f"catalogue {catalogue_ms:.1f} ms, schedules unchanged {unchanged_ms:.1f} ms: the gate's fast path "
        f"adds {total:.1f} ms; schedules with one change {changed_ms:.1f} ms "
        f"({', '.join(c.dag_id + ': ' + c.per_day_words() for c in one_change.changes)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 800])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    from gate.loader import load

    measure("repository", load(DAGS), args.repeat)
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="catalogue-bench-") as folder:
            write_dags(Path(folder), size)
            loaded = load(Path(folder))
            assert not loaded.bag.import_errors, loaded.bag.import_errors
            measure(f"synthetic N={size}", loaded, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The whole lake on the local AWS, run as MWAA's scheduler would run it (`./run_local.sh --all`).

First one run of every DAG that is not scheduled on assets: a DAG without a schedule as a manual trigger
without a logical date, a timetable DAG as its scheduled run of the sample's interval. Their outlets record
asset events, and Airflow's AssetManager queues the DAGs scheduled on those assets (AssetDagRunQueue). Then,
as SchedulerJobRunner does on each loop, every queued DAG whose asset condition the queued assets satisfy
(the DAG's asset condition, evaluated by Airflow's own AssetEvaluator as in DagModel.dags_needing_dagruns:
compat.airflow.asset_condition_met) gets an asset-triggered run with the events that
triggered it, until nothing more is due.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from compat import airflow as airflow_compat
from gate.run_contexts import asset_triggered_run, is_asset_scheduled, normal_run
from local_aws.run import RunResult, register, triggering_events

MAX_WAVES = 20  # a chain longer than this is a cycle of assets: stop instead of running forever


@dataclass(frozen=True)
class LakeRun:
    why: str  # what triggered the run
    result: RunResult

    def cells(self) -> tuple[str, ...]:
        result = self.result
        logical = f"{result.logical_date:%Y-%m-%d %H:%M}" if result.logical_date else "none"
        return (result.dag_id, self.why, logical, result.state, f"{result.seconds:.1f} s")


HEADER = ("DAG", "triggered by", "logical date", "state", "duration")


def table(runs: list[LakeRun]) -> str:
    """One line per run, in the order they ran, columns aligned."""
    rows = [HEADER, *(run.cells() for run in runs)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )


def due_dags(dags: dict) -> dict[str, datetime]:
    """{dag_id: triggered date} of the DAGs whose asset condition the queued assets satisfy; their queue is
    emptied, as the scheduler does when it creates their runs (DagModel.dags_needing_dagruns)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    due = {}
    with create_session() as session:
        queued = defaultdict(list)
        for item in session.scalars(select(AssetDagRunQueue)):
            queued[item.target_dag_id].append(item)
        for dag_id, items in sorted(queued.items()):
            assets = [item.asset for item in items]
            if dag_id in dags and airflow_compat.asset_condition_met(dags[dag_id], assets, session):
                due[dag_id] = max(item.created_at for item in items)
                session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
    return due


def _why_asset_triggered(dag, triggered: datetime) -> str:
    from airflow.utils.session import create_session

    with create_session() as session:
        events = triggering_events(session, dag, triggered)
        sources = sorted({f"{event.asset.name} from {event.source_dag_id or 'outside'}" for event in events})
    return "asset " + ", ".join(sources)


def _why_first(run) -> str:
    if run.data_interval is None:
        return "manual trigger, no logical date"
    start, end = run.data_interval
    return f"schedule: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"


def run_all(aws, dags: dict, on_run=None) -> list[LakeRun]:
    """Run the lake on `aws` (a local_aws.harness.LocalAws); `on_run(lake_run)` is called after each run."""
    register(*dags.values(), unpaused=True)
    runs: list[LakeRun] = []

    def record(why: str, dag, run) -> None:
        lake_run = LakeRun(why, aws.run_dag(dag, run))
        runs.append(lake_run)
        if on_run:
            on_run(lake_run)

    for dag_id, dag in sorted(dags.items()):
        if not is_asset_scheduled(dag):
            run = normal_run(dag, aws.sample_day)
            record(_why_first(run), dag, run)
    for _ in range(MAX_WAVES):
        due = due_dags(dags)
        if not due:
            return runs
        for dag_id, triggered in sorted(due.items()):
            record(
                _why_asset_triggered(dags[dag_id], triggered), dags[dag_id], asset_triggered_run(triggered)
            )
    raise RuntimeError(
        f"assets still trigger DAGs after {MAX_WAVES} waves: a cycle of assets "
        f"({', '.join(sorted(due_dags(dags)))}). Fix: no DAG may be scheduled, directly or not, on its own "
        "asset."
    )

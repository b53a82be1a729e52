"""What a DAG should send to AWS, computed from its SQL files and Variables without running it.

The e2e tests compare this with what reached the local AWS: the same statements, in the same calls. The
rendering is plain Jinja over the DAG's template search path with a small context (params, the run's dates,
`var.value`), independent of Airflow's own rendering; a template that needs more fails with its name.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import jinja2
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator


def template_context(dag, task, logical_date: datetime, variables: dict[str, str]) -> dict:
    interval = dag.timetable.infer_manual_data_interval(run_after=logical_date)
    return {
        "params": {**dag.params.dump(), **task.params.dump()},
        "ds": logical_date.strftime("%Y-%m-%d"),
        "ds_nodash": logical_date.strftime("%Y%m%d"),
        "logical_date": logical_date,
        "data_interval_start": interval.start,
        "data_interval_end": interval.end,
        "dag": dag,
        "task": task,
        "var": SimpleNamespace(value=SimpleNamespace(**variables)),
    }


def render(dag, task, template: str, logical_date: datetime, variables: dict[str, str]) -> str:
    """`template` (SQL text, or a .sql path under the DAG's template_searchpath) rendered for the run."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dag.template_searchpath or []), undefined=jinja2.StrictUndefined
    )
    compiled = env.get_template(template) if template.endswith(".sql") else env.from_string(template)
    try:
        return compiled.render(template_context(dag, task, logical_date, variables))
    except jinja2.UndefinedError as error:
        raise ValueError(
            f"{dag.dag_id}.{task.task_id}: template {template[:80]!r} uses {error.message}, which "
            "local_aws.expected.template_context does not provide. Fix: add it there."
        ) from error


def _as_list(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def redshift_calls(dag, logical_date: datetime, variables: dict[str, str]) -> list[list[str]]:
    """One list of statements per RedshiftDataOperator task (a list of SQL files is one batch call)."""
    return [
        [render(dag, task, sql, logical_date, variables) for sql in _as_list(task.sql)]
        for task in dag.tasks
        if isinstance(task, RedshiftDataOperator)
    ]


def athena_queries(dag, logical_date: datetime, variables: dict[str, str]) -> list[str]:
    return [
        render(dag, task, task.query, logical_date, variables)
        for task in dag.tasks
        if isinstance(task, AthenaOperator)
    ]

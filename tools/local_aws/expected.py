"""What a DAG should send to AWS, computed from its SQL files and Variables without running it.

The e2e tests compare this with what reached the local AWS: the same statements, in the same calls. The
rendering is plain Jinja over the DAG's template search path with the context a task of the run has
(gate.run_contexts: an asset-triggered run or a manual one without a logical date has no `ds`, no
`logical_date`, no data interval), independent of Airflow's own rendering; a template that needs more
fails with its name.
"""

from __future__ import annotations

import jinja2
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

from gate.run_contexts import RunContext, template_context


def render(dag, task, template: str, run: RunContext, variables: dict[str, str]) -> str:
    """`template` (SQL text, or a .sql path under the DAG's template_searchpath) rendered for `run`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dag.template_searchpath or []), undefined=jinja2.StrictUndefined
    )
    env.globals.update(dag.user_defined_macros or {})
    compiled = env.get_template(template) if template.endswith(".sql") else env.from_string(template)
    try:
        return compiled.render(template_context(dag, task, run, variables))
    except jinja2.UndefinedError as error:
        raise ValueError(
            f"{dag.dag_id}.{task.task_id}: template {template[:80]!r} uses {error.message}, which a task of "
            f"a {run.describe()} does not have. Fix: use only what that run provides (gate.run_contexts)."
        ) from error


def _as_list(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def redshift_calls(dag, run: RunContext, variables: dict[str, str]) -> list[list[str]]:
    """One list of statements per RedshiftDataOperator task (a list of SQL files is one batch call)."""
    return [
        [render(dag, task, sql, run, variables) for sql in _as_list(task.sql)]
        for task in dag.tasks
        if isinstance(task, RedshiftDataOperator)
    ]


def athena_queries(dag, run: RunContext, variables: dict[str, str]) -> list[str]:
    return [
        render(dag, task, task.query, run, variables)
        for task in dag.tasks
        if isinstance(task, AthenaOperator)
    ]

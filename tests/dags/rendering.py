"""Render a task's templated fields as a run would, without a metadata database.

The context is the one a task of the given run has (gate.run_contexts.template_context: `ds`, `ts`,
`logical_date` and `data_interval_*` only when the run has a logical date), with `var.value.NAME` read from
config/variables.json. The DAG's own Jinja environment (StrictUndefined, template_searchpath = sql/)
renders, so a missing template file or an undefined name fails here as it would on MWAA.
"""

from __future__ import annotations

from gate.run_contexts import (  # noqa: F401  (the tests' imports)
    VARIABLES_FILE,
    MissingVariable,
    RunContext,
    manual_run,
    normal_run,
    possible_runs,
    render_task,
    scheduled_run,
    variable_values,
)


def rendered_sql(task, run: RunContext, variables: dict[str, str] | None = None) -> list[str]:
    """The statements a Redshift Data API task sends in `run` (a list = one batch)."""
    sql = render_task(task, run, variables).sql
    return list(sql) if isinstance(sql, (list, tuple)) else [sql]

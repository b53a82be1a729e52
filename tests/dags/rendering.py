"""Render a task's templated fields as a run would, without a metadata database.

The context holds what the lakehouse templates use: the run's dates, `params`, and `var.value.NAME` read from
config/variables.json. The DAG's own Jinja environment (StrictUndefined, template_searchpath = sql/) renders,
so a missing template file or an undefined name fails here as it would on MWAA.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pendulum
from airflow.timetables.base import TimeRestriction

VARIABLES_FILE = Path(__file__).resolve().parents[2] / "config" / "variables.json"


def variable_values(path: Path = VARIABLES_FILE) -> dict[str, str]:
    return {name: entry["value"] for name, entry in json.loads(path.read_text()).items()}


class MissingVariable(KeyError):
    pass


class _VariableValues:
    """`var.value.NAME`: the value from config/variables.json, or an error that names the fix."""

    def __init__(self, values: dict[str, str]):
        self._values = values

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._values:
            raise MissingVariable(
                f"Variable '{name}' is used in a template but not listed in {VARIABLES_FILE}. "
                "Fix: add it there with a description and a local value."
            )
        return self._values[name]

    get = __getattr__


class _XComValue:
    """What `ti.xcom_pull(...)` stands for before any task ran: indexable, rendered as `xcom:<task>`."""

    def __init__(self, name: str):
        self._name = name

    def __getitem__(self, item) -> "_XComValue":
        return _XComValue(f"{self._name}[{item!r}]")

    def __str__(self) -> str:
        return f"xcom:{self._name}"


class _TaskInstance:
    """`ti` in templates: xcom_pull checks that the tasks it reads from exist in the DAG."""

    def __init__(self, dag, task):
        self.dag, self.task = dag, task
        self.task_id = task.task_id

    def xcom_pull(self, task_ids=None, key: str = "return_value", **_):
        names = [task_ids] if isinstance(task_ids, str) else list(task_ids or [self.task_id])
        missing = [name for name in names if name not in self.dag.task_dict]
        if missing:
            raise KeyError(f"{self.dag.dag_id}.{self.task_id}: xcom_pull from unknown task(s) {missing}")
        return _XComValue(",".join(names) + ("" if key == "return_value" else f":{key}"))


def data_interval(dag, logical_date: datetime):
    """The data interval of the run of `dag` at `logical_date`, as the scheduler would give it.

    Interval timetables put the logical date at the start of the interval; the others (asset-triggered,
    manual) give the zero-length interval at the logical date.
    """
    logical_date = pendulum.instance(logical_date)
    interval = dag.timetable.infer_manual_data_interval(run_after=logical_date)
    if interval.start < logical_date:  # the interval ending at the logical date: take the one it starts
        restriction = TimeRestriction(earliest=None, latest=None, catchup=True)
        interval = dag.timetable.next_dagrun_info(
            last_automated_data_interval=interval, restriction=restriction
        ).data_interval
    return interval


def run_context(dag, task, logical_date: datetime, variables: dict[str, str]) -> dict:
    interval = data_interval(dag, logical_date)
    start, end = interval.start, interval.end
    return {
        "dag": dag,
        "task": task,
        "params": task.params.dump() if hasattr(task.params, "dump") else dict(task.params),
        "var": {"value": _VariableValues(variables)},
        "ti": _TaskInstance(dag, task),
        "task_instance": _TaskInstance(dag, task),
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": end,
        "ds": start.strftime("%Y-%m-%d"),
        "ds_nodash": start.strftime("%Y%m%d"),
        "ts": start.isoformat(),
        "run_id": f"scheduled__{start.isoformat()}",
    }


def render_task(task, logical_date: datetime, variables: dict[str, str] | None = None):
    """A copy of `task` with every templated field rendered for a run at `logical_date`."""
    dag = task.dag
    rendered = copy.copy(task)
    context = run_context(dag, task, logical_date, variables if variables is not None else variable_values())
    rendered.render_template_fields(context, jinja_env=dag.get_template_env())
    return rendered


def rendered_sql(task, logical_date: datetime, variables: dict[str, str] | None = None) -> list[str]:
    """The statements a Redshift Data API task sends (a list = one batch)."""
    sql = render_task(task, logical_date, variables).sql
    return list(sql) if isinstance(sql, (list, tuple)) else [sql]

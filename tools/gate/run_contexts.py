"""The runs Airflow 3.0.6 creates for a DAG, and the template context each of their tasks sees.

Which runs a schedule produces (airflow/jobs/scheduler_job_runner.py, the REST API's trigger endpoint):

    asset-triggered   logical_date=None, data_interval=None, run_after = the last triggering event's time
    scheduled         the timetable's next_dagrun_info: logical date and data interval of the interval
    manual            with a logical date L: data interval = timetable.infer_manual_data_interval(L);
                      without one (the REST API and CLI allow `logical_date: null`): neither

Every DAG can be triggered by hand both ways. A task's context (RuntimeTaskInstance.get_template_context in
airflow/sdk/execution_time/task_runner.py) has `ds`, `ts`, `logical_date` and `data_interval_*` only when
the run has a logical date; with StrictUndefined a template that uses them fails in any other run.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from compat import airflow as airflow_compat
import repository

VARIABLES_FILE = repository.CONFIG / "variables.json"

ASSET_TRIGGERED = "asset_triggered"
SCHEDULED = "scheduled"
MANUAL = "manual"
# Why a run exists, as Airflow records it (DagRunTriggeredByType).
TRIGGERED_BY = {ASSET_TRIGGERED: "asset", SCHEDULED: "timetable", MANUAL: "rest_api"}
# A moment for runs that have no logical date (their run_after is the triggering time).
REFERENCE_TIME = datetime(2024, 3, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RunContext:
    """One DagRun as Airflow creates it: its type, logical date, data interval and run_after."""

    run_type: str  # ASSET_TRIGGERED, SCHEDULED or MANUAL
    run_id: str
    run_after: datetime
    logical_date: datetime | None = None
    data_interval: tuple[datetime, datetime] | None = None

    def describe(self) -> str:
        """What a reader needs to know about the run, e.g. 'asset-triggered run: no logical date'."""
        if self.run_type == ASSET_TRIGGERED:
            return "asset-triggered run: no logical date, no data interval"
        if self.logical_date is None:
            return "manual run without a logical date: no logical date, no data interval"
        start, end = self.data_interval
        interval = f"data interval {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
        if self.run_type == SCHEDULED:
            return f"scheduled run: {interval}"
        return f"manual run with logical date {self.logical_date:%Y-%m-%d %H:%M}: {interval}"


def _run_id(run_type: str, run_after: datetime, logical_date: datetime | None) -> str:
    """As DagRun.generate_run_id (a run without a logical date gets a random suffix, as on MWAA)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    return DagRun.generate_run_id(
        run_type=DagRunType(run_type), logical_date=logical_date, run_after=run_after
    )


def _utc(moment: datetime):
    import pendulum

    return pendulum.instance(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


def is_asset_scheduled(dag) -> bool:
    return airflow_compat.asset_triggered(dag)


def asset_triggered_run(run_after: datetime) -> RunContext:
    run_after = _utc(run_after)
    return RunContext(ASSET_TRIGGERED, _run_id(ASSET_TRIGGERED, run_after, None), run_after)


def scheduled_run(dag, earliest: datetime) -> RunContext | None:
    """The timetable's first scheduled run whose interval starts at or after `earliest` (None: none)."""
    from airflow.timetables.base import TimeRestriction

    timetable = airflow_compat.core_timetable(dag)
    restriction = TimeRestriction(earliest=_utc(earliest), latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    if info is None:
        return None
    from airflow.utils.types import DagRunType

    # The scheduler names the run after its logical date (SchedulerJobRunner._create_dag_runs).
    run_id = timetable.generate_run_id(
        run_type=DagRunType.SCHEDULED, run_after=info.logical_date, data_interval=info.data_interval
    )
    interval = (info.data_interval.start, info.data_interval.end)
    return RunContext(SCHEDULED, run_id, info.run_after, info.logical_date, interval)


def manual_run(dag, logical_date: datetime | None = None, run_after: datetime | None = None) -> RunContext:
    """A run triggered by hand, as the REST API creates it (run_after = the interval's end with a date)."""
    if logical_date is None:
        run_after = _utc(run_after or REFERENCE_TIME)
        return RunContext(MANUAL, _run_id(MANUAL, run_after, None), run_after)
    logical_date = _utc(logical_date)
    interval = airflow_compat.core_timetable(dag).infer_manual_data_interval(run_after=logical_date)
    run_id = _run_id(MANUAL, interval.end, logical_date)
    return RunContext(MANUAL, run_id, interval.end, logical_date, (interval.start, interval.end))


def normal_run(dag, day: datetime | None = None, run_after: datetime | None = None) -> RunContext:
    """The run the DAG's own schedule makes: asset-triggered, the scheduled run of the interval starting
    on `day` (default: the first after the start date), or a manual run without a logical date."""
    if is_asset_scheduled(dag):
        return asset_triggered_run(run_after or REFERENCE_TIME)
    scheduled = scheduled_run(dag, day or dag.start_date or REFERENCE_TIME)
    return scheduled or manual_run(dag, None, run_after)


def possible_runs(dag, day: datetime | None = None) -> list[RunContext]:
    """Every kind of run the DAG's schedule can produce: its own trigger, then manual with and without a
    logical date (the logical date `day`, default the start date)."""
    day = _utc(day or dag.start_date or REFERENCE_TIME)
    runs = [normal_run(dag, day)]
    runs += [manual_run(dag, day), manual_run(dag, None)]
    unique = {(run.run_type, run.logical_date, run.data_interval): run for run in reversed(runs)}
    return [run for run in runs if unique[(run.run_type, run.logical_date, run.data_interval)] is run]


# The context a task sees (RuntimeTaskInstance.get_template_context), without a metadata database.


def dumped_params(task) -> dict:
    return task.params.dump() if hasattr(task.params, "dump") else dict(task.params)


def variable_values(path: Path = VARIABLES_FILE) -> dict[str, str]:
    return {name: str(entry["value"]) for name, entry in json.loads(path.read_text()).items()}


class MissingVariable(KeyError):
    pass


class VariableValues:
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

    def get(self, name: str, default_var=None):
        return self._values.get(name, default_var)


class XComValue:
    """What `ti.xcom_pull(...)` stands for before any task ran: indexable, rendered as `xcom:<task>`."""

    def __init__(self, name: str):
        self._name = name

    def __getitem__(self, item) -> XComValue:
        return XComValue(f"{self._name}[{item!r}]")

    def __str__(self) -> str:
        return f"xcom:{self._name}"


class TaskInstanceStandIn:
    """`ti` in templates: xcom_pull checks that the tasks it reads from exist in the DAG."""

    def __init__(self, dag, task, run_id: str):
        self.dag, self.task, self.run_id = dag, task, run_id
        self.task_id, self.dag_id = task.task_id, dag.dag_id

    def xcom_pull(self, task_ids=None, key: str = "return_value", **_):
        names = [task_ids] if isinstance(task_ids, str) else list(task_ids or [self.task_id])
        missing = [name for name in names if name not in self.dag.task_dict]
        if missing:
            raise KeyError(f"{self.dag.dag_id}.{self.task_id}: xcom_pull from unknown task(s) {missing}")
        return XComValue(",".join(names) + ("" if key == "return_value" else f":{key}"))


def template_context(
    dag, task, run: RunContext, variables: dict[str, str], params: dict | None = None
) -> dict:
    """The names a template of `task` can use in `run`, as Airflow 3.0.6's task runner provides them.

    `params`: the task's dumped params when the caller has them (dumping validates every param's schema,
    the larger part of building a context, and gives the same values in every run)."""
    from airflow.sdk.execution_time.context import MacrosAccessor

    run_id = run.run_id
    start, end = run.data_interval or (None, None)
    dag_run = SimpleNamespace(
        dag_id=dag.dag_id,
        run_id=run_id,
        run_type=run.run_type,
        run_after=run.run_after,
        logical_date=run.logical_date,
        data_interval_start=start,
        data_interval_end=end,
        conf={},
        consumed_asset_events=[],
    )
    ti = TaskInstanceStandIn(dag, task, run_id)
    params = dict(params) if params is not None else dumped_params(task)
    context = {
        "dag": dag,
        "task": task,
        "run_id": run_id,
        "dag_run": dag_run,
        "ti": ti,
        "task_instance": ti,
        "params": params,
        "var": {"value": VariableValues(variables), "json": VariableValues(variables)},
        "macros": MacrosAccessor(),
        "inlets": task.inlets,
        "outlets": task.outlets,
        "triggering_asset_events": {},
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{run_id}",
        "task_reschedule_count": 0,
        "prev_start_date_success": None,
        "prev_end_date_success": None,
    }
    if run.logical_date is not None:
        logical_date = run.logical_date
        ds, ts = logical_date.strftime("%Y-%m-%d"), logical_date.isoformat()
        context.update(
            {
                "logical_date": logical_date,
                "ds": ds,
                "ds_nodash": ds.replace("-", ""),
                "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds.replace('-', '')}",
                "ts": ts,
                "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S"),
                "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
                "data_interval_start": start,
                "data_interval_end": end,
                "prev_data_interval_start_success": None,
                "prev_data_interval_end_success": None,
            }
        )
    return context


def render_task(task, run: RunContext, variables: dict[str, str] | None = None):
    """A copy of `task` with every templated field rendered for `run`, by the DAG's own Jinja environment
    (StrictUndefined, template_searchpath = sql/), as the task runner renders it."""
    from gate.template_files import TemplateFileError, explain

    dag = task.dag
    rendered, jinja_env = copy.copy(task), dag.get_template_env()
    context = template_context(dag, task, run, variables if variables is not None else variable_values())
    try:
        rendered.render_template_fields(context, jinja_env=jinja_env)
    except Exception as error:
        field = _failing_field(copy.copy(task), context, jinja_env)
        explained = explain(error, jinja_env, f"{dag.dag_id}.{task.task_id}, field '{field}'")
        if explained is None:
            raise
        raise TemplateFileError(explained) from None
    return rendered


def failure_callbacks(dag) -> list:
    callbacks = dag.on_failure_callback or []
    return [cb for cb in (callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]) if cb]


def callback_context(dag, run: RunContext, variables: dict[str, str]) -> dict:
    """The context a DAG failure callback gets (DagRun.handle_dag_callback, the DAG processor's
    _execute_dag_callbacks): the last task's context plus `reason`. (Only a run without any task instance
    gets less: dag, run_id and reason; every run of a DAG with tasks has them.)"""
    return {**template_context(dag, dag.tasks[-1], run, variables), "reason": "task_failure"}


def render_callback(callback, context: dict) -> None:
    """Render a notifier's templated fields as its __call__ does (on a copy: rendering mutates it)."""
    rendered, context = copy.copy(callback), dict(context)
    if hasattr(rendered, "_update_context"):
        rendered._update_context(context)
    if hasattr(rendered, "render_template_fields"):
        rendered.render_template_fields(context)


# What the gate rule "templates-render" checks.


def _failing_field(templated, context: dict, jinja_env) -> str:
    """The first templated field of a task or notifier that does not render alone, or its own check."""
    for field in templated.template_fields:
        try:
            templated.render_template(getattr(templated, field, None), dict(context), jinja_env, set())
        except Exception:
            return field
    return "(the task's own check before rendering)"


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{type(error).__name__}: {text}"


def render_problems(dag, variables: dict[str, str] | None = None) -> list[str]:
    """Every (task or callback, field, run) of `dag` whose templates do not render, one line each.

    A task may refuse a run on purpose (AirflowFailException, e.g. a load that needs a data interval in a
    run that has none): that is a diagnosis for the user, not a rendering bug, and passes.
    """
    from gate.template_files import explain

    refusal = airflow_compat.fail_exception()  # a task refusing the run on purpose
    variables = variables if variables is not None else variable_values()
    jinja_env = dag.get_template_env()
    problems = []
    params = {task.task_id: dumped_params(task) for task in dag.tasks}
    for run in possible_runs(dag):
        for task in dag.tasks:
            context = template_context(dag, task, run, variables, params[task.task_id])
            try:
                copy.copy(task).render_template_fields(dict(context), jinja_env=jinja_env)
            except refusal:
                continue
            except Exception as error:
                field = _failing_field(copy.copy(task), context, jinja_env)
                where = f"task '{task.task_id}', field '{field}'"
                # A missing file or a Jinja typo is the template's own: the same in every run, said once.
                problems.append(
                    explain(error, jinja_env, where) or f"{where}, {run.describe()}: {_reason(error)}"
                )
        for callback in failure_callbacks(dag) if dag.tasks else []:
            context = callback_context(dag, run, variables)
            try:
                render_callback(callback, context)
            except Exception as error:
                field = _failing_field(copy.copy(callback), context, jinja_env)
                problems.append(
                    f"on_failure_callback {type(callback).__name__}, field '{field}', {run.describe()}: "
                    f"{_reason(error)}"
                )
    return list(dict.fromkeys(problems))

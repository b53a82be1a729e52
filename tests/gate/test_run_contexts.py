"""gate.run_contexts and the rule templates-render: the runs a schedule produces, the context their tasks
see (compared with Airflow's own task runner), and the rule's message on the corpus DAG that breaks it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from compat import airflow as airflow_compat
from gate.loader import load_once
from gate.rules import RULES_BY_NAME, check, shown_path
from gate.run_contexts import (
    ASSET_TRIGGERED,
    MANUAL,
    SCHEDULED,
    asset_triggered_run,
    manual_run,
    normal_run,
    possible_runs,
    render_problems,
    scheduled_run,
    template_context,
    variable_values,
)
from tests.gate.test_bad_dag_corpus import CORPUS

DAY = datetime(2024, 3, 1, tzinfo=timezone.utc)
BAD_DAG = "redshift__ds_in_asset_triggered_run"


def test_an_asset_scheduled_dag_runs_without_logical_date_or_interval(loaded):
    dag = loaded.dags["redshift__02_initial_load"]
    runs = possible_runs(dag, DAY)
    assert [(run.run_type, run.logical_date, run.data_interval) for run in runs] == [
        (ASSET_TRIGGERED, None, None),
        (MANUAL, DAY, (DAY, DAY)),  # an asset timetable infers the zero-length interval at the date
        (MANUAL, None, None),
    ]
    assert runs[0].describe() == "asset-triggered run: no logical date, no data interval"
    assert runs[0].run_id.startswith("asset_triggered__")


def test_a_daily_interval_dag_is_scheduled_on_its_interval_and_manual_runs_get_the_one_before(loaded):
    dag = loaded.dags["redshift__03_incremental_load"]
    day_after = DAY + timedelta(days=1)
    scheduled = normal_run(dag, DAY)
    assert (scheduled.run_type, scheduled.logical_date, scheduled.data_interval) == (
        SCHEDULED,
        DAY,
        (DAY, day_after),
    )
    assert scheduled.run_after == day_after  # it runs once the day is over
    assert scheduled.run_id == "scheduled__2024-03-01T00:00:00+00:00"
    assert scheduled_run(dag, DAY + timedelta(hours=1)).data_interval[0] == day_after  # one past: the next
    manual = manual_run(dag, day_after)
    assert (manual.run_type, manual.data_interval, manual.run_after) == (MANUAL, (DAY, day_after), day_after)
    assert manual.describe() == (
        "manual run with logical date 2024-03-02 00:00: data interval 2024-03-01 00:00 to 2024-03-02 00:00"
    )


def test_a_dag_without_schedule_runs_by_hand_without_a_logical_date(loaded):
    dag = loaded.dags["redshift__01_create_tables"]
    run = normal_run(dag, DAY)
    assert (run.run_type, run.logical_date, run.data_interval) == (MANUAL, None, None)
    assert [r.logical_date for r in possible_runs(dag, DAY)] == [None, DAY]  # the same run is listed once


def _airflow_context(dag, task, run):
    """What Airflow 3.0.6's task runner gives the task (RuntimeTaskInstance.get_template_context)."""
    from uuid import uuid4

    from airflow.api_fastapi.execution_api.datamodels.taskinstance import TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    start, end = run.data_interval or (None, None)
    dag_run = airflow_compat.execution_api_dag_run(
        dag_id=dag.dag_id,
        run_id=run.run_id,
        logical_date=run.logical_date,
        data_interval_start=start,
        data_interval_end=end,
        run_after=run.run_after,
        start_date=run.run_after,
        end_date=None,
        run_type=run.run_type,
        state="running",
        conf={},
        consumed_asset_events=[],
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid4(),
        task_id=task.task_id,
        dag_id=dag.dag_id,
        run_id=dag_run.run_id,
        try_number=1,
        map_index=-1,
        task=task,
        _ti_context_from_server=TIRunContext(
            dag_run=dag_run, max_tries=0, variables=[], connections=[], xcom_keys_to_clear=[]
        ),
        max_tries=0,
    )
    return ti.get_template_context()


@pytest.mark.parametrize("kind", ["asset-triggered", "manual without date", "manual with date"])
def test_the_context_has_the_names_airflow_gives_the_task(loaded, kind):
    dag = loaded.dags["redshift__02_initial_load"]
    task = dag.task_dict["sales.copy_to_staging"]
    run = {
        "asset-triggered": asset_triggered_run(DAY),
        "manual without date": manual_run(dag, None, DAY),
        "manual with date": manual_run(dag, DAY),
    }[kind]

    ours = template_context(dag, task, run, variable_values())
    airflows = _airflow_context(dag, task, run)

    assert set(ours) - {"var"} <= set(airflows), "names Airflow does not give the task"
    assert {"ds", "logical_date", "data_interval_start"} & set(airflows) == (
        {"ds", "logical_date", "data_interval_start"} if run.logical_date else set()
    )
    for name in ("ds", "ts", "ds_nodash", "data_interval_start", "data_interval_end", "run_id"):
        assert (name in ours) == (name in airflows), name
        if name in ours:
            assert str(ours[name]) == str(airflows[name]), name
    # A first try: no reschedule yet (a reschedule-mode sensor reads it to find when it first poked).
    assert ours["task_reschedule_count"] == airflows["task_reschedule_count"]


@pytest.fixture(scope="module")
def corpus():
    return load_once(CORPUS)


def test_the_rule_names_the_dag_task_field_run_and_fix(corpus, policy):
    dag = corpus.dags[BAD_DAG]

    message = check(dag, RULES_BY_NAME["templates-render"], corpus, policy)

    assert message.startswith(
        f"templates-render: DAG '{BAD_DAG}' ({shown_path(dag.fileloc)}): task 'report_day', "
    )
    assert shown_path(dag.fileloc) == f"tests/gate/bad_dags/{BAD_DAG}.py"
    assert "field 'bash_command', asset-triggered run: no logical date, no data interval: " in message
    assert "UndefinedError: 'ds' is undefined" in message
    assert message.rstrip(".").endswith("({{ require_data_interval() }} of lakehouse.defaults)")
    assert "Fix: render only what every run of the schedule has" in message


def test_the_rule_checks_each_run_of_the_schedule(corpus):
    """The same DAG: its manual run with a date renders, the other two do not."""
    problems = render_problems(corpus.dags[BAD_DAG])
    assert len(problems) == 2, problems
    assert "asset-triggered run" in problems[0] and "manual run without a logical date" in problems[1]


def test_a_dag_of_a_bag_is_rendered_once_however_often_its_verdict_is_asked(corpus, monkeypatch):
    """Rendering every run context is the slowest check: the rule and the tests share one rendering."""
    import copy

    import gate.run_contexts

    rendered, real = [], gate.run_contexts.render_problems
    monkeypatch.setattr(gate.run_contexts, "render_problems", lambda dag: rendered.append(dag) or real(dag))
    dag = copy.deepcopy(corpus.dags["redshift__no_doc_md"])  # a DAG object the bag has not rendered yet

    verdicts = [corpus.render_problems(dag) for _ in range(3)]

    assert rendered == [dag] and verdicts == [real(dag)] * 3


def test_the_bag_keeps_each_dags_verdict_for_the_rule(corpus, policy):
    """The rule, the render tests and the corpus check share one rendering per DAG of a bag; a caller
    changing the list it got changes nothing, and another DAG object gets its own verdict."""
    dag, clean = corpus.dags[BAD_DAG], corpus.dags["redshift__no_doc_md"]
    verdict = corpus.render_problems(dag)
    assert verdict == render_problems(dag) and len(verdict) == 2
    verdict.clear()
    assert corpus.render_problems(dag) == render_problems(dag)
    message = check(dag, RULES_BY_NAME["templates-render"], corpus, policy)
    assert (
        f"({shown_path(dag.fileloc)}): {render_problems(dag)[0]} (and 1 more: {render_problems(dag)[1]})"
        in message
    )
    assert (
        corpus.render_problems(clean) == []
        and check(clean, RULES_BY_NAME["templates-render"], corpus, policy) is None
    )


def test_a_task_that_refuses_a_run_on_purpose_passes(loaded):
    """The incremental load's copy tasks refuse a run without an interval (AirflowFailException)."""
    assert render_problems(loaded.dags["redshift__03_incremental_load"]) == []


def test_the_failure_callback_is_rendered_too(corpus):
    dag = corpus.dags["redshift__no_doc_md"]
    alert = dag.on_failure_callback
    alert.message = "failed on {{ ds }}"
    try:
        problems = render_problems(dag)
    finally:
        from lakehouse.defaults import failure_alert

        alert.message = failure_alert().message
    assert problems == [
        "on_failure_callback SnsNotifier, field 'message', manual run without a logical date: no logical "
        "date, no data interval: UndefinedError: 'ds' is undefined"
    ]


def test_an_xcom_before_any_task_ran_renders_as_the_task_and_key_it_names(loaded):
    """The EMR step sensor reads the step id its add_step task returned: before any run it renders as that
    task's XCom; another key of the same task renders as a different value."""
    from gate.run_contexts import render_task

    dag = loaded.dags["hudi__02_incremental_upsert"]
    sensor = next(task for task in dag.tasks if task.task_id.endswith(".wait_for_step"))
    add_step = sensor.task_id.replace(".wait_for_step", ".add_step")
    run = normal_run(dag, DAY)
    assert render_task(sensor, run).step_id == f"xcom:{add_step}[0]"
    ti = template_context(dag, sensor, run, variable_values())["ti"]
    assert str(ti.xcom_pull(task_ids=add_step, key="return_value")) == f"xcom:{add_step}"
    assert str(ti.xcom_pull(task_ids=add_step, key="step_ids")) == f"xcom:{add_step}:step_ids"


def test_a_task_refusing_a_run_leaves_the_next_task_of_that_run_checked(tmp_path):
    """A load that refuses a run without an interval on purpose is no reason to skip the task after it."""
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    from lakehouse.defaults import dag_settings

    with DAG(dag_id="redshift__refusing_then_broken", schedule=None, **dag_settings()) as dag:
        BashOperator(
            task_id="load_day", bash_command="{{ require_data_interval() }}load {{ data_interval_start }}"
        )
        BashOperator(task_id="report_day", bash_command="report {{ ds }}")

    problems = render_problems(dag)

    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "task 'report_day', field 'bash_command', manual run without a logical date"
    )


def test_a_logical_date_in_another_time_zone_is_the_moment_the_rest_api_triggers(loaded):
    """The REST API keeps an aware logical date's own offset (timezone.coerce_datetime): 01:00 at +01:00
    is midnight UTC, the end of the day of March 1 for a daily DAG, not 01:00 UTC."""
    from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody

    dag = loaded.dags["redshift__03_incremental_load"]
    one_am_at_plus_one = datetime(2024, 3, 2, 1, tzinfo=timezone(timedelta(hours=1)))

    run = manual_run(dag, one_am_at_plus_one)
    airflows = TriggerDAGRunPostBody(logical_date=one_am_at_plus_one).validate_context(dag)

    assert run.logical_date == DAY + timedelta(days=1) == airflows["logical_date"]
    assert run.logical_date.utcoffset() == timedelta(hours=1)
    assert run.data_interval == (DAY, DAY + timedelta(days=1)) == tuple(airflows["data_interval"])
    assert run.run_after == airflows["run_after"]
    naive = manual_run(dag, datetime(2024, 3, 2))  # a naive date is UTC, as Airflow's default time zone
    assert (naive.logical_date, naive.logical_date.utcoffset()) == (DAY + timedelta(days=1), timedelta(0))


def test_without_a_day_the_schedule_starts_at_the_start_date_or_the_reference_time(loaded):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from lakehouse.defaults import START_DATE

    dag = loaded.dags["redshift__03_incremental_load"]
    assert START_DATE != DAY
    assert normal_run(dag).data_interval == (START_DATE, START_DATE + timedelta(days=1))
    with DAG(dag_id="redshift__no_start_date", schedule="@daily", catchup=False) as undated:
        EmptyOperator(task_id="noop")
    assert undated.start_date is None
    assert normal_run(undated).data_interval == (
        DAY,
        DAY,
    )  # a cron string: MWAA's CronTriggerTimetable, no interval


def test_a_run_is_a_value_no_task_can_change_for_the_next(loaded):
    """Every task of a run, and the failure callback, get the same RunContext: it cannot be changed, and
    equal runs are equal keys."""
    import dataclasses

    dag = loaded.dags["redshift__03_incremental_load"]
    run = normal_run(dag, DAY)

    with pytest.raises(dataclasses.FrozenInstanceError):
        run.logical_date = None
    assert run.logical_date == DAY
    assert {run: "seen"}[normal_run(dag, DAY)] == "seen"


def test_xcom_pull_without_task_ids_reads_the_task_itself_and_a_list_reads_each(loaded):
    """As RuntimeTaskInstance.xcom_pull: task_ids=None is the calling task, a list names each task."""
    dag = loaded.dags["hudi__02_incremental_upsert"]
    sensor = next(task for task in dag.tasks if task.task_id.endswith(".wait_for_step"))
    add_step = sensor.task_id.replace(".wait_for_step", ".add_step")
    ti = template_context(dag, sensor, normal_run(dag, DAY), variable_values())["ti"]

    assert str(ti.xcom_pull()) == f"xcom:{sensor.task_id}"
    assert str(ti.xcom_pull(task_ids=[add_step, sensor.task_id])) == f"xcom:{add_step},{sensor.task_id}"
    with pytest.raises(KeyError, match=r"unknown task\(s\) \['no_such_task'\]"):
        ti.xcom_pull(task_ids=[add_step, "no_such_task"])


def test_the_failure_callback_sees_the_last_tasks_context_and_the_reason(loaded):
    """DagRun.handle_dag_callback builds the callback's context from get_last_ti: the run's last task."""
    from gate.run_contexts import callback_context

    dag = loaded.dags["redshift__02_initial_load"]
    assert len(dag.tasks) > 2
    first, last = dag.tasks[0], dag.tasks[-1]

    context = callback_context(dag, manual_run(dag, None, DAY), variable_values())

    assert (context["task"], context["ti"].task_id, context["reason"]) == (last, last.task_id, "task_failure")
    assert context["task"] is not first


def test_a_python_function_as_failure_callback_is_not_rendered():
    """A plain function has no templated fields; the notifier beside it is still rendered."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from lakehouse.defaults import dag_settings, failure_alert

    def log_failure(context):
        print(context["dag"].dag_id)

    alert = failure_alert()
    alert.message = "failed on {{ ds }}"
    settings = {**dag_settings(), "on_failure_callback": [log_failure, alert]}
    with DAG(dag_id="redshift__function_callback", schedule=None, **settings) as dag:
        EmptyOperator(task_id="noop")

    assert render_problems(dag) == [
        "on_failure_callback SnsNotifier, field 'message', manual run without a logical date: no logical "
        "date, no data interval: UndefinedError: 'ds' is undefined"
    ]


def test_a_template_error_of_several_lines_is_reported_by_its_first():
    """A macro's error with a hint on its second line: the problem line carries the first line."""
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    from lakehouse.defaults import dag_settings

    def table(name):
        raise ValueError(f"table '{name}' is not in tables.yaml\nknown tables: users, venues")

    settings = dag_settings()
    settings["user_defined_macros"] = {**settings["user_defined_macros"], "table": table}
    with DAG(dag_id="redshift__macro_error", schedule=None, **settings) as dag:
        BashOperator(task_id="report", bash_command="report {{ table('sales') }}")

    problems = render_problems(dag)

    assert problems[0] == (
        "task 'report', field 'bash_command', manual run without a logical date: no logical date, no data "
        "interval: ValueError: table 'sales' is not in tables.yaml"
    )
    assert len(problems) == 2 and problems[1].endswith(": ValueError: table 'sales' is not in tables.yaml")


def test_a_param_without_a_default_renders_as_none_instead_of_stopping_the_gate():
    """A DAG run by hand only may require a param at trigger time (no default): the gate renders it as
    None (ParamsDict.dump), where reading it as a mapping would raise ParamValidationError."""
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, Param

    from lakehouse.defaults import dag_settings

    params = {"table": Param(type="string", description="the table to reload")}
    with DAG(dag_id="redshift__reload_one", schedule=None, params=params, **dag_settings()) as dag:
        reload = BashOperator(task_id="reload", bash_command="reload {{ params.table }}")

    assert render_problems(dag) == []
    assert template_context(dag, reload, manual_run(dag, None, DAY), {})["params"] == {"table": None}

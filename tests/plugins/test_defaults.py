"""lakehouse.defaults: the SNS failure alert renders in every run Airflow creates, as its callback does."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from gate.run_contexts import (
    asset_triggered_run,
    callback_context,
    failure_callbacks,
    manual_run,
    render_callback,
    variable_values,
)

RUN_AFTER = datetime(2024, 3, 1, 6, 30, tzinfo=timezone.utc)


def _rendered_alert(dag, run):
    """The notifier as its __call__ renders it in the failure callback (a copy: rendering mutates it)."""
    import copy

    (alert,) = failure_callbacks(dag)
    context = callback_context(dag, run, variable_values())
    rendered = copy.copy(alert)
    rendered._update_context(context)
    rendered.render_template_fields(context)
    return rendered, context


@pytest.mark.parametrize(
    "dag_id",
    ["redshift__04_unload_sales_by_category", "datalake__02_tickit_gold", "redshift__02_initial_load"],
)
def test_the_alert_of_an_asset_triggered_run_says_it_has_no_logical_date(loaded, dag_id):
    dag = loaded.dags[dag_id]
    run = asset_triggered_run(RUN_AFTER)

    rendered, context = _rendered_alert(dag, run)

    assert rendered.subject == f"MWAA: {dag_id} failed"
    assert rendered.message.startswith(f"DAG {dag_id} run {context['run_id']} failed. Logical date: none.")
    assert f"Run after: {RUN_AFTER}" in rendered.message
    assert rendered.target_arn == variable_values()["sns_alert_topic_arn"]


def test_the_runs_of_one_dag_never_overlap(loaded):
    """A run drops and recreates its DAG's staging tables (lakehouse.redshift.staging_table): a second run of
    the same DAG at once would drop the rows the first one staged."""
    assert loaded.dags and {dag.max_active_runs for dag in loaded.dags.values()} == {1}


def test_the_alert_of_a_manual_run_without_logical_date_renders(loaded):
    dag = loaded.dags["redshift__01_create_tables"]
    rendered, context = _rendered_alert(dag, manual_run(dag, None, RUN_AFTER))
    assert context["run_id"].startswith("manual__2024-03-01T06:30:00+00:00_")
    assert "Logical date: none." in rendered.message


def test_the_alert_of_a_run_with_a_logical_date_names_it(loaded):
    dag = loaded.dags["redshift__01_create_tables"]
    rendered, _ = _rendered_alert(dag, manual_run(dag, datetime(2024, 5, 1, tzinfo=timezone.utc)))
    assert "Logical date: 2024-05-01." in rendered.message


def test_render_callback_leaves_the_dags_notifier_unrendered(loaded):
    """The DAG processor keeps one notifier per DAG: a render for one run must not fix it for the next."""
    dag = loaded.dags["redshift__01_create_tables"]
    (alert,) = failure_callbacks(dag)
    render_callback(alert, callback_context(dag, manual_run(dag), variable_values()))
    assert "{{" in alert.message


# Per-DAG overrides of the defaults: dag_settings(retries=3, ...); the policy still applies.

OVERRIDE_DAG = '''"""A DAG that overrides a default: {override}."""
from datetime import timedelta

from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__90_override",
    description="A DAG that overrides one of the lakehouse defaults.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    {dag_kwargs}
):
    EmptyOperator(task_id="step")
'''


def _gate(tmp_path, policy, dag_kwargs: str):
    from gate.loader import load
    from gate.rules import violations

    (tmp_path / "dags").mkdir()
    dag_file = tmp_path / "dags" / "redshift__90_override.py"
    dag_file.write_text(OVERRIDE_DAG.format(override=dag_kwargs, dag_kwargs=dag_kwargs))
    loaded = load(tmp_path / "dags")
    return loaded, [(rule, message) for rule, _, message in violations(loaded, policy)]


def test_a_dag_overrides_retries_through_dag_settings_and_keeps_the_other_defaults(tmp_path, policy):
    from lakehouse.defaults import DEFAULT_ARGS

    before = dict(DEFAULT_ARGS)
    loaded, found = _gate(tmp_path, policy, "**dag_settings(retries=3),")
    assert found == []
    task = loaded.dags["redshift__90_override"].task_dict["step"]
    assert task.retries == 3
    assert (task.owner, task.retry_delay, task.execution_timeout) == (
        DEFAULT_ARGS["owner"],
        DEFAULT_ARGS["retry_delay"],
        DEFAULT_ARGS["execution_timeout"],
    )
    assert DEFAULT_ARGS == before, "an override must not change the defaults of every other DAG"


def test_overrides_of_dag_and_task_settings_together(tmp_path, policy):
    loaded, found = _gate(
        tmp_path,
        policy,
        "**dag_settings(dagrun_timeout=timedelta(hours=8), execution_timeout=timedelta(hours=6)),",
    )
    assert found == []
    dag = loaded.dags["redshift__90_override"]
    assert dag.dagrun_timeout == timedelta(hours=8)
    assert dag.task_dict["step"].execution_timeout == timedelta(hours=6)


@pytest.mark.parametrize("retries, rule", [(2, None), (3, None), (4, "retries"), (1, "retries")])
def test_the_policy_still_applies_to_an_override(tmp_path, policy, retries, rule):
    """tools/gate/policy.toml allows 2 to 3 retries: at each limit it passes, one past it the gate fails."""
    _, found = _gate(tmp_path, policy, f"**dag_settings(retries={retries}),")
    assert [found_rule for found_rule, _ in found] == ([rule] if rule else [])


def test_default_args_beside_dag_settings_is_refused_naming_the_supported_way():
    from lakehouse.defaults import dag_settings

    with pytest.raises(TypeError, match=r"default_args.*Fix: \*\*dag_settings\(retries=3\)"):
        dag_settings(default_args={"retries": 3})


@pytest.mark.parametrize("given", [None, {}])
def test_an_empty_default_args_is_refused_with_a_fix_the_policy_accepts(given):
    """The fix is printed to be pasted: its example value must pass the gate's retries rule, and override
    something (the default's value would show an override that changes nothing)."""
    from gate.policy import load_policy
    from lakehouse.defaults import DEFAULT_ARGS, dag_settings

    with pytest.raises(TypeError) as refused:
        dag_settings(default_args=given)

    (retries,) = re.findall(r"Fix: \*\*dag_settings\(retries=(\d+)\)", str(refused.value))
    policy = load_policy()
    assert (
        policy.min_retries <= int(retries) <= policy.max_retries and int(retries) != DEFAULT_ARGS["retries"]
    )


@pytest.mark.parametrize(
    "override, named",
    [({"retrys": 3}, "'retrys'. Did you mean 'retries'?"), ({"catchup": True}, "'catchup'")],
)
def test_an_unknown_override_is_refused_naming_the_known_ones(override, named):
    from lakehouse.defaults import dag_settings

    with pytest.raises(TypeError) as error:
        dag_settings(**override)
    message = str(error.value)
    assert message.startswith("dag_settings(") and named in message
    assert "Fix: use one of" in message and "'retries'" in message and "'dagrun_timeout'" in message


# Retries and timeouts as Airflow computes them from the defaults: the scheduler works on the serialized DAG,
# so the task is the deserialized one, and the dates are those of its TaskInstance.


def _scheduled_task(**overrides):
    import uuid

    from airflow.models.taskinstance import TaskInstance
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import SerializedDAG

    from lakehouse.defaults import dag_settings

    with DAG(dag_id="redshift__99_retry_probe", schedule="@daily", **dag_settings(**overrides)) as dag:
        EmptyOperator(task_id="step")
    scheduled = SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
    task = scheduled.task_dict["step"]
    ti = TaskInstance(task, run_id="scheduled__2024-03-01T00:00:00+00:00", dag_version_id=uuid.uuid4())
    return scheduled, task, ti


def _retry_delays(ti, ended: datetime) -> list[timedelta]:
    """The wait before each retry, as NotInRetryPeriodDep computes it (next_retry_datetime)."""
    delays = []
    for try_number in range(1, ti.task.retries + 1):
        ti.try_number, ti.end_date = try_number, ended
        delays.append(ti.next_retry_datetime() - ended)
    return delays


def test_each_retry_waits_longer_than_the_one_before():
    """A throttled or resuming service gets more time at every try, rather than the same short wait."""
    _, task, ti = _scheduled_task()
    delays = _retry_delays(ti, RUN_AFTER)
    assert len(delays) >= 2, "no second retry to compare"
    assert delays[0] >= task.retry_delay
    assert all(later > earlier for earlier, later in zip(delays, delays[1:])), delays


def test_a_try_that_hangs_is_stopped_and_retried_before_the_run_times_out():
    """The task runner stops a try only when execution_timeout is truthy (task_runner: `if
    task.execution_timeout:`); the scheduler fails a run once `start_date < now - dagrun_timeout`. A try that
    hangs from the run's start must end and its first retry start inside the run, or the retries of a hung
    call never happen."""
    dag, task, ti = _scheduled_task()
    assert task.execution_timeout, "no timeout: the task runner lets a hung try run until the run times out"
    run_start = RUN_AFTER
    ti.try_number, ti.end_date = 1, run_start + task.execution_timeout
    retry_at = ti.next_retry_datetime()
    assert retry_at < run_start + dag.dagrun_timeout, (retry_at - run_start, dag.dagrun_timeout)


def test_every_retry_of_a_task_that_fails_at_once_starts_before_its_run_times_out(loaded):
    """A run that times out skips its unfinished tasks, those waiting to retry too (the scheduler's
    dagrun_timeout check): a retry that cannot start inside the run is a retry the DAG never gets. The wait
    before a retry depends on the run (Airflow hashes the logical date into it): the longest of many runs."""
    import uuid
    from datetime import datetime as naive_datetime

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.serialization.serialized_objects import SerializedDAG

    runs = [naive_datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=day) for day in range(60)]
    too_late = []
    for dag_id, dag in sorted(loaded.dags.items()):
        scheduled = SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
        for task in scheduled.tasks:
            ti = TaskInstance(task, run_id="probe", dag_version_id=uuid.uuid4())
            longest = timedelta(0)
            for logical_date in runs:
                ti.dag_run = DagRun(
                    dag_id=dag_id, run_id="probe", logical_date=logical_date, run_type="scheduled"
                )
                waited = _retry_delays(ti, RUN_AFTER)
                longest = max(longest, sum(waited, timedelta(0)))
            if task.retries and longest >= scheduled.dagrun_timeout:
                too_late.append(f"{dag_id}.{task.task_id}: {task.retries} retries wait up to {longest}")
    assert not too_late, too_late

"""The policy every lakehouse DAG follows, in one place: owner, retries, alerts, timeouts, start date."""

from __future__ import annotations

from datetime import timedelta

import jinja2
import pendulum
from airflow.exceptions import AirflowFailException
from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

from lakehouse.paths import sql_folder

OWNER = "data-platform"
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
AWS_CONN_ID = "aws_default"

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "email_on_failure": False,
    "email_on_retry": False,
    "execution_timeout": timedelta(hours=1),
}


def failure_alert() -> SnsNotifier:
    """Publishes a failed DAG run to the alert topic (the topic ARN is read at run time).

    The message renders in every run: asset-triggered runs and manual runs without a logical date have
    no `ds` (Airflow 3), so it says "none" there; run_id and run_after exist in every run.
    """
    return SnsNotifier(
        aws_conn_id=AWS_CONN_ID,
        target_arn="{{ var.value.sns_alert_topic_arn }}",
        subject="MWAA: {{ dag.dag_id }} failed",
        message=(
            "DAG {{ dag.dag_id }} run {{ run_id }} failed. Logical date: {{ ds | default('none') }}. "
            "Run after: {{ dag_run.run_after }}."
        ),
    )


class NoDataIntervalError(AirflowFailException):
    """The run has no data interval, and the task reads it: fail at once, without retries."""


@jinja2.pass_context
def require_data_interval(context) -> str:
    """`{{ require_data_interval() }}` in a template that reads the run's data interval: a run without one
    (asset-triggered, or triggered without a logical date) fails at once, saying how to trigger it.

    Airflow 3 gives such runs no `ds`, `logical_date` or `data_interval_*`: the template would otherwise
    fail with a Jinja error on every retry. Renders as nothing when the interval is there.
    """
    if context.get("data_interval_start") is not None and context.get("data_interval_end") is not None:
        return ""
    dag_id, task = context["dag"].dag_id, context.get("task")
    raise NoDataIntervalError(
        f"{dag_id}.{getattr(task, 'task_id', '?')}: run {context.get('run_id')} has no data interval (it was "
        "triggered without a logical date), and this task reads it. Nothing was sent. Fix: trigger it with a "
        f"logical date, e.g. airflow dags trigger {dag_id} --logical-date 2024-03-02T00:00:00+00:00: a daily "
        "interval DAG then gets the interval that ends then, [2024-03-01, 2024-03-02), as the scheduled run "
        "of that interval; or give data_interval_start and data_interval_end to the REST API's trigger."
    )


def dag_settings(dagrun_timeout: timedelta = timedelta(hours=2)) -> dict:
    """The DAG keyword arguments every lakehouse DAG shares; add dag_id, schedule, tags and docs.

    Templates name SQL files relative to sql/ (lakehouse.paths.sql_folder), the search path of every DAG.
    """
    return {
        "default_args": DEFAULT_ARGS,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "dagrun_timeout": dagrun_timeout,
        "on_failure_callback": failure_alert(),
        "user_defined_macros": {"require_data_interval": require_data_interval},
        "template_searchpath": [str(sql_folder())],
    }

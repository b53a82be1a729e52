"""The policy every lakehouse DAG follows, in one place: owner, retries, alerts, timeouts, start date."""

from __future__ import annotations

from datetime import timedelta

import pendulum
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


def dag_settings(dag_file: str | None = None, dagrun_timeout: timedelta = timedelta(hours=2)) -> dict:
    """The DAG keyword arguments every lakehouse DAG shares; add dag_id, schedule, tags and docs.

    Pass `__file__` when the DAG runs SQL files: it becomes the template search path (sql/).
    """
    settings = {
        "default_args": DEFAULT_ARGS,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "dagrun_timeout": dagrun_timeout,
        "on_failure_callback": failure_alert(),
    }
    if dag_file:
        settings["template_searchpath"] = [str(sql_folder(dag_file))]
    return settings

"""The policy every lakehouse DAG follows, in one place: owner, retries, alerts, timeouts, start date."""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

import jinja2
import pendulum
from airflow.exceptions import AirflowFailException
from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

from lakehouse.paths import sql_folder

OWNER = "data-platform"
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
AWS_CONN_ID = "aws_default"

# Retries wait longer each time (exponential backoff from retry_delay). A try that hangs is stopped after
# execution_timeout, and its first retry starts inside the run (DAGRUN_TIMEOUT, twice as long).
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


# What one DAG may set differently: its run timeout, and the task defaults (DEFAULT_ARGS) for all its tasks.
DAG_OVERRIDES = ("dagrun_timeout",)
DAGRUN_TIMEOUT = timedelta(hours=2)


def dag_settings(**overrides: Any) -> dict:
    """The DAG keyword arguments every lakehouse DAG shares; add dag_id, schedule, tags and docs.

        DAG(dag_id=..., **dag_settings())                                    # the defaults
        DAG(dag_id=..., **dag_settings(retries=3, dagrun_timeout=timedelta(hours=8)))  # overridden

    An override replaces a default for this DAG only: `dagrun_timeout` (DAGRUN_TIMEOUT) or a task default
    of DEFAULT_ARGS. The gate's policy (tools/gate/policy.toml) applies to the result as to any DAG.
    Templates name SQL files relative to sql/ (lakehouse.paths.sql_folder), the search path of every DAG.
    """
    _refuse_unknown(overrides)
    return {
        "default_args": {**DEFAULT_ARGS, **{k: v for k, v in overrides.items() if k in DEFAULT_ARGS}},
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "dagrun_timeout": overrides.get("dagrun_timeout", DAGRUN_TIMEOUT),
        "on_failure_callback": failure_alert(),
        "user_defined_macros": {"require_data_interval": require_data_interval},
        "template_searchpath": [str(sql_folder())],
    }


def _refuse_unknown(overrides: dict) -> None:
    known = (*DAG_OVERRIDES, *DEFAULT_ARGS)
    if "default_args" in overrides:
        example = ", ".join(
            f"{k}={v!r}" for k, v in dict(overrides["default_args"] or {"retries": 3}).items()
        )
        raise TypeError(
            f"dag_settings(default_args=...): the defaults are overridden one by one, so every other default "
            f"stays. Fix: **dag_settings({example}) (known: {list(known)})."
        )
    for name in overrides:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"dag_settings({name}=...): unknown setting {name!r}.{hint} Fix: use one of {list(known)}; "
                "the other DAG settings (start_date, catchup, max_active_runs, callbacks) are the same for "
                "every DAG."
            )

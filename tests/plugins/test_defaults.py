"""lakehouse.defaults: the SNS failure alert renders in every run Airflow creates, as its callback does."""

from __future__ import annotations

from datetime import datetime, timezone

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

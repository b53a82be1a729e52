"""Every templated field of every task of every DAG renders in every run its schedule can produce, with
config/variables.json; and the incremental load reads the day of its data interval in every one of them.

Rendering uses each DAG's own Jinja environment (StrictUndefined, template_searchpath = sql/), so a missing
template file, an undefined name or a Variable missing from the variables file fails here, not on MWAA.
(The gate rule templates-render checks the same for the callbacks too; this adds what the values are.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jinja2
import pytest
from airflow.exceptions import AirflowFailException

from tests.dags.rendering import (
    MissingVariable,
    manual_run,
    normal_run,
    possible_runs,
    render_task,
    scheduled_run,
    variable_values,
)
from gate import inventory

DAY = datetime(2008, 3, 1, tzinfo=timezone.utc)
INVENTORY = sorted(inventory.read())
INCREMENTAL = "redshift__03_incremental_load"


def leftover_templates(value) -> list[str]:
    if isinstance(value, str):
        return [value] if "{{" in value or "{%" in value else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in leftover_templates(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in leftover_templates(v)]
    return []


@pytest.mark.parametrize("dag_id", INVENTORY)
def test_every_templated_field_renders_in_every_run_of_the_schedule(loaded, dag_id):
    assert dag_id in loaded.dags, f"{dag_id} (tools/gate/inventory.json) did not load"
    dag = loaded.dags[dag_id]
    assert dag.tasks, f"{dag_id} has no tasks"
    rendered_fields = 0
    for run in possible_runs(dag, DAY):
        for task in dag.tasks:
            try:
                rendered = render_task(task, run)
            except AirflowFailException:
                continue  # the task refuses this run on purpose (tested below for the incremental load)
            for field in task.template_fields:
                value = getattr(rendered, field, None)
                assert not leftover_templates(value), f"{dag_id}.{task.task_id}.{field} ({run.describe()})"
                rendered_fields += value is not None
    assert rendered_fields > 0


@pytest.mark.parametrize("dag_id", INVENTORY)
def test_templates_fail_on_undefined_names(loaded, dag_id):
    assert loaded.dags[dag_id].get_template_env().undefined is jinja2.StrictUndefined


def test_a_variable_missing_from_the_file_fails_naming_it(loaded):
    dag = loaded.dags["redshift__02_initial_load"]
    task = dag.task_dict["sales.copy_to_staging"]
    variables = {k: v for k, v in variable_values().items() if k != "redshift_iam_role_arn"}
    with pytest.raises(MissingVariable, match="redshift_iam_role_arn.*variables.json"):
        render_task(task, normal_run(dag), variables)


def _copy_prefix(task, run) -> str:
    return render_task(task, run).sql[-1].split("FROM 's3://", 1)[1].split("'", 1)[0]


def test_the_initial_load_needs_no_logical_date(loaded):
    """Asset-triggered (its schedule), or by hand with or without a date: the same full extract."""
    dag = loaded.dags["redshift__02_initial_load"]
    task = dag.task_dict["sales.copy_to_staging"]
    prefixes = {_copy_prefix(task, run) for run in possible_runs(dag, DAY)}
    assert prefixes == {f"{variable_values()['lakehouse_bucket']}/raw/tickit/sales/"}


@pytest.mark.parametrize("day", [DAY, datetime(2024, 7, 15, tzinfo=timezone.utc)])
def test_the_scheduled_incremental_run_loads_the_day_its_interval_starts(loaded, day):
    dag = loaded.dags[INCREMENTAL]
    run = scheduled_run(dag, day)
    assert run.data_interval == (day, day + timedelta(days=1))
    assert _copy_prefix(dag.task_dict["sales.copy_to_staging"], run).endswith(
        f"/raw/tickit_incremental/sales/ds={day:%Y-%m-%d}/"
    )
    check = render_task(dag.task_dict["sales.check"], run).sql
    assert f"CAST('{day + timedelta(days=1):%Y-%m-%d} 00:00:00' AS TIMESTAMP)" in check


def test_a_manual_incremental_run_with_a_logical_date_loads_what_the_scheduled_run_of_its_interval_does(
    loaded,
):
    """Triggered with logical date L, the run's interval is [L - 1 day, L) (infer_manual_data_interval):
    it loads the day L - 1 and checks against L, as the scheduled run of that interval."""
    dag = loaded.dags[INCREMENTAL]
    manual = manual_run(dag, DAY + timedelta(days=1))
    scheduled = scheduled_run(dag, DAY)
    assert manual.data_interval == scheduled.data_interval
    for task_id in ("sales.copy_to_staging", "sales.check", "listing.copy_to_staging", "listing.check"):
        task = dag.task_dict[task_id]
        assert render_task(task, manual).sql == render_task(task, scheduled).sql, task_id


@pytest.mark.parametrize("task_id", ["sales.copy_to_staging", "listing.copy_to_staging", "sales.check"])
def test_an_incremental_run_without_a_data_interval_fails_at_once_saying_how_to_trigger_it(loaded, task_id):
    dag = loaded.dags[INCREMENTAL]
    with pytest.raises(AirflowFailException) as refused:
        render_task(dag.task_dict[task_id], manual_run(dag, None))
    message = str(refused.value)
    assert message.startswith(f"{INCREMENTAL}.{task_id}: run manual__")
    assert "has no data interval" in message
    assert (
        f"Fix: trigger it with a logical date, e.g. airflow dags trigger {INCREMENTAL} --logical-date"
        in message
    )


def test_merge_and_drop_need_no_data_interval(loaded):
    """Only the tasks that read the interval refuse: the teardown still drops the staging table."""
    dag = loaded.dags[INCREMENTAL]
    run = manual_run(dag, None)
    for task_id in ("sales.merge", "sales.drop_staging", "check_references"):
        render_task(dag.task_dict[task_id], run)

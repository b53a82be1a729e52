"""Every templated field of every task of every DAG renders for a fixed run, with config/variables.json.

Rendering uses each DAG's own Jinja environment (StrictUndefined, template_searchpath = sql/), so a missing
template file, an undefined name or a Variable missing from the variables file fails here, not on MWAA.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import pytest

from tests.dags.rendering import MissingVariable, render_task, variable_values

LOGICAL_DATE = datetime(2008, 3, 1, tzinfo=timezone.utc)
INVENTORY = sorted(json.loads((Path(__file__).resolve().parents[2] / "gate" / "inventory.json").read_text()))


def leftover_templates(value) -> list[str]:
    if isinstance(value, str):
        return [value] if "{{" in value or "{%" in value else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in leftover_templates(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in leftover_templates(v)]
    return []


@pytest.mark.parametrize("dag_id", INVENTORY)
def test_every_templated_field_renders(loaded, dag_id):
    assert dag_id in loaded.dags, f"{dag_id} (gate/inventory.json) did not load"
    dag = loaded.dags[dag_id]
    assert dag.tasks, f"{dag_id} has no tasks"
    rendered_fields = 0
    for task in dag.tasks:
        rendered = render_task(task, LOGICAL_DATE)
        for field in task.template_fields:
            value = getattr(rendered, field, None)
            assert not leftover_templates(value), f"{dag_id}.{task.task_id}.{field} still holds a template"
            rendered_fields += value is not None
    assert rendered_fields > 0


@pytest.mark.parametrize("dag_id", INVENTORY)
def test_templates_fail_on_undefined_names(loaded, dag_id):
    assert loaded.dags[dag_id].get_template_env().undefined is jinja2.StrictUndefined


def test_a_variable_missing_from_the_file_fails_naming_it(loaded):
    task = loaded.dags["redshift__02_initial_load"].task_dict["sales.copy_to_staging"]
    variables = {k: v for k, v in variable_values().items() if k != "redshift_iam_role_arn"}
    with pytest.raises(MissingVariable, match="redshift_iam_role_arn.*variables.json"):
        render_task(task, LOGICAL_DATE, variables)


def test_the_incremental_load_reads_the_run_day(loaded):
    """The day comes from the run's data interval: two runs, two prefixes, no fixed date."""
    task = loaded.dags["redshift__03_incremental_load"].task_dict["sales.copy_to_staging"]
    for day in (LOGICAL_DATE, datetime(2024, 7, 15, tzinfo=timezone.utc)):
        copy = render_task(task, day).sql[-1]
        assert f"/raw/tickit_incremental/sales/ds={day:%Y-%m-%d}/'" in copy

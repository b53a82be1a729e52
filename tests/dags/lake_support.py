"""Rendering a task's templated fields as a run would, with the Variables of config/variables.json."""

from __future__ import annotations

import json
import repository

VARIABLES_FILE = repository.CONFIG / "variables.json"
VARIABLES = {name: entry["value"] for name, entry in json.loads(VARIABLES_FILE.read_text()).items()}
LOGICAL_DATE = "2024-05-01"


class UpstreamResults:
    """The `ti` of the context: xcom_pull answers from the given {task_id: return value}."""

    def __init__(self, results: dict[str, object]) -> None:
        self.results = results

    def xcom_pull(self, task_ids: str, key: str = "return_value"):
        return self.results[task_ids]


def render(task, field: str, upstream: dict[str, object] | None = None):
    """The value of `task.<field>` after Jinja, as at run time (StrictUndefined: unknown names raise)."""
    dag = task.dag
    context = {
        "var": {"value": VARIABLES},
        "params": dict(task.params),
        "ds": LOGICAL_DATE,
        "ds_nodash": LOGICAL_DATE.replace("-", ""),
        "dag": dag,
        "task": task,
        "run_id": f"scheduled__{LOGICAL_DATE}T00:00:00+00:00",
        "ti": UpstreamResults(upstream or {}),
    }
    return task.render_template(getattr(task, field), context, dag.get_template_env())

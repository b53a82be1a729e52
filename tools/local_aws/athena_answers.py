"""What the local Athena answers to the DAGs' check queries, computed from the TICKIT sample in the bucket.

moto runs no SQL, and the non-empty checks (lakehouse.catalog.AthenaNonEmptyCheckOperator) fail on an
empty answer. For each check query of the repository, this is the count Athena would return over tables
built from the sample: e.g. the gold table sales_by_category has one row per category with sales.
A check query not listed here gets moto's empty answer, so its task fails and says which query it was.
"""

from __future__ import annotations

from pathlib import Path

from local_aws import expected
from local_aws.moto_gaps import output_columns


def categories_with_sales(sample) -> int:
    catid_of_event = {event[0]: event[2] for event in sample.initial["event"]}
    names = {category[0]: (category[1], category[2]) for category in sample.initial["category"]}
    return len({names[catid_of_event[sale[4]]] for sale in sample.initial["sales"]})


def days_with_sales(sample) -> int:
    return len({sale[5] for sale in sample.initial["sales"]})


# (query file under sql/, the task's params.table or None) -> the count over the sample
COUNTS = {
    ("athena/sales_by_category_check.sql", None): categories_with_sales,
    ("athena/checks/row_count.sql", "sales_by_category"): categories_with_sales,
    ("athena/checks/row_count.sql", "sales_by_date"): days_with_sales,
}


def answers(dag, run, variables: dict[str, str], sample) -> dict[str, list[list[str]]]:
    """{rendered query: rows (column names first)} for every check query of `dag` that COUNTS knows."""
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    found = {}
    for task in dag.tasks:
        if not isinstance(task, AthenaOperator):
            continue
        table = task.params.dump().get("table")
        # The DagBag has already replaced a .sql path by the file's text (template_ext).
        count = next(
            (
                count
                for (path, for_table), count in COUNTS.items()
                if for_table == table and task.query in (path, _text(dag, path))
            ),
            None,
        )
        if count is None:
            continue
        query = expected.render(dag, task, task.query, run, variables)
        columns = output_columns(query, dialect="trino") or ["count"]
        found[query] = [columns[:1], [str(count(sample))]]
    return found


def _text(dag, path: str) -> str | None:
    for folder in dag.template_searchpath or []:
        candidate = Path(folder) / path
        if candidate.is_file():
            return candidate.read_text()
    return None
